using Microsoft.Extensions.Logging;

namespace CtrFallback.MLflow;

/// <summary>The MLflow store's log messages; event ids 5100–5199 belong to this package.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "Registering a version of model {ModelName} in MLflow experiment {ExperimentName} (run {RunId}).")]
    public static partial void RegistrationStarted(ILogger logger, string modelName, string experimentName, string runId);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Registered MLflow model {ModelName} version {Version} from run {RunId} (artifact SHA-256 {Sha256}).")]
    public static partial void VersionRegistered(ILogger logger, string modelName, int version, string runId, string sha256);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Error, Message = "Registering model {ModelName} in MLflow failed in run {RunId}; no model version was created and the run is marked FAILED (KILLED when cancelled).")]
    public static partial void RegistrationFailed(ILogger logger, string modelName, string runId, Exception exception);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Could not mark MLflow run {RunId} as {Status}.")]
    public static partial void RunStatusNotUpdated(ILogger logger, string runId, string status, Exception exception);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Information, Message = "Alias {Alias} of MLflow model {ModelName} now points to version {Version}.")]
    public static partial void AliasSet(ILogger logger, string modelName, string alias, int version);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Error, Message = "MLflow model {ModelName} version {Version}: artifact SHA-256 {Actual} does not match the recorded {Expected}.")]
    public static partial void ArtifactIntegrityFailed(ILogger logger, string modelName, int version, string expected, string actual);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Debug, Message = "MLflow call {Call} answered HTTP {StatusCode} {ErrorCode}.")]
    public static partial void CallFailed(ILogger logger, string call, int statusCode, string? errorCode);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Warning, Message = "MLflow call {Call} did not reach the server.")]
    public static partial void CallUnreachable(ILogger logger, string call, Exception exception);

    [LoggerMessage(EventId = 5108, Level = LogLevel.Error, Message = "Creating MLflow model {ModelName}'s version from run {RunId} failed after its artifacts were uploaded; the run is marked FAILED. If the server did create the version before failing, that version is complete (artifacts and SHA-256 tag are in place).")]
    public static partial void VersionCreateFailed(ILogger logger, string modelName, string runId, Exception exception);

    [LoggerMessage(EventId = 5109, Level = LogLevel.Warning, Message = "MLflow call {Call} failed transiently ({Reason}); attempt {Attempt} follows in {Delay}.")]
    public static partial void CallRetried(ILogger logger, string call, int attempt, TimeSpan delay, string reason);

    [LoggerMessage(EventId = 5110, Level = LogLevel.Warning, Message = "MLflow call {Call}: an earlier attempt had committed before its answer was lost; attempt {Attempt} found the result and did not create it again.")]
    public static partial void CreateFoundCommitted(ILogger logger, string call, int attempt);
}
