using System.Globalization;
using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests;

/// <summary>Negative downsampling as the log is read: the same kept rows as sampling the whole log, without holding it.</summary>
public sealed class ReadTimeSamplingTests : IDisposable
{
    private const double Holdout = 0.1;
    private const double Rate = 0.1;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static SyntheticClickLogOptions LowCtr(int rows) => new() { Rows = rows, Seed = 8, Ctr = 0.05, Learnable = true };

    private string Log(int rows)
    {
        var path = _dir.File($"low-ctr-{rows}.tsv");
        if (!File.Exists(path))
        {
            SyntheticClickLog.Write(path, LowCtr(rows));
        }

        return path;
    }

    private FeaturizedLog Build(string log, double rate, int tailChunkRows, string? directory = null, Func<ClickLogRow, float>? champion = null, RowObserver? observer = null)
    {
        using var reader = new ClickLogReader(ClickLogSchema.Criteo, [log]);
        return FeaturizedLog.Build(reader, ClickLogSchema.Criteo.ToFeatureSchema(), Holdout, champion, directory ?? _dir.Path, null, CancellationToken.None, observer: observer, negativeSampleRate: rate, tailChunkRows: tailChunkRows);
    }

    [Fact]
    public void Build_WithNegativeSampling_StoresTheHoldoutAndExactlyTheHandComputedTrainingRows()
    {
        const int Rows = 20_000;
        var labels = SyntheticClickLog.Generate(LowCtr(Rows)).Select(i => i.Label).ToArray();
        var firstHoldout = Rows - (int)Math.Round(Rows * Holdout);
        var keepBelow = (ulong)(Rate * ulong.MaxValue);
        var expected = Enumerable.Range(0, Rows).Where(i => i >= firstHoldout || labels[i] || FeaturizedLog.Split(i) < keepBelow).ToArray();
        var calls = 0;

        using var log = Build(Log(Rows), Rate, tailChunkRows: 500, champion: _ => calls++);

        log.Rows.Should().Be(Rows);
        log.SampledDuringRead.Should().BeTrue("a holdout by file order lets rows settle a bounded distance behind the read");
        log.ReadRows([.. Enumerable.Range(0, (int)log.StoredRows)]).Should().Equal(expected);
        log.ReadRows(log.HoldoutRowIndices()).Should().Equal(Enumerable.Range(firstHoldout, Rows - firstHoldout), "the holdout is never sampled");
        log.DroppedNegatives.Should().Be(Rows - expected.Length);
        log.TrainingPositives.Should().Be(labels[..firstHoldout].Count(l => l));
        Enumerable.Range(0, Rows).Where(i => log.IsHoldout(i)).Should().Equal(Enumerable.Range(firstHoldout, Rows - firstHoldout));
        Enumerable.Range(0, (int)log.StoredRows).Select(r => log.ChampionScore(r)).Should().Equal(expected.Select(i => (float)i), "each kept row keeps its own champion score");
        Enumerable.Range(0, (int)log.StoredRows).Select(r => log.Label(r)).Should().Equal(expected.Select(i => labels[i]));
    }

    [Fact]
    public void Build_SettlingRowsDuringTheRead_GivesTheSameFileAsSettlingThemAfterIt()
    {
        var path = Log(20_000);
        using var during = Build(path, Rate, tailChunkRows: 300);
        using var after = Build(path, Rate, tailChunkRows: int.MaxValue);
        using var unsampled = Build(path, 1, tailChunkRows: 0);

        during.SampledDuringRead.Should().BeTrue();
        after.SampledDuringRead.Should().BeFalse("one chunk holds the whole log, so nothing settles before the read ends");
        during.StoredRows.Should().Be(after.StoredRows).And.BeLessThan(unsampled.StoredRows / 2);
        during.Hasher.NumericScales.Should().Equal(unsampled.Hasher.NumericScales, "the scales are fitted on every row read");
        during.DistinctTrainingFeatures().Should().Be(unsampled.DistinctTrainingFeatures(), "the collision estimate counts the dropped training rows too");
        during.HoldoutRowIndices().Should().Equal(after.HoldoutRowIndices());
        during.TrainingRowIndices().Should().Equal(after.TrainingRowIndices());
        var width = during.Hasher.HashedCount + during.Hasher.NumericCount;
        for (var row = 0; row < during.StoredRows; row++)
        {
            during.ReadRow(row).Should().Be(after.ReadRow(row));
            during.Label(row).Should().Be(after.Label(row));
            var (duringIndices, duringValues) = Sparse(during, row, width);
            var (afterIndices, afterValues) = Sparse(after, row, width);
            duringIndices.Should().Equal(afterIndices, $"stored row {row}");
            duringValues.Should().Equal(afterValues, $"stored row {row}");
        }
    }

