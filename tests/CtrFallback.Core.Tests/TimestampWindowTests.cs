using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests;

/// <summary><c>Training:Window</c> over files without partitions: by the schema's timestamp, back from the newest one.</summary>
public sealed class TimestampWindowTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TrainingResult Train(TrainingOptions options, params string[] files) =>
        new CtrTrainer(Options.Create(options), TimeProvider.System).TrainAsync(HourlyClickLog.Schema, files).GetAwaiter().GetResult();

    private static IEnumerable<string> Hours() =>
        Enumerable.Range(0, 7 * 24).Select(h => new DateTime(2026, 11, 24).AddHours(h).ToString("yyMMddHH", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Train_WithAThreeDayWindowAndNoPartitions_TrainsOnTheRowsOfTheThreeDaysBeforeTheNewestTimestamp()
    {
        // Seven days of hourly rows in one file; the newest hour is 2026-11-30 23:00.
        var text = HourlyClickLog.Text(new Random(5), Hours(), rowsPerHour: 100);
        var all = _dir.Write("week.csv", text);
        var lines = text.Split('\n');
        var recent = _dir.Write("recent.csv", string.Join('\n', lines.Take(1).Concat(lines.Skip(1).Where(l => string.CompareOrdinal(l, "26112800") >= 0))));

        var windowed = Train(new TrainingOptions { Window = "3d" }, all);
        var explicitly = Train(new TrainingOptions(), recent);

        // Later than 2026-11-27 23:00: the 72 hours of 28, 29 and 30 November.
        windowed.Rows.Should().Be(72 * 100);
        windowed.Parameters["data.window.by"].Should().Be("timestamp");
        windowed.Parameters["data.window.after"].Should().Be("2026-11-27T23:00:00Z");
        windowed.Parameters["data.window.newest"].Should().Be("2026-11-30T23:00:00Z");
        windowed.Parameters["data.window.outsideRows"].Should().Be((96 * 100).ToString(System.Globalization.CultureInfo.InvariantCulture));
        windowed.Parameters["data.files"].Should().Be(all);
        windowed.Holdout.Should().Be(explicitly.Holdout);
        windowed.Evaluation.Metrics.Should().Be(explicitly.Evaluation.Metrics);
    }

    [Fact]
    public void Train_WithAWindowOverPartitions_StillWindowsByPartition()
    {
        var path = Path.Combine(_dir.Path, "dt=2026-11-30", "part-0.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, HourlyClickLog.Text(new Random(6), Hours().TakeLast(24), rowsPerHour: 200));

        var windowed = Train(new TrainingOptions { Window = "1d" }, _dir.Path);

        windowed.Parameters["data.window.by"].Should().Be("partition");
        windowed.Rows.Should().Be(24 * 200);
    }

    [Fact]
    public void Read_WithAnAfterTime_SkipsOlderRowsAndRowsWithoutATimestamp_AndCountsThem()
    {
        var path = _dir.Write("log.csv", "hour,click,site,n\n26113000,1,s1,1\n,0,s2,2\n26112900,0,s3,3\n26113001,0,s4,4\n");

        using var reader = new ClickLogReader(HourlyClickLog.Schema, [path], after: new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero));
        var sites = new List<string>();
        while (reader.Read())
        {
            sites.Add(reader.Row.Categorical(0).ToString());
        }

        sites.Should().Equal("s4");
        reader.OutsideWindow.Should().Be(3);
        ClickLogReader.NewestTimestamp(HourlyClickLog.Schema, [path]).Should().Be(new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero));
    }
}
