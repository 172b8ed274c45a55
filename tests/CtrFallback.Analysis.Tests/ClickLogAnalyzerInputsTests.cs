using System.Globalization;
using System.Text;
using CtrFallback.Analysis;
using CtrFallback.Data;
using FluentAssertions;
using Xunit;

namespace CtrFallback.Tests;

/// <summary>The analyzer reads what training reads: folders, globs, Hive partitions with a window, JSON lines.</summary>
public sealed class ClickLogAnalyzerInputsTests
{
    private const string Schema = """
        { "separator": ",", "hasHeader": true, "label": "click", "categorical": ["a", "b"] }
        """;

    [Fact]
    public async Task Analyze_WithWindow_ReadsOnlyTheNewestPartitionsOfAFolder()
    {
        using var directory = new TempDirectory();
        var (oldest, middle, newest) = WritePartitions(directory);

        var analysis = await ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Parse(Schema), [directory.Path], new ClickLogAnalysisOptions { Window = "2d" });

        analysis.Files.Should().Equal(middle, newest);
        analysis.Rows.Should().Be(200 + 300);
        oldest.Should().NotBeNull();
    }

    [Fact]
    public async Task Analyze_WithAGlobAndNoWindow_ReadsEveryMatchingFileInPartitionOrder()
    {
        using var directory = new TempDirectory();
        var (oldest, middle, newest) = WritePartitions(directory);

        var analysis = await ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Parse(Schema), [Path.Combine(directory.Path, "**", "*.*")]);

        analysis.Files.Should().Equal(oldest, middle, newest);
        analysis.Rows.Should().Be(100 + 200 + 300);
        analysis.Fields.Should().Contain(f => f.Name == "a");
    }

    [Fact]
    public async Task Analyze_WithAWindowOnFilesOutsidePartitions_NamesTheFile()
    {
        using var directory = new TempDirectory();
        var loose = directory.Write("loose.csv", Log(100, 1));

        var act = () => ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Parse(Schema), [loose], new ClickLogAnalysisOptions { Window = "1d" });

        (await act.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain("loose.csv");
    }

    /// <summary>Three daily partitions of 100, 200 and 300 rows; the newest is JSON lines.</summary>
    private static (string Oldest, string Middle, string Newest) WritePartitions(TempDirectory directory)
    {
        string Write(string day, string name, string content)
        {
            var folder = Path.Combine(directory.Path, $"dt={day}");
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, name);
            File.WriteAllText(path, content);
            return path;
        }

        var json = new StringBuilder();
        var random = new Random(3);
        for (var i = 0; i < 300; i++)
        {
            json.Append(CultureInfo.InvariantCulture, $$"""{"click": {{(random.NextDouble() < 0.2 ? 1 : 0)}}, "a": "v{{random.Next(5)}}", "b": "w{{random.Next(7)}}"}""").Append('\n');
        }

        return (Write("2026-11-28", "part-0.csv", Log(100, 1)), Write("2026-11-29", "part-0.csv", Log(200, 2)), Write("2026-11-30", "part-0.jsonl", json.ToString()));
    }

    private static string Log(int rows, int seed)
    {
        var random = new Random(seed);
        var log = new StringBuilder("click,a,b\n");
        for (var i = 0; i < rows; i++)
        {
            log.Append(CultureInfo.InvariantCulture, $"{(random.NextDouble() < 0.2 ? 1 : 0)},v{random.Next(5)},w{random.Next(7)}\n");
        }

        return log.ToString();
    }
}
