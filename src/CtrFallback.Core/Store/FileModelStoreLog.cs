using Microsoft.Extensions.Logging;

namespace CtrFallback.Store;

/// <summary>The file model store's log messages; event ids 1500–1549 belong to it.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Registered model {ModelName} version {Version} (artifact SHA-256 {Sha256}) in file store {Root}.")]
    public static partial void VersionRegistered(ILogger logger, string modelName, int version, string sha256, string root);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Debug, Message = "Model {ModelName} version {Version} was claimed by another writer first; trying the next number.")]
    public static partial void VersionNumberTaken(ILogger logger, string modelName, int version);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Registering a version of model {ModelName} was abandoned before it became visible; its staging folder is removed.")]
    public static partial void RegistrationAbandoned(ILogger logger, string modelName, Exception exception);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Information, Message = "Removed the staging folder {Path} of model {ModelName} left by a registration that did not finish (crashed or killed).")]
    public static partial void AbandonedStagingRemoved(ILogger logger, string modelName, string path);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Warning, Message = "Could not remove the staging folder {Path} of model {ModelName}; readers ignore it and a later registration retries.")]
    public static partial void StagingCleanupFailed(ILogger logger, string modelName, string path, Exception exception);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Information, Message = "Alias {Alias} of model {ModelName} now points to version {Version}.")]
    public static partial void AliasSet(ILogger logger, string modelName, string alias, int version);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Debug, Message = "Set tag {Key} on model {ModelName} version {Version}.")]
    public static partial void VersionTagSet(ILogger logger, string modelName, int version, string key);

    [LoggerMessage(EventId = 1507, Level = LogLevel.Error, Message = "Model {ModelName} version {Version}: artifact SHA-256 {Actual} does not match the recorded {Expected}.")]
    public static partial void ArtifactIntegrityFailed(ILogger logger, string modelName, int version, string expected, string actual);
}
