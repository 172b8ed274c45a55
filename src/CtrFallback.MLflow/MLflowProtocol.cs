using System.Text.Json.Serialization;

namespace CtrFallback.MLflow;

// The subset of MLflow's REST messages this store uses (see /api/2.0/mlflow). Unset fields are omitted by the server,
// so every collection in a response is nullable and read with `?? []`.
#pragma warning disable SA1649, SA1402 // Many small wire types belong together.

internal sealed record KeyValue(string Key, string Value);

internal sealed record MetricValue(string Key, double Value, long Timestamp, long Step);

internal sealed record CreateExperimentRequest(string Name);

internal sealed record CreateRunRequest(string ExperimentId, string RunName, long StartTime, string UserId, IReadOnlyList<KeyValue> Tags);

internal sealed record SearchRunsRequest(IReadOnlyList<string> ExperimentIds, string Filter, int MaxResults);

internal sealed record SearchRunsResponse(IReadOnlyList<Run>? Runs, string? NextPageToken);

internal sealed record LogBatchRequest(string RunId, IReadOnlyList<MetricValue> Metrics, IReadOnlyList<KeyValue> Params, IReadOnlyList<KeyValue> Tags);

internal sealed record UpdateRunRequest(string RunId, string Status, long EndTime);

internal sealed record RegisteredModelNameRequest(string Name);

internal sealed record CreateModelVersionRequest(string Name, string Source, string RunId, IReadOnlyList<KeyValue> Tags);

internal sealed record SetAliasRequest(string Name, string Alias, string Version);

internal sealed record SetModelVersionTagRequest(string Name, string Version, string Key, string Value);

internal sealed record ModelVersionKeyRequest(string Name, string Version);

internal sealed record EmptyResponse;

internal sealed record ErrorResponse(string? ErrorCode, string? Message);

internal sealed record Experiment(string? ExperimentId, string? Name, string? ArtifactLocation, string? LifecycleStage);

internal sealed record ExperimentResponse(Experiment? Experiment);

internal sealed record CreateExperimentResponse(string? ExperimentId);

internal sealed record RunInfo(string? RunId, string? ExperimentId, string? Status, string? ArtifactUri, long? StartTime);

internal sealed record RunData(IReadOnlyList<MetricValue>? Metrics, IReadOnlyList<KeyValue>? Params, IReadOnlyList<KeyValue>? Tags);

internal sealed record Run(RunInfo? Info, RunData? Data);

internal sealed record RunResponse(Run? Run);

internal sealed record RegisteredModelAlias(string Alias, string Version);

internal sealed record RegisteredModel(string? Name, IReadOnlyList<RegisteredModelAlias>? Aliases);

internal sealed record RegisteredModelResponse(RegisteredModel? RegisteredModel);

internal sealed record MlflowModelVersion(
    string? Name,
    string? Version,
    long? CreationTimestamp,
    string? Source,
    string? RunId,
    string? Status,
    IReadOnlyList<KeyValue>? Tags,
    IReadOnlyList<string>? Aliases);

internal sealed record ModelVersionResponse(MlflowModelVersion? ModelVersion);

internal sealed record SearchModelVersionsResponse(IReadOnlyList<MlflowModelVersion>? ModelVersions, string? NextPageToken);

internal sealed record ArtifactFile(string? Path, bool IsDir, long? FileSize);

internal sealed record ListArtifactsResponse(IReadOnlyList<ArtifactFile>? Files);

/// <summary>MLflow's wire format: snake_case names, omitted nulls, NaN as the string "NaN".</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals | JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(CreateExperimentRequest))]
[JsonSerializable(typeof(CreateRunRequest))]
[JsonSerializable(typeof(SearchRunsRequest))]
[JsonSerializable(typeof(SearchRunsResponse))]
[JsonSerializable(typeof(LogBatchRequest))]
[JsonSerializable(typeof(UpdateRunRequest))]
[JsonSerializable(typeof(RegisteredModelNameRequest))]
[JsonSerializable(typeof(CreateModelVersionRequest))]
[JsonSerializable(typeof(SetAliasRequest))]
[JsonSerializable(typeof(SetModelVersionTagRequest))]
[JsonSerializable(typeof(ModelVersionKeyRequest))]
[JsonSerializable(typeof(EmptyResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(ExperimentResponse))]
[JsonSerializable(typeof(CreateExperimentResponse))]
[JsonSerializable(typeof(RunResponse))]
[JsonSerializable(typeof(RegisteredModelResponse))]
[JsonSerializable(typeof(ModelVersionResponse))]
[JsonSerializable(typeof(SearchModelVersionsResponse))]
[JsonSerializable(typeof(ListArtifactsResponse))]
internal sealed partial class MLflowJsonContext : JsonSerializerContext;

/// <summary>The metadata document stored beside the model artifact (<c>model/metadata.json</c>), for people and tools browsing MLflow.</summary>
internal sealed record ArtifactMetadata(
    string Format,
    string ModelName,
    string ArtifactFile,
    string ArtifactSha256,
    long ArtifactBytes,
    DateTimeOffset CreatedAt,
    string RunId,
    IReadOnlyDictionary<string, double>? Metrics,
    IReadOnlyDictionary<string, string>? Parameters,
    IReadOnlyDictionary<string, string>? Tags,
    GateDecision? Gate,
    string? DataFingerprint,
    IReadOnlyList<string> Attachments);

/// <summary>CtrFallback's own documents (metadata, gate criteria): camelCase; use <see cref="Compact"/> or <see cref="Indented"/> to write.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ArtifactMetadata))]
[JsonSerializable(typeof(IReadOnlyList<GateCriterionResult>))]
internal sealed partial class CtrFallbackJsonContext : JsonSerializerContext
{
    /// <summary>On one line, for values kept in MLflow tags.</summary>
    public static CtrFallbackJsonContext Compact { get; } = new(ReadableOptions(indented: false));

    /// <summary>Indented, for files people open (<c>metadata.json</c>).</summary>
    public static CtrFallbackJsonContext Indented { get; } = new(ReadableOptions(indented: true));

    // Relaxed escaping keeps "AUC 0.77 >= 0.70" readable in the MLflow UI; these documents are never embedded in HTML by us.
    private static System.Text.Json.JsonSerializerOptions ReadableOptions(bool indented) => new()
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = indented,
    };
}
