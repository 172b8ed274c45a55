using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CtrFallback.Evaluation;
using CtrFallback.Promotion;
using CtrFallback.Serving;

namespace CtrFallback.Cli;

/// <summary>models, history, promote, rollback and predict: the lifecycle commands over the configured store.</summary>
internal static class ModelCommands
{
    public static async Task<int> ModelsAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var json = args.Flag("--json");
        using var provider = Services.Build(args, quiet: true);
        args.EnsureAllUsed();
        var store = provider.GetRequiredService<IModelStore>();
        var model = provider.GetRequiredService<IOptions<CtrFallbackOptions>>().Value.ModelName;
        var versions = await store.ListVersionsAsync(model, cancellationToken);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(versions.Select(v => new
            {
                version = v.Version,
                aliases = v.Aliases,
                metrics = v.Metrics,
                gate = v.Gate is { } g ? Output.Gate(g) : null,
                createdAt = v.CreatedAt,
                artifactSha256 = v.ArtifactSha256,
            }), Output.Json));
            return 0;
        }

        if (versions.Count == 0)
        {
            Console.WriteLine($"{model}: no versions yet (train one with 'ctrfallback train').");
            return 0;
        }

        Console.WriteLine($"{"version",-8} {"aliases",-12} {"AUC",-7} {"NE",-7} {"calib",-7} {"gate",-6} created");
        foreach (var v in versions)
        {
            var m = v.HoldoutMetrics;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{v.Version,-8} {string.Join(',', v.Aliases),-12} {m?.Auc,-7:F4} {m?.NormalizedEntropy,-7:F4} {m?.Calibration,-7:F4} {(v.Gate is null ? "-" : v.Gate.Passed ? "PASS" : "FAIL"),-6} {v.CreatedAt:yyyy-MM-dd HH:mm:ss}"));
        }

        return 0;
    }

    public static async Task<int> HistoryAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var json = args.Flag("--json");
        using var provider = Services.Build(args, quiet: true);
        args.EnsureAllUsed();
        var store = provider.GetRequiredService<IModelStore>();
        var model = provider.GetRequiredService<IOptions<CtrFallbackOptions>>().Value.ModelName;
        var runs = await ChampionHistory.ReadAsync(store, model, cancellationToken);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(runs.Select(r => new
            {
                version = r.Version,
                trainedAt = r.TrainedAt,
                holdout = r.Holdout,
                champion = r.Champion,
                championMetrics = r.ChampionMetrics,
                candidateMetrics = r.CandidateMetrics,
                gatePassed = r.GatePassed,
            }), Output.Json));
            return 0;
        }

        if (runs.Count == 0)
        {
            Console.WriteLine($"{model}: no training runs yet (train one with 'ctrfallback train').");
            return 0;
        }

        Console.WriteLine($"{model}: the champion on each run's newest holdout (AUC higher is better, NE lower, calibration 1 is ideal)");
        Console.WriteLine($"{"run",-5} {"trained",-16} {"champion",-9} {"AUC",-7} {"NE",-7} {"calib",-7} | {"candidate AUC",-13} {"NE",-7} {"calib",-7} {"gate",-5}");
        foreach (var r in runs)
        {
            var c = r.ChampionMetrics;
            var n = r.CandidateMetrics;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"v" + r.Version,-5} {r.TrainedAt:yyyy-MM-dd HH:mm} {(r.Champion is { } v ? "v" + v : "none"),-9} {Cell(c?.Auc),-7} {Cell(c?.NormalizedEntropy),-7} {Cell(c?.Calibration),-7} | {Cell(n?.Auc),-13} {Cell(n?.NormalizedEntropy),-7} {Cell(n?.Calibration),-7} {(r.GatePassed is null ? "-" : r.GatePassed.Value ? "PASS" : "FAIL"),-5}"));
        }

        // Decay per champion: its first scored run against its latest, while it stayed champion.
        foreach (var group in runs.Where(r => r is { Champion: not null, ChampionMetrics: not null }).GroupBy(r => r.Champion!.Value))
        {
            var (first, last) = (group.First().ChampionMetrics!, group.Last().ChampionMetrics!);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"champion v{group.Key} over {group.Count()} run(s): AUC {first.Auc:F4} -> {last.Auc:F4} ({last.Auc - first.Auc:+0.0000;-0.0000}), NE {first.NormalizedEntropy:F4} -> {last.NormalizedEntropy:F4}, calibration {first.Calibration:F4} -> {last.Calibration:F4}"));
        }

        return 0;

        static string Cell(double? value) => value is { } v ? v.ToString("F4", CultureInfo.InvariantCulture) : "-";
    }

    public static async Task<int> PromoteAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var version = (int)(args.Long("--version") ?? throw new UsageException("--version is required"));
        var force = args.Flag("--force");
        var json = args.Flag("--json");
        using var provider = Services.Build(args, quiet: json);
        args.EnsureAllUsed();
        var change = await provider.GetRequiredService<IChampionManager>().PromoteAsync(version, force, cancellationToken);
        return Report(change, json);
    }

    public static async Task<int> RollbackAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var json = args.Flag("--json");
        using var provider = Services.Build(args, quiet: json);
        args.EnsureAllUsed();
        var change = await provider.GetRequiredService<IChampionManager>().RollbackAsync(cancellationToken);
        return Report(change, json);
    }

    public static async Task<int> PredictAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var files = args.Required("--data").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var schema = SchemaOptions.Read(args);
        var which = args.String("--model") ?? ModelAliases.Champion;
        var outPath = args.String("--out");
        using var provider = Services.Build(args, quiet: true);
        args.EnsureAllUsed();
        var store = provider.GetRequiredService<IModelStore>();
        var model = provider.GetRequiredService<IOptions<CtrFallbackOptions>>().Value.ModelName;
        var version = int.TryParse(which, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? await store.GetVersionAsync(model, number, cancellationToken) ?? throw new ModelStoreException($"{model} has no version {number}.")
            : await store.GetVersionByAliasAsync(model, which, cancellationToken) ?? throw new ModelStoreException($"{model} has no '{which}' yet: train or promote a version first.");
        var artifact = await store.DownloadArtifactAsync(model, version.Version, cancellationToken);
        await using var output = outPath is null ? Console.Out : new StreamWriter(outPath);
        var scores = ClickLogScoring.Score(artifact, schema, files, output, cancellationToken);
        await output.FlushAsync(cancellationToken);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scored {scores.Rows:N0} rows with {version.Label}: mean predicted CTR {scores.MeanPredictedCtr:F4}, observed {scores.ObservedCtr:F4}; {scores.MalformedRows:N0} malformed rows skipped"));
        foreach (var row in scores.MalformedExamples)
        {
            Console.Error.WriteLine($"  {row}");
        }

        return 0;
    }

    private static int Report(ChampionChange change, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                previous = change.PreviousVersion,
                champion = change.Version.Version,
                deployment = new { status = change.Deployment.Status.ToString(), message = change.Deployment.Message },
                rollback = change.Rollback is { } back
                    ? new { champion = back.Version.Version, deployment = new { status = back.Deployment.Status.ToString(), message = back.Deployment.Message } }
                    : null,
            }, Output.Json));
        }
        else
        {
            Console.WriteLine($"champion      {change.Version.Label} (was {(change.PreviousVersion is { } p ? $"v{p}" : "none")})");
            Console.WriteLine($"deployment    {change.Deployment.Status}: {change.Deployment.Message}");
            if (change.Rollback is { } back)
            {
                Console.WriteLine($"rolled back   champion is {back.Version.Label} again (the rollout was aborted); its rollout: {back.Deployment.Status}");
            }
        }

        return change.Deployment.IsSuccess ? 0 : 3;
    }
}
