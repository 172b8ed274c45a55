using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;

namespace CtrFallback.LightGbm.Tests;

/// <summary>The raw-field family gets the training profile from the one trainer too, and its champion reports drift.</summary>
public sealed class TreeDriftTests(TreeModelFixture fixture) : IClassFixture<TreeModelFixture>
{
    [Fact]
    public void ATreeArtifact_CarriesAProfile_AndItsChampionReportsLowPsiOnItsOwnDistribution()
    {
        using var model = CtrModel.Load(fixture.Tree.Artifact);
        var profile = model.Metadata.Profile!;
        profile.HoldoutRows.Should().Be(fixture.Tree.Evaluation.Metrics.Rows);
        profile.ScoreShares.Should().HaveCount(TrainingProfile.ScoreBins);
        profile.MeanPredictedCtr.Should().BeInRange(0.15, 0.25);
        profile.Fields.Single(f => f.Field == "C9").FrequentShare.Should().Be(1, "C9 has three values, all frequent");

        using var predictor = new ChampionPredictor(drift: new ServingDriftOptions { SampleEvery = 1 });
        predictor.Publish(CtrModel.Load(fixture.Tree.Artifact), new ModelVersion("ctr", 1, DateTimeOffset.UnixEpoch, "00", new Dictionary<string, double>(), new Dictionary<string, string>(), new Dictionary<string, string>(), []), DateTimeOffset.UnixEpoch);
        var impression = new Impression(predictor.Schema!);
        var columns = ClickLogSchema.Criteo.Columns!;
        foreach (var row in SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 10_000, Seed = 41 }))
        {
            impression.Clear();
            impression.SetAll(columns, row.Line.Split('\t'));
            predictor.Predict(impression);
        }

        var drift = predictor.Drift!;
        drift.WindowImpressions.Should().Be(10_000);
        drift.ScorePsi.Should().BeLessThan(0.1);
        drift.MeanPredictedCtr!.Value.Should().BeApproximately(profile.MeanPredictedCtr, 0.02);
    }
}
