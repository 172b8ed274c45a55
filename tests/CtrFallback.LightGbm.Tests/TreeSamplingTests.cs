using System.Globalization;
using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.LightGbm.Tests;

/// <summary>A raw-field trainer reads its table by row number: negative downsampling at read time must map the kept rows to it.</summary>
public sealed class TreeSamplingTests(TreeModelFixture fixture) : IClassFixture<TreeModelFixture>
{
    [Fact]
    public async Task TreeTraining_WithNegativeDownsampling_TrainsOnTheKeptRows_AndStaysCalibratedOnTheWholeHoldout()
    {
        using var provider = new ServiceCollection()
            .AddCtrFallback(o => { o.Trainer = CtrTrainerKind.LightGbm; o.VocabularyMinCount = 10; o.NegativeSampleRate = 0.3; })
            .UseLightGbmTrainer(o => { o.NumberOfLeaves = 15; o.MaximumRounds = 60; o.MinimumExampleCountPerLeaf = 20; })
            .Services.BuildServiceProvider();

        var sampled = await provider.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [fixture.LogPath]);

        sampled.Parameters["data.sampledAtRead"].Should().Be("true");
        long.Parse(sampled.Parameters["data.droppedNegatives"], CultureInfo.InvariantCulture).Should().Be(fixture.Tree.TrainingRows - sampled.TrainingRows);
        sampled.TrainingRows.Should().BeLessThan(fixture.Tree.TrainingRows * 6 / 10);
        sampled.Evaluation.Metrics.Rows.Should().Be(fixture.Tree.Evaluation.Metrics.Rows, "the holdout is never sampled");
        sampled.Evaluation.Metrics.Positives.Should().Be(fixture.Tree.Evaluation.Metrics.Positives);
        sampled.Evaluation.Metrics.Calibration.Should().BeInRange(0.85, 1.15, "the correction undoes the sampling");
        sampled.Evaluation.Metrics.Auc.Should().BeApproximately(fixture.Tree.Evaluation.Metrics.Auc, 0.02);
    }
}
