using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CtrFallback.Promotion;
using CtrFallback.Serving;

namespace CtrFallback.Cli;

/// <summary>models, promote, rollback and predict: the lifecycle commands over the configured store.</summary>
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
            }, Output.Json));
        }
        else
        {
            Console.WriteLine($"champion      {change.Version.Label} (was {(change.PreviousVersion is { } p ? $"v{p}" : "none")})");
            Console.WriteLine($"deployment    {change.Deployment.Status}: {change.Deployment.Message}");
        }

        return change.Deployment.IsSuccess ? 0 : 3;
    }
}
