using CtrFallback.Evaluation;
using CtrFallback.Serving;
using CtrFallback.Training;
using Microsoft.Extensions.Options;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>Trains once on a generated log whose truth is known, and checks quality and train/serve agreement.</summary>
public sealed class TrainedModelFixture : IDisposable
{
    public const int Rows = 150_000;

    public TrainedModelFixture()
    {
        Directory = new TempDirectory();
        Options = new SyntheticClickLogOptions { Rows = Rows, Seed = 11, Learnable = true };
        LogPath = Directory.File("learnable.tsv");
        SyntheticClickLog.Write(LogPath, Options);
        Result = Train(Training, LogPath);
    }

    /// <summary>
    /// L2 3e-4, from a sweep at this size (holdout AUC 0.669 at 1e-5, 0.692 at 1e-4, 0.701 at 3e-4, 0.700 at 1e-3):
    /// 150k rows with 19 fields of noise ids need a stronger pull than the default's 7e-5.
    /// </summary>
    public static TrainingOptions Training => new() { L2Regularization = 3e-4f };

    public TempDirectory Directory { get; }

    public SyntheticClickLogOptions Options { get; }

    public string LogPath { get; }

    public TrainingResult Result { get; }

    public static TrainingResult Train(TrainingOptions options, params string[] files) =>
        Train(options, ClickLogSchema.Criteo, files).GetAwaiter().GetResult();

    public static Task<TrainingResult> Train(TrainingOptions options, ClickLogSchema schema, params string[] files) =>
        new CtrTrainer(Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System).TrainAsync(schema, files);

    public void Dispose() => Directory.Dispose();
}

public sealed class TrainingTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    [Fact]
    public void Train_OnLearnableLog_ComesWithin001OfTheTruthsOwnAuc()
    {
        // The truth's own AUC on the same holdout (the last 10% of rows) is the best any model can reach.
        var holdout = SyntheticClickLog.Generate(fixture.Options).Skip(TrainedModelFixture.Rows * 9 / 10).ToArray();
        var truth = Evaluator.Evaluate(holdout.Select(i => i.Label).ToArray(), holdout.Select(i => (float)i.TruthProbability).ToArray()).Metrics;
        var learned = fixture.Result.Evaluation.Metrics;

        learned.Rows.Should().Be(holdout.Length);
        learned.Positives.Should().Be(holdout.Count(i => i.Label));

        // In the learnable setting the truth uses only what the log shows (fields of at most 1,000 values, counts,
        // the planted cross), so 135k rows see each value often enough to come within 0.01 of the truth's AUC;
        // a broken featurizer, a missing cross or an unconverged trainer loses more.
        learned.Auc.Should().BeGreaterThan(truth.Auc - 0.01, $"truth AUC is {truth.Auc:F4}");
        learned.Calibration.Should().BeInRange(0.9, 1.1);
        learned.NormalizedEntropy.Should().BeLessThan(1);
    }

    [Fact]
    public void Scoring_OfflineAndThroughTheServingPath_GivesTheSameProbabilities()
    {
        using var model = CtrModel.Load(fixture.Result.Artifact);

        model.IsLinear.Should().BeTrue();
        OfflineScorer.ServingShouldMatch(model, ClickLogSchema.Criteo, fixture.LogPath, 5_000);
    }

    [Fact]
    public void Train_ReportsStagesParametersAndFingerprint()
    {
        var result = fixture.Result;

        result.Stages.Keys.Should().Equal("load", "train", "evaluate");
        result.Rows.Should().Be(TrainedModelFixture.Rows);
        result.TrainingRows.Should().Be(TrainedModelFixture.Rows * 9 / 10);
        result.Parameters["trainer"].Should().Be("Sdca");
        result.Parameters["featurizer.crosses"].Should().Be("C6xC14,C2xC11,C17xC20");
        result.DataFingerprint.Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(fixture.LogPath))));
    }

    [Fact]
    public void Train_WithNegativeDownsampling_StaysCalibratedAndRecordsTheNegativesDroppedAtRead()
    {
        var options = TrainedModelFixture.Training;
        options.NegativeSampleRate = 0.3;
        var result = TrainedModelFixture.Train(options, fixture.LogPath);

        result.TrainingRows.Should().BeLessThan(TrainedModelFixture.Rows * 9 / 10 / 2);
        result.Parameters["data.sampledAtRead"].Should().Be("true");
        long.Parse(result.Parameters["data.droppedNegatives"], System.Globalization.CultureInfo.InvariantCulture).Should().Be((TrainedModelFixture.Rows * 9 / 10) - result.TrainingRows);
        long.Parse(result.Parameters["data.peakRowsHeld"], System.Globalization.CultureInfo.InvariantCulture).Should().BeLessThan(TrainedModelFixture.Rows * 7 / 10, "the dropped negatives never all sat on disk");
        fixture.Result.Parameters["data.sampledAtRead"].Should().Be("false", "a rate of 1 drops nothing");
        result.Evaluation.Metrics.Calibration.Should().BeInRange(0.9, 1.1, "q = p / (p + (1 - p) / w) undoes the sampling");
        result.Evaluation.Metrics.Auc.Should().BeApproximately(fixture.Result.Evaluation.Metrics.Auc, 0.01);
    }

    [Fact]
    public async Task Train_WithAChampion_ScoresItOnTheSameHoldout()
    {
        var result = await new CtrTrainer(Options.Create(TrainedModelFixture.Training), TimeProvider.System)
            .TrainAsync(ClickLogSchema.Criteo, [fixture.LogPath], fixture.Result.Artifact);

        result.ChampionEvaluation.Should().NotBeNull();
        result.ChampionEvaluation!.Metrics.Rows.Should().Be(result.Evaluation.Metrics.Rows);

        // The champion is the fixture's own model: scored row by row through the serving path, it must
        // reproduce the fixture's own holdout evaluation.
        result.ChampionEvaluation.Metrics.Auc.Should().BeApproximately(fixture.Result.Evaluation.Metrics.Auc, 1e-6);
        result.ChampionEvaluation.Metrics.LogLoss.Should().BeApproximately(fixture.Result.Evaluation.Metrics.LogLoss, 1e-6);
    }
}

