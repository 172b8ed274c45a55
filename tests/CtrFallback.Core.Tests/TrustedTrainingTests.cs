using System.Diagnostics;
using CtrFallback.Features;
using CtrFallback.Serving;
using CtrFallback.Training;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>Training that can be trusted: the same model from the same log, a holdout for every log, cancellation that cancels.</summary>
public sealed class TrustedTrainingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Log(int rows, int seed = 5)
    {
        var path = _dir.File($"log-{rows}-{seed}.tsv");
        if (!File.Exists(path))
        {
            SyntheticClickLog.Write(path, new SyntheticClickLogOptions { Rows = rows, Seed = seed, Learnable = true });
        }

        return path;
    }

    private static Task<TrainingResult> TrainAsync(TrainingOptions options, ClickLogSchema schema, string file, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        new CtrTrainer(Options.Create(options), new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)))
            .TrainAsync(schema, [file], null, progress, cancellationToken);

    private static float[] Weights(TrainingResult result)
    {
        using var model = CtrModel.Load(result.Artifact);
        return LinearModel.From(model.Transformer)!.Weights;
    }

    [Fact]
    public async Task Train_TwiceOnTheSameLog_EvenWithTheMachineBusy_GivesTheSameWeightsBitForBit()
    {
        var log = Log(30_000);
        var options = new TrainingOptions { L2Regularization = 3e-4f };
        var first = await TrainAsync(options, ClickLogSchema.Criteo, log);

        // Busy cores change thread timing; a result that depended on it would change too.
        using var busy = new CancellationTokenSource();
        var burners = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Run(() =>
        {
            var x = 0.0;
            while (!busy.IsCancellationRequested)
            {
                x = Math.Sqrt(x + 1);
            }
        })).ToArray();
        TrainingResult second;
        try
        {
            second = await TrainAsync(options, ClickLogSchema.Criteo, log);
        }
        finally
        {
            await busy.CancelAsync();
            await Task.WhenAll(burners);
        }

        Weights(second).Should().Equal(Weights(first));
        second.Evaluation.Metrics.Should().Be(first.Evaluation.Metrics);
        second.Parameters.Should().BeEquivalentTo(first.Parameters);
        first.Parameters["deterministic"].Should().Be("true");
        first.Parameters["threads"].Should().Be("1");
        first.Parameters["seed"].Should().Be("1");
    }

    [Fact]
    public async Task Train_StopsOnTheDualityGapAndReportsIt()
    {
        var result = await TrainAsync(new TrainingOptions { L2Regularization = 3e-4f }, ClickLogSchema.Criteo, Log(30_000));

        result.Parameters["converged"].Should().Be("true");
        var passes = int.Parse(result.Parameters["passes"], System.Globalization.CultureInfo.InvariantCulture);
        passes.Should().BeInRange(1, TrainingOptions.DefaultSdcaMaximumIterations - 1);
        (passes % 5).Should().Be(0, "SDCA checks its duality gap every 5 passes by default");
        result.Parameters["convergence"].Should().Be($"relative duality gap below 0.04 after {passes} passes");
    }

    [Fact]
    public async Task Train_WhenThePassLimitComesFirst_SaysItDidNotConverge()
    {
        var result = await TrainAsync(
            new TrainingOptions { L2Regularization = 3e-4f, Iterations = 2, ConvergenceTolerance = 1e-7, ConvergenceCheckFrequency = 1 },
            ClickLogSchema.Criteo,
            Log(20_000));

        result.Parameters["converged"].Should().Be("false");
        result.Parameters["convergence"].Should().Be("not converged: stopped at the limit of 2 passes");
    }

    [Fact]
    public async Task Train_RefitsTheIntercept_SoMeanPredictedCtrEqualsTheTrainingCtr()
    {
        // Two passes leave SDCA's intercept far from its optimum; the refit must still calibrate the training rows.
        var log = Log(30_000);
        var result = await TrainAsync(
            new TrainingOptions { L2Regularization = 3e-4f, Iterations = 2, ConvergenceTolerance = 1e-7, ConvergenceCheckFrequency = 1000 },
            ClickLogSchema.Criteo,
            log);

        // Without timestamps the training rows are the first 90% in file order.
        using var model = CtrModel.Load(result.Artifact);
        using var reader = new Data.ClickLogReader(ClickLogSchema.Criteo, [log]);
        double predicted = 0, clicks = 0;
        Func<Data.ClickLogRow, float>? score = null;
        while (reader.Read() && reader.Rows <= result.TrainingRows)
        {
            score ??= model.CreateRowScorer(reader.Columns);
            predicted += score(reader.Row);
            clicks += reader.Row.Label ? 1 : 0;
        }

        (predicted / clicks).Should().BeApproximately(1, 1e-4);
        double.Parse(result.Parameters["interceptRefit"], System.Globalization.CultureInfo.InvariantCulture).Should().NotBe(0);
    }

    [Fact]
    public void DistinctTrainingFeatures_CountsTheSameFeatures_AtANarrowAndAWideHashWidth()
    {
        // Linear counting corrects for slots shared by several features: at 2^16 slots most of the features collide,
        // at 2^26 almost none do, and both must count about the same features (and never the holdout's alone).
        var log = Log(20_000);
        long Count(int bits)
        {
            using var reader = new Data.ClickLogReader(ClickLogSchema.Criteo, [log]);
            using var featurized = FeaturizedLog.Build(reader, (ClickLogSchema.Criteo with { HashBits = bits }).ToFeatureSchema(), 0.1, null, _dir.Path, null, CancellationToken.None);
            return featurized.DistinctTrainingFeatures();
        }

        var wide = Count(26);
        var narrow = Count(16);

        wide.Should().BeGreaterThan(1 << 16, "the narrow space is more than full, so its count is a real correction");
        ((double)narrow / wide).Should().BeApproximately(1, 0.05);
    }

    [Fact]
    public void FeaturizedLogView_ShuffledPasses_VisitEveryRowOnceInAFreshOrder()
    {
        var log = Log(10_000);
        using var reader = new Data.ClickLogReader(ClickLogSchema.Criteo, [log]);
        using var featurized = FeaturizedLog.Build(reader, ClickLogSchema.Criteo.ToFeatureSchema(), 0.1, null, _dir.Path, null, CancellationToken.None);
        var rows = featurized.TrainingRowIndices();
        var view = new FeaturizedLogView(featurized, rows, CancellationToken.None);
        var random = new Random(3);

        var first = Pass(view, random);
        var second = Pass(view, random);

        first.Order().Should().Equal(Enumerable.Range(0, rows.Length), "every row once, ids 0 to n - 1");
        second.Order().Should().Equal(Enumerable.Range(0, rows.Length));
        second.Should().NotEqual(first);
        first.Take(1_000).Should().NotEqual(Enumerable.Range(0, 1_000), "a shuffled pass does not follow file order");
        Pass(view, null).Should().Equal(Enumerable.Range(0, rows.Length), "without a Random, rows come in file order");

        static List<int> Pass(FeaturizedLogView view, Random? random)
        {
            var ids = new List<int>();
            using var cursor = view.GetRowCursor(view.Schema, random);
            var id = cursor.GetIdGetter();
            Microsoft.ML.Data.DataViewRowId value = default;
            while (cursor.MoveNext())
            {
                id(ref value);
                ids.Add((int)value.Low);
            }

            return ids;
        }
    }

    [Fact]
    public async Task Train_WithAMemoryBudgetSmallerThanTheLog_TrainsInWindowsWithTheSameQuality()
    {
        var log = Log(40_000);
        var mapped = await TrainAsync(new TrainingOptions { L2Regularization = 3e-4f }, ClickLogSchema.Criteo, log);
        var windowed = await TrainAsync(new TrainingOptions { L2Regularization = 3e-4f, MaxInMemoryTrainingBytes = 1 << 20 }, ClickLogSchema.Criteo, log);

        mapped.Parameters["trainingData"].Should().Be("mapped");
        windowed.Parameters["trainingData"].Should().Be("windowed");
        windowed.Evaluation.Metrics.Auc.Should().BeApproximately(mapped.Evaluation.Metrics.Auc, 0.003);
        windowed.Evaluation.Metrics.Calibration.Should().BeApproximately(mapped.Evaluation.Metrics.Calibration, 0.02);
    }

    [Fact]
    public async Task Train_OnAOneHourLog_HoldsOutTheLastTenthInFileOrder()
    {
        // A one-hour extract: every row carries the same hour, so only file order can tell recent from old.
        var schema = HourlyClickLog.Schema;
        var path = _dir.Write("one-hour.csv", HourlyClickLog.Text(new Random(7), ["26110114"], 9_000));

        var result = await TrainAsync(new TrainingOptions(), schema, path);

        result.Evaluation.Metrics.Rows.Should().Be(900);
        result.TrainingRows.Should().Be(8_100);
        result.Holdout.Should().Contain("the most recent 900 rows by timestamp")
            .And.Contain("2026-11-01 14:00:00 UTC")
            .And.Contain("of the 9,000 rows at that time the last 900 in file order");
    }

    [Fact]
    public async Task Train_WhenCancelledDuringTheFit_StopsWithinTwoSecondsAndRemovesItsTemporaryFile()
    {
        var log = Log(60_000);
        var temp = Directory.CreateDirectory(_dir.File("temp")).FullName;

        // A fit that would run for minutes: 10,000 passes, never checking for convergence.
        var options = new TrainingOptions { L2Regularization = 3e-4f, Iterations = 10_000, ConvergenceCheckFrequency = 1_000, TempDirectory = temp };
        using var cancellation = new CancellationTokenSource();
        var cancelledAt = 0L;
        var progress = new SynchronousProgress(rows =>
        {
            // The trainer reports the full row count once the log is featurized, right before the fit starts.
            if (rows == 60_000 && cancelledAt == 0)
            {
                Directory.GetFiles(temp).Should().ContainSingle("the featurized log is in the configured folder");
                Task.Delay(500).ContinueWith(_ =>
                {
                    cancelledAt = Stopwatch.GetTimestamp();
                    cancellation.Cancel();
                }, TaskScheduler.Default);
            }
        });

        var act = () => TrainAsync(options, ClickLogSchema.Criteo, log, progress, cancellation.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        cancelledAt.Should().NotBe(0, "the fit was still running when cancelled");
        Stopwatch.GetElapsedTime(cancelledAt).Should().BeLessThan(TimeSpan.FromSeconds(2));
        Directory.GetFiles(temp).Should().BeEmpty("a cancelled run removes its featurized log");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(42)]
    [InlineData(55)]
    [InlineData(128)]
    [InlineData(300)]
    public void SmallSort_SortsLikeTheComparisonSort_DuplicatesIncluded(int length)
    {
        var random = new Random(length);
        for (var trial = 0; trial < 200; trial++)
        {
            var values = Enumerable.Range(0, length).Select(_ => random.Next(trial % 2 == 0 ? 16 : int.MaxValue)).ToArray();
            var expected = values.Order().ToArray();

            SmallSort.Sort(values);

            values.Should().Equal(expected);
        }
    }

    /// <summary>Reports on the caller's thread (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
