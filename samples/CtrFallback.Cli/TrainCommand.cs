using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using CtrFallback.Data;
using CtrFallback.Training;

namespace CtrFallback.Cli;

internal static class TrainCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var files = args.Required("--data").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var schema = SchemaOptions.Read(args);
        var json = args.Flag("--json");
        var training = TrainingOptionsFrom(args);
        using var provider = Services.Build(args, quiet: json, training);
        args.EnsureAllUsed();

        var job = provider.GetRequiredService<ITrainingJob>();
        using var progress = Progress.ForRows(json);
        var result = await job.RunAsync(new TrainingJobRequest(files, schema), progress, cancellationToken);
        Output.Training(result.Training, json, new Dictionary<string, object?>
        {
            ["version"] = result.Version.Version,
            ["promoted"] = result.Promoted,
            ["previousChampion"] = result.PreviousChampion,
            ["gate"] = Output.Gate(result.Gate),
            ["deployment"] = result.Deployment is { } d ? new { status = d.Status.ToString(), message = d.Message } : null,
        });
        if (!json)
        {
            Output.Decision(result);
        }

        return result.Deployment is { IsSuccess: false } ? 3 : 0;
    }

    public static Action<TrainingOptions> TrainingOptionsFrom(CommandLine args)
    {
        var trainer = args.String("--trainer");
        var holdout = args.Double("--holdout-fraction");
        var malformed = args.Double("--max-malformed");
        var rate = args.Double("--negative-sample-rate");
        var l2 = args.Double("--l2");
        var iterations = args.Long("--iterations");
        var threads = args.Long("--threads");
        var tolerance = args.Double("--tolerance");
        var checkFrequency = args.Long("--check-frequency");
        var temp = args.String("--temp-dir");
        var features = args.String("--features")?.ToLowerInvariant() switch
        {
            null => (FeatureSelection?)null,
            "schema" => FeatureSelection.Schema,
            "auto" => FeatureSelection.Auto,
            var other => throw new UsageException($"--features must be schema or auto, got '{other}'"),
        };
        var window = args.String("--window");
        var kind = trainer?.ToLowerInvariant() switch
        {
            null => (CtrTrainerKind?)null,
            "sdca" => CtrTrainerKind.Sdca,
            "sgd" => CtrTrainerKind.Sgd,
            "lightgbm" => CtrTrainerKind.LightGbm,
            _ => throw new UsageException($"--trainer must be sdca, sgd or lightgbm, got '{trainer}'"),
        };
        return o =>
        {
            o.Trainer = kind ?? o.Trainer;
            o.HoldoutFraction = holdout ?? o.HoldoutFraction;
            o.MaxMalformedFraction = malformed ?? o.MaxMalformedFraction;
            o.NegativeSampleRate = rate ?? o.NegativeSampleRate;
            o.L2Regularization = l2 is { } v ? (float)v : o.L2Regularization;
            o.Iterations = iterations is { } n ? (int)n : o.Iterations;
            o.Threads = threads is { } t ? (int)t : o.Threads;
            o.ConvergenceTolerance = tolerance ?? o.ConvergenceTolerance;
            o.ConvergenceCheckFrequency = checkFrequency is { } f ? (int)f : o.ConvergenceCheckFrequency;
            o.TempDirectory = temp ?? o.TempDirectory;
            o.Features = features ?? o.Features;
            o.Window = window ?? o.Window;
        };
    }
}

internal static class SchemaOptions
{
    public static ClickLogSchema Read(CommandLine args)
    {
        var format = args.String("--format");
        var schemaFile = args.String("--schema");
        var bits = args.Long("--hash-bits");
        if (format is not null && schemaFile is not null)
        {
            throw new UsageException("give either --format or --schema, not both");
        }

        var schema = schemaFile is not null ? ClickLogSchema.Load(schemaFile) : ClickLogSchema.FromPreset(format ?? "criteo");
        if (bits is { } b)
        {
            schema = schema with { HashBits = (int)b };
            schema.Validate("--hash-bits");
        }

        return schema;
    }
}

