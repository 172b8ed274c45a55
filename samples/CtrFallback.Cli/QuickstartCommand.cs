using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CtrFallback.Cli;

/// <summary>The whole lifecycle on embedded defaults, explained step by step: generate, train, gate, register, promote, score.</summary>
internal static class QuickstartCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var directory = Path.GetFullPath(args.String("--dir") ?? "ctrfallback-quickstart");
        var rows = args.Long("--rows") ?? 300_000;
        var storePath = Path.Combine(directory, "store");
        var overrides = new CommandLine(["--store", storePath]);
        using var provider = Services.Build(overrides, quiet: true);
        args.EnsureAllUsed();
        overrides.EnsureAllUsed();
        Directory.CreateDirectory(directory);
        var store = provider.GetRequiredService<IModelStore>();
        var model = provider.GetRequiredService<IOptions<CtrFallbackOptions>>().Value.ModelName;
        var existing = await store.ListVersionsAsync(model, cancellationToken);
        var clock = Stopwatch.StartNew();

        // Each run is a new "day" of logs: a different seed, so a second run trains a genuinely new candidate.
        var seed = existing.Count + 1;
        var log = Path.Combine(directory, $"clicks-day{seed}.tsv");
        Step(1, "Generate a click log", $"{rows:N0} synthetic impressions in Criteo format (13 counts, 26 categorical ids, ~20% CTR) -> {log}");
        var (written, clicks) = SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = rows, Seed = seed });
        Say(string.Create(CultureInfo.InvariantCulture, $"{written:N0} rows, {clicks:N0} clicks ({(double)clicks / written:P1})."));

        // Retrain on every day so far, oldest first: the holdout is the most recent 10% of rows.
        var days = Enumerable.Range(1, seed).Select(d => Path.Combine(directory, $"clicks-day{d}.tsv")).Where(File.Exists).ToArray();
        Step(2, "Train, evaluate and gate", $"Featurize once (hashed ids, crosses, log-counts) the {days.Length} day(s) of logs so far, fit logistic regression with ML.NET SDCA on all but the most recent 10% of rows, evaluate on that holdout, then ask the promotion gate.");
        var job = provider.GetRequiredService<ITrainingJob>();
        var result = await job.RunAsync(new TrainingJobRequest(days, ClickLogSchema.Criteo), null, cancellationToken);
        var m = result.Training.Evaluation.Metrics;
        Say(string.Create(CultureInfo.InvariantCulture,
            $"holdout: AUC {m.Auc:F4}, log loss {m.LogLoss:F4}, normalized entropy {m.NormalizedEntropy:F4}, calibration {m.Calibration:F3} ({m.Rows:N0} rows); stages {string.Join(", ", result.Training.Stages.Select(s => $"{s.Key} {s.Value.TotalSeconds:F1} s"))}"));
        if (result.Training.ChampionEvaluation is { } champion)
        {
            Say(string.Create(CultureInfo.InvariantCulture, $"champion v{result.PreviousChampion} on the same holdout: AUC {champion.Metrics.Auc:F4}, normalized entropy {champion.Metrics.NormalizedEntropy:F4}"));
        }

        foreach (var reason in result.Gate.Reasons)
        {
            Say("  " + reason);
        }

        Step(3, "Register and promote", $"Every candidate is registered as an immutable version in the file store at {storePath}; only a candidate that passed the gate moves the '{ModelAliases.Champion}' alias.");
        Say(result.Promoted
            ? $"{result.Version.Label} registered and promoted to '{ModelAliases.Champion}'{(result.PreviousChampion is { } p ? $" (was v{p})" : string.Empty)}."
            : $"{result.Version.Label} registered but REJECTED by the gate; '{ModelAliases.Champion}' stays on v{result.PreviousChampion}.");
        if (result.Deployment is { } d)
        {
            Say($"deployment trigger: {d.Status}: {d.Message}");
        }

        Step(4, "Score impressions with the champion", "Download the champion (SHA-256 checked), load it, and score the five most recent impressions in-process.");
        var current = await store.GetVersionByAliasAsync(model, ModelAliases.Champion, cancellationToken)
            ?? throw new ModelStoreException("No champion after quickstart: the first candidate failed the gate.");
        var artifact = await store.DownloadArtifactAsync(model, current.Version, cancellationToken);
        var sample = Path.Combine(directory, "recent.tsv");
        await File.WriteAllLinesAsync(sample, File.ReadLines(log).Skip((int)written - 5), cancellationToken);
        using var scores = new StringWriter(CultureInfo.InvariantCulture);
        ClickLogScoring.Score(artifact, ClickLogSchema.Criteo, [sample], scores, cancellationToken);
        var lines = scores.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        var raw = File.ReadAllLines(sample);
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = raw[i].Split('\t');
            var parts = lines[i].Split('\t');
            Say($"impression {i + 1}: C1={Show(fields[14])} C6={Show(fields[19])} C14={Show(fields[27])} I1={Show(fields[1])}  ->  pCTR {parts[1].Trim()} ({current.Label}), clicked: {(parts[0] == "1" ? "yes" : "no")}");
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Done in {clock.Elapsed.TotalSeconds:F0} s. Champion: {current.Label}. Run quickstart again to train version {result.Version.Version + 1} on one more day and judge it against the champion."));
        Console.WriteLine($"Next: 'ctrfallback models --store {storePath}', 'ctrfallback rollback --store {storePath}', or serve it: dotnet run --project samples/CtrFallback.InferenceServer -c Release -- --store {storePath}");
        return 0;
    }

    private static string Show(string value) => value.Length == 0 ? "(missing)" : value;

    private static void Step(int number, string title, string explanation)
    {
        Console.WriteLine();
        Console.WriteLine($"[{number}/4] {title}");
        Console.WriteLine($"      {explanation}");
    }

    private static void Say(string text) => Console.WriteLine($"      {text}");
}
