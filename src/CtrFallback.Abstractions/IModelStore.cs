namespace CtrFallback;

/// <summary>
/// Versioned models with aliases. Stores keep the model artifact as opaque bytes; only Core looks inside.
/// </summary>
/// <remarks>
/// Implementations guarantee: a version becomes visible only when complete; versions are immutable;
/// an alias moves atomically; the artifact's SHA-256 is verified on every download.
/// </remarks>
public interface IModelStore
{
    /// <summary>Registers a new immutable version of a model, creating the model if needed.</summary>
    /// <param name="registration">The artifact and what is known about it.</param>
    /// <param name="cancellationToken">Cancels the registration; nothing half-written becomes visible.</param>
    /// <returns>The registered version, with its number and artifact SHA-256.</returns>
    Task<ModelVersion> RegisterAsync(ModelRegistration registration, CancellationToken cancellationToken = default);

    /// <summary>Gets one version, or <see langword="null"/> when it does not exist.</summary>
    /// <param name="modelName">The registered model's name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default);

    /// <summary>Gets the version an alias points to, or <see langword="null"/> when the alias (or the model) does not exist.</summary>
    /// <param name="modelName">The registered model's name.</param>
    /// <param name="alias">The alias, for example <see cref="ModelAliases.Champion"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<ModelVersion?> GetVersionByAliasAsync(string modelName, string alias, CancellationToken cancellationToken = default);

    /// <summary>Lists every version of a model in ascending version order, each with its aliases; empty when the model does not exist.</summary>
    /// <param name="modelName">The registered model's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string modelName, CancellationToken cancellationToken = default);

    /// <summary>Points an alias at a version, atomically; creates the alias if needed.</summary>
    /// <param name="modelName">The registered model's name.</param>
    /// <param name="alias">The alias to move.</param>
    /// <param name="version">The version it must point to; it must exist.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task SetAliasAsync(string modelName, string alias, int version, CancellationToken cancellationToken = default);

    /// <summary>Sets (or overwrites) a tag on a version; the only mutable part of a version.</summary>
    /// <param name="modelName">The registered model's name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="key">The tag's key.</param>
    /// <param name="value">The tag's value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task SetVersionTagAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken = default);

    /// <summary>Downloads a version's model artifact and verifies its SHA-256.</summary>
    /// <param name="modelName">The registered model's name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The artifact's bytes.</returns>
    /// <exception cref="ModelArtifactIntegrityException">The bytes do not match the recorded SHA-256.</exception>
    /// <exception cref="ModelStoreException">The version does not exist or the store failed.</exception>
    Task<byte[]> DownloadArtifactAsync(string modelName, int version, CancellationToken cancellationToken = default);

    /// <summary>Downloads a file registered beside the artifact (for example an evaluation report), or <see langword="null"/> when there is none.</summary>
    /// <param name="modelName">The registered model's name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="fileName">The attachment's file name as registered.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    Task<byte[]?> DownloadAttachmentAsync(string modelName, int version, string fileName, CancellationToken cancellationToken = default);
}

/// <summary>Well-known alias names.</summary>
public static class ModelAliases
{
    /// <summary>The alias that points production at a model version.</summary>
    public const string Champion = "champion";
}

/// <summary>Well-known version tag keys written by CtrFallback.</summary>
public static class ModelTags
{
    /// <summary><c>true</c> or <c>false</c>: whether the version passed the promotion gate.</summary>
    public const string GatePassed = "ctrfallback.gate.passed";

    /// <summary>The gate's reasons, one per line.</summary>
    public const string GateReasons = "ctrfallback.gate.reasons";

    /// <summary>The artifact's SHA-256, lowercase hex.</summary>
    public const string ArtifactSha256 = "ctrfallback.artifact.sha256";

    /// <summary>When the version was last made champion (ISO 8601).</summary>
    /// <remarks>
    /// Promotion tags are written before the alias moves (the move is the commit point), so a version whose promotion
    /// failed may carry them without ever having been champion; only the alias says which version is champion.
    /// </remarks>
    public const string PromotedAt = "ctrfallback.promotedAt";

    /// <summary>Set to <c>true</c> when a rollback moved the champion away from this version.</summary>
    public const string RolledBack = "ctrfallback.rolledBack";

    /// <summary>
    /// The champion this version replaced when it was promoted (a version number, or <c>none</c>); rollback follows it.
    /// Meaningful on the current champion: on any other version it may describe a promotion that never completed.
    /// </summary>
    public const string PreviousChampion = "ctrfallback.previousChampion";
}

/// <summary>What a training batch hands a store to register.</summary>
/// <param name="ModelName">The registered model's name.</param>
/// <param name="Artifact">The model artifact: the bytes a server loads.</param>
/// <param name="Metrics">Holdout metrics, if evaluated.</param>
/// <param name="Parameters">Trainer and featurizer settings.</param>
/// <param name="Tags">Free-form tags.</param>
/// <param name="Gate">The promotion gate's decision, if the candidate was judged.</param>
/// <param name="DataFingerprint">A fingerprint of the training data (for example a SHA-256 of file names, sizes and times).</param>
/// <param name="Attachments">Further files kept with the version, by file name (for example <c>evaluation.html</c>).</param>
public sealed record ModelRegistration(
    string ModelName,
    ReadOnlyMemory<byte> Artifact,
    ModelMetrics? Metrics = null,
    IReadOnlyDictionary<string, string>? Parameters = null,
    IReadOnlyDictionary<string, string>? Tags = null,
    GateDecision? Gate = null,
    string? DataFingerprint = null,
    IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? Attachments = null);

/// <summary>One registered, immutable version of a model.</summary>
/// <param name="ModelName">The registered model's name.</param>
/// <param name="Version">The version number, from 1.</param>
/// <param name="CreatedAt">When the version was registered.</param>
/// <param name="ArtifactSha256">The artifact's SHA-256, lowercase hex.</param>
/// <param name="Metrics">Holdout metrics, if any (see <see cref="ModelMetrics.Names"/>).</param>
/// <param name="Parameters">Trainer and featurizer settings.</param>
/// <param name="Tags">Tags, including <see cref="ModelTags"/>.</param>
/// <param name="Aliases">The aliases pointing at this version.</param>
/// <param name="Gate">The promotion gate's decision, if the version was judged.</param>
/// <param name="DataFingerprint">The training data's fingerprint, if known.</param>
public sealed record ModelVersion(
    string ModelName,
    int Version,
    DateTimeOffset CreatedAt,
    string ArtifactSha256,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> Aliases,
    GateDecision? Gate = null,
    string? DataFingerprint = null)
{
    /// <summary>The holdout metrics as a record, or <see langword="null"/> when some are missing.</summary>
    public ModelMetrics? HoldoutMetrics => ModelMetrics.FromDictionary(Metrics);

    /// <summary>A label such as <c>ctr/3</c>, as reported with every prediction.</summary>
    public string Label => $"{ModelName}/{Version}";
}

/// <summary>A model store call failed; the message names the call.</summary>
public class ModelStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelStoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public ModelStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public ModelStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A downloaded artifact does not match its recorded SHA-256.</summary>
public sealed class ModelArtifactIntegrityException : ModelStoreException
{
    /// <summary>Creates the exception.</summary>
    public ModelArtifactIntegrityException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public ModelArtifactIntegrityException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public ModelArtifactIntegrityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
