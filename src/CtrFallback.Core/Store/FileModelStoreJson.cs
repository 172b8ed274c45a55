using System.Text.Json.Serialization;

namespace CtrFallback.Store;

/// <summary>The immutable <c>version.json</c> of a version; its number is its folder's name, claimed at commit.</summary>
internal sealed record StoredVersion(
    int Format,
    string ModelName,
    DateTimeOffset CreatedAt,
    string ArtifactSha256,
    long ArtifactLength,
    Dictionary<string, double> Metrics,
    Dictionary<string, string> Parameters,
    Dictionary<string, string> Tags,
    List<GateCriterionResult>? Gate,
    string? DataFingerprint,
    List<string> Attachments);

/// <summary>An alias file's content.</summary>
internal sealed record StoredAlias(int Version, DateTimeOffset SetAt);

// Metrics may be NaN (for example calibration on a holdout without clicks), which plain JSON numbers cannot carry.
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(StoredVersion))]
[JsonSerializable(typeof(StoredAlias))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class FileModelStoreJsonContext : JsonSerializerContext;
