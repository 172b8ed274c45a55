using Microsoft.Extensions.Logging;

namespace CtrFallback.Argo;

/// <summary>The Argo trigger's log messages; event ids 6100-6199 are reserved for CtrFallback.Argo.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6100, Level = LogLevel.Information,
        Message = "Asked Argo Rollout {Namespace}/{Rollout} to restart at {RestartAt} for {ModelName} version {Version} ({Alias})")]
    public static partial void RestartRequested(ILogger logger, string @namespace, string rollout, string restartAt, string modelName, int version, string alias);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning,
        Message = "Kubernetes API call '{Verb}' on Rollout {Namespace}/{Rollout} failed transiently (attempt {Attempt}); retrying in {Delay}")]
    public static partial void TransientFailure(ILogger logger, Exception exception, string verb, string @namespace, string rollout, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Debug,
        Message = "Rollout {Namespace}/{Rollout}: phase {Phase}, generation {Generation} observed {ObservedGeneration}, restartedAt {RestartedAt}: {StatusMessage}")]
    public static partial void RolloutObserved(ILogger logger, string @namespace, string rollout, string? phase, long? generation, string? observedGeneration, string? restartedAt, string? statusMessage);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Information,
        Message = "Argo Rollout {Namespace}/{Rollout}: {What} done, Healthy")]
    public static partial void RolloutSucceeded(ILogger logger, string @namespace, string rollout, string what);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Error,
        Message = "Argo Rollout {Namespace}/{Rollout} {What} failed: {Reason}")]
    public static partial void RolloutFailed(ILogger logger, string @namespace, string rollout, string what, string reason);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Error,
        Message = "Argo Rollout {Namespace}/{Rollout} {What} timed out: {Reason}")]
    public static partial void RolloutTimedOut(ILogger logger, string @namespace, string rollout, string what, string reason);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Information,
        Message = "Set {Variable}={Version} in the pod template of Argo Rollout {Namespace}/{Rollout} for {ModelName} ({Alias}); generation {Generation}")]
    public static partial void VersionPinned(ILogger logger, string @namespace, string rollout, string variable, int version, string modelName, string alias, long? generation);
}