public sealed class TrainingInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Train_WhenMalformedShareExceedsTheLimit_FailsNamingFileAndLine()
    {
        var lines = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 1_000 }).Select(i => i.Line).ToList();
        lines[10] = "garbage";
        lines[500] = lines[500].Replace("\t", ",", StringComparison.Ordinal);
        var path = _dir.Write("bad.tsv", string.Join("\n", lines));

        var act = () => TrainedModelFixture.Train(new TrainingOptions(), path);

        var ex = act.Should().Throw<ClickLogFormatException>().Which;
        ex.MalformedCount.Should().Be(2);
        ex.TotalRows.Should().Be(1_000);
        ex.Message.Should().Contain($"{path}:11").And.Contain($"{path}:501").And.Contain("0.20%").And.Contain("0.10% allowed");
    }

    [Fact]
    public void Train_WhenMalformedShareIsWithinTheLimit_TrainsAndReportsThem()
    {
        var lines = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 5_000 }).Select(i => i.Line).ToList();
        lines[42] = "1\tnot-a-row";
        var path = _dir.Write("ok.tsv", string.Join("\n", lines));

        var result = TrainedModelFixture.Train(new TrainingOptions { MaxMalformedFraction = 0.01 }, path);

        result.MalformedRows.Should().Be(1);
        result.MalformedExamples.Should().ContainSingle().Which.Line.Should().Be(43);
        result.Rows.Should().Be(4_999);
    }

    [Fact]
    public async Task Train_WithTimestamp_HoldsOutTheMostRecentHoursEvenWhenRowsAreNotSorted()
    {
        // Hours 0..9, written newest first: a "last rows" split would hold out the oldest hour.
        var schema = HourlyClickLog.Schema;
        var path = _dir.Write("timed.csv", HourlyClickLog.Text(new Random(3), Enumerable.Range(0, 10).Reverse().Select(h => $"261101{h:00}"), 200));

        var result = await new CtrTrainer(Options.Create(new TrainingOptions { HoldoutFraction = 0.2 }), TimeProvider.System)
            .TrainAsync(schema, [path]);

        result.Evaluation.Metrics.Rows.Should().Be(400, "hours 8 and 9 hold 20% of the rows");
        result.Holdout.Should().Contain("2026-11-01 08:00");
    }

    [Fact]
    public void Train_WithSingleLabelValue_FailsClearly()
    {
        var lines = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 1_000 }).Select(i => "0" + i.Line[1..]);
        var path = _dir.Write("no-clicks.tsv", string.Join("\n", lines));

        var act = () => TrainedModelFixture.Train(new TrainingOptions(), path);

        act.Should().Throw<ClickLogFormatException>().WithMessage("*only one label value*");
    }
}
