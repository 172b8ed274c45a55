using Microsoft.Extensions.Logging;

namespace CtrFallback.Serving;

/// <summary>Serving's log messages; event ids 3000–3099 belong to Core's serving stage.</summary>
internal static partial class ServingLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Serving model {Label} (artifact SHA-256 {Sha256}), loaded and warmed in {Milliseconds} ms; was {Previous}.")]
    public static partial void ChampionLoaded(ILogger logger, string label, string sha256, long milliseconds, string previous);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Could not load version {Label} ({Reason}); the current model {Current} keeps serving.")]
    public static partial void ChampionRejected(ILogger logger, string label, string reason, string current, Exception? exception);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Could not look up {Alias} of model {ModelName} ({Reason}); the current model {Current} keeps serving.")]
    public static partial void AliasLookupFailed(ILogger logger, string modelName, string alias, string reason, string current, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Model {ModelName} has no {Alias} yet; not ready until it has one.")]
    public static partial void NoChampion(ILogger logger, string modelName, string alias);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Alias still points at {Label}, which was rejected before; waiting for the alias to move.")]
    public static partial void StillRejected(ILogger logger, string label);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Prediction engine pool {ModelName}: model reloaded (generation {Generation}).")]
    public static partial void PoolReloaded(ILogger logger, string modelName, long generation);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Error, Message = "Model loader for {Source} could not load a model; the previous one (if any) stays.")]
    public static partial void LoaderFailed(ILogger logger, string source, Exception exception);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Model loader for {Source} loaded a new model ({Detail}).")]
    public static partial void LoaderLoaded(ILogger logger, string source, string detail);
}
