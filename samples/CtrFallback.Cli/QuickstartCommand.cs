using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;

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

        Step(4, "Score impressions with the champion, in-process", "What a DSP embeds: ICtrPredictor follows the store's 'champion' alias (download, SHA-256 check, load, warm, atomic swap) and scores on the caller's thread, allocation-free. Here: the five most recent impressions, then one request context with three candidate ads.");
        var serving = new ServiceCollection();
        serving.AddLogging();
        serving.AddCtrFallback().UseFileModelStore(o => o.Path = storePath).AddChampionServing();
        using var servingProvider = serving.BuildServiceProvider();
        var loaded = await servingProvider.GetRequiredService<IChampionFollower>().ReloadAsync(cancellationToken);
        var predictor = servingProvider.GetRequiredService<ICtrPredictor>();
        if (!predictor.IsReady)
        {
            throw new ModelStoreException($"No champion to serve after quickstart: {loaded.Message}");
        }

        var columns = ClickLogSchema.Criteo.Columns!;
        var impression = new Impression(predictor.Schema!);
        foreach (var line in File.ReadLines(log).Skip((int)written - 5))
        {
            var fields = line.Split('\t');
            impression.Clear();
            impression.SetAll(columns, fields);

            var prediction = predictor.Predict(impression);
            Say(string.Create(CultureInfo.InvariantCulture,
                $"C1={Show(fields[14])} C6={Show(fields[19])} C14={Show(fields[27])} I1={Show(fields[1])}  ->  pCTR {prediction.Ctr:F4} ({prediction.ModelVersion}), clicked: {(fields[0] == "1" ? "yes" : "no")}"));
        }

        // The fallback case: the last impression is the request; three candidate ads differ in one field (C6),
        // taken from values seen in the log.
        var ads = File.ReadLines(log).Skip((int)written - 500).Select(l => l.Split('\t')[19]).Where(v => v.Length > 0).Distinct().Take(3);
        var candidates = ads.Select(ad =>
        {
            var candidate = new Impression(predictor.Schema!);
            candidate.Set("C6", ad);
            return candidate;
        }).ToArray();
        var ctrs = new float[candidates.Length];
        var label = predictor.PredictCandidates(impression, candidates, ctrs);
        var best = Array.IndexOf(ctrs, ctrs.Max());
        Say(string.Create(CultureInfo.InvariantCulture,
            $"fallback for that request: candidates C6={string.Join(", ", candidates.Select((c, i) => $"{c.Categorical[5]} {ctrs[i]:F4}"))} -> serve C6={candidates[best].Categorical[5]} ({label})"));
        var current = predictor.CurrentModel!.Version;

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
