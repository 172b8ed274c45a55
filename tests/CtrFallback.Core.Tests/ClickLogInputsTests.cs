using CtrFallback.Data;
using CtrFallback.Training;

namespace CtrFallback.Tests;

public sealed class ClickLogInputsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Touch(string relative, string content = "x\n")
    {
        var path = Path.Combine(_dir.Path, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private string Relative(string path) => Path.GetRelativePath(_dir.Path, path).Replace('\\', '/');

    [Fact]
    public void Resolve_AFolderOfDailyPartitions_ListsTheirFilesInPartitionOrderWithoutSparkMarkers()
    {
        Touch("logs/dt=2026-11-30/part-0.tsv");
        Touch("logs/dt=2026-11-28/part-1.tsv");
        Touch("logs/dt=2026-11-28/part-0.tsv");
        Touch("logs/dt=2026-11-29/_SUCCESS");
        Touch("logs/dt=2026-11-29/.part-0.tsv.crc");
        Touch("logs/dt=2026-11-29/part-0.tsv");

        var inputs = ClickLogInputs.Resolve([Path.Combine(_dir.Path, "logs")]);

        inputs.Select(i => Relative(i.Path)).Should().Equal(
            "logs/dt=2026-11-28/part-0.tsv", "logs/dt=2026-11-28/part-1.tsv", "logs/dt=2026-11-29/part-0.tsv", "logs/dt=2026-11-30/part-0.tsv");
        inputs[0].Partition.Should().Be(new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero));
        inputs[0].PartitionLength.Should().Be(TimeSpan.FromDays(1));
    }

    [Fact]
    public void Resolve_ARecursiveGlob_MatchesOnlyTheNamedFilesAndReadsHourPartitions()
    {
        Touch("logs/dt=2026-11-30/hour=13/part-0.jsonl");
        Touch("logs/dt=2026-11-30/hour=09/part-0.jsonl");
        Touch("logs/dt=2026-11-30/hour=09/part-0.tsv");

        var inputs = ClickLogInputs.Resolve([Path.Combine(_dir.Path, "logs") + "/**/*.jsonl"]);

        inputs.Select(i => Relative(i.Path)).Should().Equal("logs/dt=2026-11-30/hour=09/part-0.jsonl", "logs/dt=2026-11-30/hour=13/part-0.jsonl");
        inputs[1].Partition.Should().Be(new DateTimeOffset(2026, 11, 30, 13, 0, 0, TimeSpan.Zero));
        inputs[1].PartitionLength.Should().Be(TimeSpan.FromHours(1));
    }

    [Fact]
    public void Resolve_AGlobMatchingNothing_NamesThePattern()
    {
        var pattern = Path.Combine(_dir.Path, "none-*.tsv");

        var act = () => ClickLogInputs.Resolve([pattern]);

        act.Should().Throw<FileNotFoundException>().WithMessage($"*'{pattern}'*matches no file*");
    }

    [Fact]
    public void Window_OfThreeDays_KeepsTheThreeNewestDailyPartitions()
    {
        for (var day = 24; day <= 30; day++)
        {
            Touch($"logs/dt=2026-11-{day}/part-0.tsv");
        }

        var inputs = ClickLogInputs.Window(ClickLogInputs.Resolve([Path.Combine(_dir.Path, "logs")]), ClickLogInputs.ParseWindow("3d"));

        inputs.Select(i => Relative(i.Path)).Should().Equal(
            "logs/dt=2026-11-28/part-0.tsv", "logs/dt=2026-11-29/part-0.tsv", "logs/dt=2026-11-30/part-0.tsv");
    }

    [Fact]
    public void Window_OverFilesOutsidePartitions_NamesTheOptionAndTheFile()
    {
        var loose = Touch("clicks.tsv");

        var act = () => ClickLogInputs.Window(ClickLogInputs.Resolve([loose]), TimeSpan.FromDays(1));

        act.Should().Throw<InvalidDataException>().WithMessage($"*Training:Window*'{loose}'*");
    }

    [Theory]
    [InlineData("7d", 7 * 24)]
    [InlineData("36h", 36)]
    [InlineData(" 1D ", 24)]
    public void ParseWindow_DaysOrHours_GivesTheirLength(string text, int hours) =>
        ClickLogInputs.ParseWindow(text).Should().Be(TimeSpan.FromHours(hours));

    [Theory]
    [InlineData("0d")]
    [InlineData("7")]
    [InlineData("1w")]
    [InlineData("-2d")]
    public void ParseWindow_AnythingElse_NamesTheOption(string text) =>
        FluentActions.Invoking(() => ClickLogInputs.ParseWindow(text)).Should().Throw<ArgumentException>().WithMessage($"Training:Window*'{text}'*");

    [Fact]
    public void Train_WithAThreeDayWindow_ReadsExactlyTheThreeNewestPartitionsAndSaysSoInItsParameters()
    {
        var days = new List<string>();
        for (var day = 24; day <= 30; day++)
        {
            var path = Path.Combine(_dir.Path, "logs", $"dt=2026-11-{day}", "part-0.tsv");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            SyntheticClickLog.Write(path, new SyntheticClickLogOptions { Rows = 4_000, Seed = day });
            days.Add(path);
        }

        var windowed = TrainedModelFixture.Train(new TrainingOptions { Window = "3d" }, Path.Combine(_dir.Path, "logs"));
        var explicitly = TrainedModelFixture.Train(new TrainingOptions(), days[4], days[5], days[6]);
        var all = TrainedModelFixture.Train(new TrainingOptions(), Path.Combine(_dir.Path, "logs"));

        windowed.Parameters["data.files"].Split(',').Should().Equal(days[4], days[5], days[6]);
        windowed.Parameters["data.window"].Should().Be("3d");
        windowed.Parameters["data.partitions"].Should().Be("2026-11-28,2026-11-29,2026-11-30");
        windowed.Rows.Should().Be(12_000);
        windowed.DataFingerprint.Should().Be(explicitly.DataFingerprint);
        all.Parameters["data.files"].Split(',').Should().Equal(days);
        all.DataFingerprint.Should().NotBe(windowed.DataFingerprint);
        all.Rows.Should().Be(28_000);
    }
}