internal sealed class Progress : IProgress<long>, IDisposable
{
    private readonly bool _enabled;
    private long _last;

    private Progress(bool enabled) => _enabled = enabled;

    /// <summary>A row counter on stderr, only when stdout and stderr are a terminal and the output is not JSON.</summary>
    public static Progress ForRows(bool json) => new(!json && !Console.IsOutputRedirected && !Console.IsErrorRedirected);

    public void Report(long value)
    {
        if (_enabled && value - _last >= 100_000)
        {
            _last = value;
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\rread {value:N0} rows"));
        }
    }

    public void Dispose()
    {
        if (_enabled && _last > 0)
        {
            Console.Error.WriteLine();
        }
    }
}

internal static class Output
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static object Gate(GateDecision gate) => new
    {
        passed = gate.Passed,
        reasons = gate.Reasons.ToArray(),
        criteria = gate.Criteria.Select(c => new { name = c.Criterion, passed = c.Passed, reason = c.Reason }).ToArray(),
    };

    public static void Decision(TrainingJobResult result)
    {
        Console.WriteLine($"gate          {(result.Gate.Passed ? "PASSED" : "FAILED")}{(result.PreviousChampion is { } c ? $" (judged against champion v{c} on the same holdout)" : " (no champion yet: absolute criteria only)")}");
        foreach (var reason in result.Gate.Reasons)
        {
            Console.WriteLine($"  {reason}");
        }

        Console.WriteLine(result.Promoted
            ? $"registered    {result.Version.Label}, now '{ModelAliases.Champion}'"
            : $"registered    {result.Version.Label} with its gate result; '{ModelAliases.Champion}' is unchanged{(result.PreviousChampion is { } p ? $" (v{p})" : string.Empty)}");
        if (result.Deployment is { } d)
        {
            Console.WriteLine($"deployment    {d.Status}: {d.Message}");
        }
    }

    public static void Training(TrainingResult result, bool json, IDictionary<string, object?>? extra)
    {
        var m = result.Evaluation.Metrics;
        if (json)
        {
            var document = new Dictionary<string, object?>
            {
                ["metrics"] = new { auc = m.Auc, logLoss = m.LogLoss, normalizedEntropy = m.NormalizedEntropy, calibration = m.Calibration, rows = m.Rows, positives = m.Positives },
                ["calibrationByDecile"] = result.Evaluation.Calibration,
                ["stages"] = result.Stages.ToDictionary(s => s.Key, s => Math.Round(s.Value.TotalSeconds, 3)),
                ["rows"] = result.Rows,
                ["trainingRows"] = result.TrainingRows,
                ["malformedRows"] = result.MalformedRows,
                ["holdout"] = result.Holdout,
                ["dataFingerprint"] = result.DataFingerprint,
                ["parameters"] = result.Parameters,
            };
            if (result.ChampionEvaluation is { } c)
            {
                document["championMetrics"] = c.Metrics;
            }

            foreach (var (key, value) in extra ?? new Dictionary<string, object?>())
            {
                document[key] = value;
            }

            document.Remove("calibrationByDecile");
            document["calibrationByDecile"] = result.Evaluation.Calibration;

            Console.WriteLine(JsonSerializer.Serialize(document, Json));
            return;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rows          {result.Rows:N0} read, {result.TrainingRows:N0} trained on, {result.MalformedRows:N0} malformed"));
        Console.WriteLine($"holdout       {result.Holdout}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"AUC           {m.Auc:F4}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"log loss      {m.LogLoss:F4}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"NE            {m.NormalizedEntropy:F4}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calibration   {m.Calibration:F4}  ({m.Positives:N0} clicks in {m.Rows:N0} holdout rows)"));
        if (result.ChampionEvaluation is { } champion)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"champion      AUC {champion.Metrics.Auc:F4}, NE {champion.Metrics.NormalizedEntropy:F4} on the same holdout"));
        }

        Console.WriteLine("stages        " + string.Join(", ", result.Stages.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value.TotalSeconds:F1} s"))));
    }
}
