using System.Globalization;
using System.Text.Json;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>
/// `ctrfallback history` as a separate process over a file store that five real `ctrfallback train` runs filled (small
/// generated logs, one per day): each run's row carries the champion's metrics on that run's newest holdout.
/// </summary>
public sealed class CliHistoryTests : IDisposable
{
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliHistoryTests).Assembly);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => _dir.File("store");

    [Fact]
    public async Task History_AfterFiveTrainingRuns_ShowsTheChampionsMetricsOnEachRunsHoldout_InTextAndJson()
    {
        for (var day = 1; day <= 5; day++)
        {
            var log = _dir.File($"day{day}.tsv");
            SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 12_000, Seed = day });
            var (code, output) = await RunAsync("train", "--data", log, "--store", Store, "--json");
            code.Should().Be(0, output);
        }

        var (jsonCode, json) = await RunAsync("history", "--store", Store, "--json");
        var (textCode, text) = await RunAsync("history", "--store", Store);

        jsonCode.Should().Be(0, json);
        textCode.Should().Be(0, text);
        var runs = JsonDocument.Parse(json).RootElement.EnumerateArray().ToList();
        runs.Select(r => r.GetProperty("version").GetInt32()).Should().Equal(1, 2, 3, 4, 5);
        runs[0].GetProperty("champion").ValueKind.Should().Be(JsonValueKind.Null, "the first run had no champion");
        runs[0].GetProperty("championMetrics").ValueKind.Should().Be(JsonValueKind.Null);
        runs[0].GetProperty("gatePassed").GetBoolean().Should().BeTrue("the first run has no champion to beat and passes the absolute criteria");

        // The champion each run scored is the one the runs before it left: the last version whose gate passed.
        int? champion = null;
        for (var i = 0; i < 5; i++)
        {
            var run = runs[i];
            if (champion is { } expected)
            {
                run.GetProperty("champion").GetInt32().Should().Be(expected, $"run {i + 1}");
                var auc = run.GetProperty("championMetrics").GetProperty("auc").GetDouble();
                auc.Should().BeInRange(0.5, 1, $"run {i + 1} scored champion v{expected} on its holdout");
                run.GetProperty("championMetrics").GetProperty("rows").GetInt64().Should().Be(run.GetProperty("candidateMetrics").GetProperty("rows").GetInt64(), "the same holdout rows");
                text.Should().Contain(auc.ToString("F4", CultureInfo.InvariantCulture));
            }

            run.GetProperty("candidateMetrics").GetProperty("auc").GetDouble().Should().BeInRange(0.5, 1);
            if (run.GetProperty("gatePassed").GetBoolean())
            {
                champion = i + 1;
            }
        }

        runs.Count(r => r.GetProperty("championMetrics").ValueKind == JsonValueKind.Object).Should().Be(4);
        text.Should().Contain("v5").And.Contain("champion v1 over");
        text.Split('\n').Count(l => l.StartsWith('v')).Should().Be(5, "one line per run");
    }

    [Fact]
    public async Task History_OnAnEmptyStore_SaysThereAreNoRunsYet()
    {
        var (code, output) = await RunAsync("history", "--store", Store);

        code.Should().Be(0, output);
        output.Should().Contain("no training runs yet");
    }

    // Days from different seeds differ by sampling noise: allow for it against the champion, as a team with small days would.
    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => CliProcess.RunAsync(
        Cli,
        args,
        TimeSpan.FromMinutes(3),
        new Dictionary<string, string> { ["CtrFallback__Gate__MaxAucLoss"] = "0.02", ["CtrFallback__Gate__MaxNormalizedEntropyIncrease"] = "0.02" });
}