    [Fact]
    public void Build_WithNegativeSampling_HoldsTheKeptRowsAndTheTailOnDisk_NotTheWholeLog()
    {
        const int Rows = 100_000;
        const int Chunk = 2_000;
        var path = Log(Rows);
        var directory = Directory.CreateDirectory(_dir.File("featurized")).FullName;
        long largest = 0, seen = 0;
        void Observe(ClickLogRow row, ReadOnlySpan<uint> hashes)
        {
            if (seen++ % 1_000 == 0)
            {
                largest = Math.Max(largest, Directory.GetFiles(directory).Sum(f => new FileInfo(f).Length));
            }
        }

        using var log = Build(path, Rate, Chunk, directory, observer: Observe);

        var all = log.Rows * log.RowSize;
        log.Rows.Should().Be(Rows);
        Directory.GetFiles(directory).Should().ContainSingle("the tail's chunk files are gone once settled");
        new FileInfo(Directory.GetFiles(directory)[0]).Length.Should().Be(log.StoredRows * log.RowSize);
        log.StoredRows.Should().Be(log.Rows - log.DroppedNegatives);
        log.PeakRowsHeld.Should().BeLessThanOrEqualTo(log.StoredRows + (3 * Chunk) + 2, "kept rows, the holdout-sized tail and a few chunks");
        log.PeakRowsHeld.Should().BeLessThan(Rows * 4 / 10);
        largest.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(log.PeakRowsHeld * log.RowSize).And.BeLessThan(all * 4 / 10, "at no point was the whole log on disk");
    }

    [Fact]
    public async Task Train_WithTimestampHoldoutAndNegativeDownsampling_SamplesAfterTheReadAndKeepsTheWholeHoldout()
    {
        // Hours written newest first: no row is known to be a training row before the last one is read.
        var path = _dir.Write("timed.csv", HourlyClickLog.Text(new Random(4), Enumerable.Range(0, 10).Reverse().Select(h => $"261101{h:00}"), 300));
        async Task<TrainingResult> Train(double rate) =>
            await new CtrTrainer(Options.Create(new TrainingOptions { HoldoutFraction = 0.2, NegativeSampleRate = rate }), TimeProvider.System).TrainAsync(HourlyClickLog.Schema, [path]);

        var all = await Train(1);
        var sampled = await Train(0.3);

        sampled.Evaluation.Metrics.Rows.Should().Be(600).And.Be(all.Evaluation.Metrics.Rows);
        sampled.Evaluation.Metrics.Positives.Should().Be(all.Evaluation.Metrics.Positives);
        sampled.Parameters["data.sampledAtRead"].Should().Be("false");
        long.Parse(sampled.Parameters["data.peakRowsHeld"], CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(3000, "the whole log waited for the newest timestamp");
        long.Parse(sampled.Parameters["data.droppedNegatives"], CultureInfo.InvariantCulture).Should().Be(all.TrainingRows - sampled.TrainingRows).And.BeGreaterThan(0);
        all.Parameters["data.droppedNegatives"].Should().Be("0");
    }

    private static (int[] Indices, float[] Values) Sparse(FeaturizedLog log, int row, int width)
    {
        var indices = new int[width];
        var values = new float[width];
        var count = log.ReadSparse(row, indices, values);
        return (indices[..count], values[..count]);
    }
}
