using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CtrFallback.MLflow;

/// <summary>
/// An <see cref="IModelStore"/> over MLflow's tracking server and Model Registry: each registration is an MLflow run
/// (params, metrics, tags, artifacts through the <c>mlflow-artifacts</c> proxy) and a model version whose source is
/// that run's <c>model</c> directory.
/// </summary>
/// <remarks>
/// Completeness: the model version is created only after every artifact is uploaded and the run is closed, and it is
/// created with its SHA-256 and gate tags in the same call; a reader that finds a version therefore finds it complete.
/// A failure before that point leaves only a FAILED run, which no reader looks at.
/// <para>
/// Writes that happen once: every create (experiment, run, registered model, model version) may be retried after a lost
/// reply, and each retry first looks for what the server already committed: the experiment or registered model by name,
/// the run by the registration id tag it was created with (<see cref="RegistrationIdTag"/>), the model version by its run
/// id and artifact SHA-256 tag. Setting an alias or a tag, logging a batch and uploading a file are idempotent and retried as they are.
/// </para>
/// </remarks>
internal sealed class MLflowModelStore : IModelStore
{
    /// <summary>The name of the <see cref="HttpClient"/> configured for this store.</summary>
    public const string HttpClientName = "CtrFallback.MLflow";

    internal const string ModelDirectory = "model";
    internal const string ArtifactFileName = "model.ctrfallback";
    internal const string MetadataFileName = "metadata.json";
    internal const string DescriptorFileName = "MLmodel";
    internal const string AttachmentsDirectory = "attachments";
    internal const string DataFingerprintParam = "ctrfallback.dataFingerprint";
    internal const string GateCriteriaTag = "ctrfallback.gate.criteria";
    internal const string ModelNameTag = "ctrfallback.model";

    /// <summary>A run tag with a client-generated id per registration, so a retried runs/create can find the run an earlier attempt created.</summary>
    internal const string RegistrationIdTag = "ctrfallback.registrationId";

    // MLflow's log-batch limits per request.
    private const int MaxParamsPerBatch = 100;
    private const int MaxTagsPerBatch = 100;

    // MLflow rejects longer model version tag values; the full reasons stay in the run's gate criteria tag.
    private const int MaxRegistryTagValueLength = 5000;

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly IOptions<MLflowModelStoreOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<MLflowModelStore> _logger;
    private readonly Polly.ResiliencePipeline _pipeline;

    public MLflowModelStore(
        IHttpClientFactory httpClientFactory,
        IOptions<MLflowModelStoreOptions> options,
        TimeProvider timeProvider,
        ILogger<MLflowModelStore> logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _pipeline = MLflowRestClient.BuildPipeline(options.Value, timeProvider, logger);
    }

    /// <inheritdoc />
    public async Task<ModelVersion> RegisterAsync(ModelRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentException.ThrowIfNullOrWhiteSpace(registration.ModelName, nameof(registration));
        foreach (var fileName in registration.Attachments?.Keys ?? [])
        {
            ValidateAttachmentName(fileName);
        }

        var client = CreateClient();
        var options = _options.Value;
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(registration.Artifact.Span));
        var createdAt = _timeProvider.GetUtcNow();
        var registrationId = Guid.NewGuid().ToString("N");

        var experimentId = await EnsureExperimentAsync(client, options.ExperimentName, cancellationToken).ConfigureAwait(false);
        var run = (await client.CreateAsync(
            "runs/create",
            new CreateRunRequest(
                experimentId,
                $"{registration.ModelName}-{createdAt:yyyyMMdd-HHmmss}",
                createdAt.ToUnixTimeMilliseconds(),
                Environment.UserName,
                [
                    new KeyValue(ModelNameTag, registration.ModelName),
                    new KeyValue(RegistrationIdTag, registrationId),

                    // What MLflow's own clients set, so the UI shows who and what logged the run.
                    new KeyValue("mlflow.user", Environment.UserName),
                    new KeyValue("mlflow.source.type", "JOB"),
                    new KeyValue("mlflow.source.name", System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "CtrFallback"),
                ]),
            MLflowJsonContext.Default.CreateRunRequest,
            MLflowJsonContext.Default.RunResponse,
            (lookup, ct) => FindRunAsync(lookup, experimentId, registrationId, ct),
            cancellationToken).ConfigureAwait(false)).Run?.Info;
        if (run?.RunId is not { Length: > 0 } runId || run.ArtifactUri is not { Length: > 0 } artifactUri)
        {
            throw new ModelStoreException("MLflow call POST runs/create answered without a run_id or artifact_uri.");
        }

        Log.RegistrationStarted(_logger, registration.ModelName, options.ExperimentName, runId);
        var source = artifactUri.TrimEnd('/') + "/" + ModelDirectory;
        var versionTags = VersionTags(registration, sha256);

        try
        {
            await LogRunAsync(client, runId, registration, versionTags, createdAt, cancellationToken).ConfigureAwait(false);
            await UploadArtifactsAsync(client, runId, source, registration, sha256, createdAt, cancellationToken).ConfigureAwait(false);
            await UpdateRunAsync(client, runId, "FINISHED", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // No model version exists yet, so no reader can see this registration; the run stays as a FAILED (or,
            // when the caller cancelled, KILLED) record.
            Log.RegistrationFailed(_logger, registration.ModelName, runId, ex);
            await TryUpdateRunAsync(client, runId, EndStatus(ex, cancellationToken)).ConfigureAwait(false);
            throw;
        }

        MlflowModelVersion created;
        try
        {
            await EnsureRegisteredModelAsync(client, registration.ModelName, cancellationToken).ConfigureAwait(false);
            created = (await client.CreateAsync(
                "model-versions/create",
                new CreateModelVersionRequest(registration.ModelName, source, runId, [.. versionTags.Select(t => new KeyValue(t.Key, t.Value))]),
                MLflowJsonContext.Default.CreateModelVersionRequest,
                MLflowJsonContext.Default.ModelVersionResponse,
                (lookup, ct) => FindVersionOfRunAsync(lookup, registration.ModelName, runId, sha256, ct),
                cancellationToken).ConfigureAwait(false)).ModelVersion
                ?? throw new ModelStoreException("MLflow call POST model-versions/create answered without a model_version.");
        }
        catch (Exception ex)
        {
            Log.VersionCreateFailed(_logger, registration.ModelName, runId, ex);
            await TryUpdateRunAsync(client, runId, EndStatus(ex, cancellationToken)).ConfigureAwait(false);
            await TryDeleteVersionsOfRunAsync(client, registration.ModelName, runId).ConfigureAwait(false);
            throw;
        }

        // Built from what was sent and the create answer: nothing after the create call can fail the registration.
        var version = ParseVersion(created.Version, "POST model-versions/create");
        Log.VersionRegistered(_logger, registration.ModelName, version, runId, sha256);
        return new ModelVersion(
            registration.ModelName,
            version,
            created.CreationTimestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : createdAt,
            sha256,
            registration.Metrics?.ToDictionary() ?? new Dictionary<string, double>(),
            registration.Parameters is null ? new Dictionary<string, string>() : new Dictionary<string, string>(registration.Parameters),
            ToDictionary(created.Tags) is { Count: > 0 } tags ? tags : versionTags,
            [],
            registration.Gate,
            registration.DataFingerprint);
    }

    /// <inheritdoc />
    public async Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        if (version < 1)
        {
            return null;
        }

        var client = CreateClient();
        var found = await TryGetModelVersionAsync(client, modelName, version, cancellationToken).ConfigureAwait(false);
        return found is null ? null : await ToModelVersionAsync(client, found, found.Aliases ?? [], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ModelVersion?> GetVersionByAliasAsync(string modelName, string alias, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentException.ThrowIfNullOrWhiteSpace(alias);
        var client = CreateClient();
        MlflowModelVersion? found;
        try
        {
            found = (await client.GetAsync(
                "registered-models/alias",
                [new("name", modelName), new("alias", alias)],
                MLflowJsonContext.Default.ModelVersionResponse,
                cancellationToken).ConfigureAwait(false)).ModelVersion;
        }
        catch (MLflowException ex) when (ex.Is(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE") || ex.IsNotFound())
        {
            // MLflow answers an unknown alias with 400 INVALID_PARAMETER_VALUE, and a missing model (or an alias left
            // dangling by a deleted version) with 404: either way there is no version to serve ("no champion yet").
            return null;
        }

        return found is null ? null : await ToModelVersionAsync(client, found, found.Aliases ?? [alias], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string modelName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        var client = CreateClient();
        var model = await TryGetRegisteredModelAsync(client, modelName, cancellationToken).ConfigureAwait(false);
        if (model is null)
        {
            return [];
        }

        // model-versions/search does not return aliases; registered-models/get does.
        var aliases = (model.Aliases ?? [])
            .GroupBy(a => a.Version, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(a => a.Alias).Order(StringComparer.Ordinal)], StringComparer.Ordinal);

        var found = new List<MlflowModelVersion>();
        string? pageToken = null;
        do
        {
            List<KeyValuePair<string, string>> query = [new("filter", NameFilter(modelName)), new("max_results", "1000")];
            if (pageToken is not null)
            {
                query.Add(new("page_token", pageToken));
            }

            var page = await client.GetAsync("model-versions/search", query, MLflowJsonContext.Default.SearchModelVersionsResponse, cancellationToken).ConfigureAwait(false);
            found.AddRange(page.ModelVersions ?? []);
            pageToken = string.IsNullOrEmpty(page.NextPageToken) ? null : page.NextPageToken;
        }
        while (pageToken is not null);

        var runs = new Dictionary<string, Run?>(StringComparer.Ordinal);
        var versions = new List<ModelVersion>(found.Count);
        foreach (var item in found.Where(v => v.Name == modelName))
        {
            versions.Add(await ToModelVersionAsync(client, item, aliases.GetValueOrDefault(item.Version ?? string.Empty) ?? [], cancellationToken, runs).ConfigureAwait(false));
        }

        versions.Sort((a, b) => a.Version.CompareTo(b.Version));
        return versions;
    }

    /// <inheritdoc />
    public async Task SetAliasAsync(string modelName, string alias, int version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentException.ThrowIfNullOrWhiteSpace(alias);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        await CreateClient().PostAsync(
            "registered-models/alias",
            new SetAliasRequest(modelName, alias, version.ToString(CultureInfo.InvariantCulture)),
            MLflowJsonContext.Default.SetAliasRequest,
            MLflowJsonContext.Default.EmptyResponse,
            cancellationToken).ConfigureAwait(false);
        Log.AliasSet(_logger, modelName, alias, version);
    }

    /// <inheritdoc />
    public async Task SetVersionTagAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        await CreateClient().PostAsync(
            "model-versions/set-tag",
            new SetModelVersionTagRequest(modelName, version.ToString(CultureInfo.InvariantCulture), key, value),
            MLflowJsonContext.Default.SetModelVersionTagRequest,
            MLflowJsonContext.Default.EmptyResponse,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<byte[]> DownloadArtifactAsync(string modelName, int version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        var client = CreateClient();
        var found = version < 1 ? null : await TryGetModelVersionAsync(client, modelName, version, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            throw new ModelStoreException($"MLflow model {modelName} version {version} does not exist (GET model-versions/get).");
        }

        var expected = ToDictionary(found.Tags).GetValueOrDefault(ModelTags.ArtifactSha256);
        if (string.IsNullOrEmpty(expected))
        {
            throw new ModelArtifactIntegrityException(
                $"MLflow model {modelName} version {version} has no {ModelTags.ArtifactSha256} tag, so its artifact cannot be verified; it was not registered by CtrFallback.");
        }

        var bytes = await client.GetArtifactAsync(ArtifactUri(found, ArtifactFileName), cancellationToken).ConfigureAwait(false);
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            Log.ArtifactIntegrityFailed(_logger, modelName, version, expected, actual);
            throw new ModelArtifactIntegrityException(
                $"MLflow model {modelName} version {version}: the downloaded artifact's SHA-256 {actual} does not match the recorded {expected}; refusing to load it.");
        }

        return bytes;
    }

    /// <inheritdoc />
    public async Task<byte[]?> DownloadAttachmentAsync(string modelName, int version, string fileName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ValidateAttachmentName(fileName);
        var client = CreateClient();
        var found = version < 1 ? null : await TryGetModelVersionAsync(client, modelName, version, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            return null;
        }

        // The proxy answers a missing file with 500 (which would also be retried), so look before downloading.
        var listing = await client.ListArtifactsAsync(ArtifactUri(found, AttachmentsDirectory), cancellationToken).ConfigureAwait(false);
        if (!(listing.Files ?? []).Any(f => !f.IsDir && f.Path == fileName))
        {
            return null;
        }

        return await client.GetArtifactAsync(ArtifactUri(found, AttachmentsDirectory + "/" + fileName), cancellationToken).ConfigureAwait(false);
    }

    private MLflowRestClient CreateClient() => new(_httpClientFactory.CreateClient(HttpClientName), _pipeline, _logger);

    /// <summary>The run an earlier attempt of this registration created, found by its registration id tag.</summary>
    private static async Task<RunResponse?> FindRunAsync(MLflowRestClient client, string experimentId, string registrationId, CancellationToken cancellationToken)
    {
        var found = await client.PostAsync(
            "runs/search",
            new SearchRunsRequest([experimentId], RegistrationIdFilter(registrationId), 1),
            MLflowJsonContext.Default.SearchRunsRequest,
            MLflowJsonContext.Default.SearchRunsResponse,
            cancellationToken).ConfigureAwait(false);
        return found.Runs is [var run, ..] ? new RunResponse(run) : null;
    }

    /// <summary>The runs/search filter for a registration's run: the tag key holds a dot, so it is quoted in backticks.</summary>
    internal static string RegistrationIdFilter(string registrationId) => $"tags.`{RegistrationIdTag}` = '{registrationId}'";

    /// <summary>The version an earlier attempt created from this run: same model, same run, same artifact SHA-256.</summary>
    private static async Task<ModelVersionResponse?> FindVersionOfRunAsync(
        MLflowRestClient client,
        string modelName,
        string runId,
        string sha256,
        CancellationToken cancellationToken)
    {
        var found = await client.GetAsync(
            "model-versions/search",
            [new("filter", $"run_id='{runId}'")],
            MLflowJsonContext.Default.SearchModelVersionsResponse,
            cancellationToken).ConfigureAwait(false);
        var version = (found.ModelVersions ?? [])
            .Where(v => v.Name == modelName && ToDictionary(v.Tags).GetValueOrDefault(ModelTags.ArtifactSha256) == sha256)
            .MinBy(v => int.TryParse(v.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue);
        return version is null ? null : new ModelVersionResponse(version);
    }

    private static async Task<string> EnsureExperimentAsync(MLflowRestClient client, string experimentName, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var experiment = (await client.GetAsync(
                    "experiments/get-by-name",
                    [new("experiment_name", experimentName)],
                    MLflowJsonContext.Default.ExperimentResponse,
                    cancellationToken).ConfigureAwait(false)).Experiment;
                if (experiment?.ExperimentId is not { Length: > 0 } id)
                {
                    throw new ModelStoreException("MLflow call GET experiments/get-by-name answered without an experiment_id.");
                }

                if (experiment.LifecycleStage == "deleted")
                {
                    throw new ModelStoreException(
                        $"MLflow experiment '{experimentName}' is deleted; restore it or choose another ExperimentName.");
                }

                return id;
            }
            catch (MLflowException ex) when (ex.IsNotFound() && attempt == 0)
            {
            }

            try
            {
                var created = await client.CreateAsync(
                    "experiments/create",
                    new CreateExperimentRequest(experimentName),
                    MLflowJsonContext.Default.CreateExperimentRequest,
                    MLflowJsonContext.Default.CreateExperimentResponse,
                    async (lookup, ct) => await TryGetExperimentAsync(lookup, experimentName, ct).ConfigureAwait(false) is { ExperimentId: { Length: > 0 } id }
                        ? new CreateExperimentResponse(id)
                        : null,
                    cancellationToken).ConfigureAwait(false);
                return created.ExperimentId is { Length: > 0 } id
                    ? id
                    : throw new ModelStoreException("MLflow call POST experiments/create answered without an experiment_id.");
            }
            catch (MLflowException ex) when (ex.IsAlreadyExists())
            {
                // Another writer created it between our lookup and create: look it up again.
            }
        }
    }

    private static async Task<Experiment?> TryGetExperimentAsync(MLflowRestClient client, string experimentName, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.GetAsync(
                "experiments/get-by-name",
                [new("experiment_name", experimentName)],
                MLflowJsonContext.Default.ExperimentResponse,
                cancellationToken).ConfigureAwait(false)).Experiment;
        }
        catch (MLflowException ex) when (ex.IsNotFound())
        {
            return null;
        }
    }

    private static async Task EnsureRegisteredModelAsync(MLflowRestClient client, string modelName, CancellationToken cancellationToken)
    {
        if (await TryGetRegisteredModelAsync(client, modelName, cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }

        try
        {
            await client.CreateAsync(
                "registered-models/create",
                new RegisteredModelNameRequest(modelName),
                MLflowJsonContext.Default.RegisteredModelNameRequest,
                MLflowJsonContext.Default.RegisteredModelResponse,
                async (lookup, ct) => await TryGetRegisteredModelAsync(lookup, modelName, ct).ConfigureAwait(false) is { } model ? new RegisteredModelResponse(model) : null,
                cancellationToken).ConfigureAwait(false);
        }
        catch (MLflowException ex) when (ex.IsAlreadyExists())
        {
            // A concurrent registration created it first (MLflow answers 400, not 409): that is what we wanted.
        }
    }

    private static async Task<RegisteredModel?> TryGetRegisteredModelAsync(MLflowRestClient client, string modelName, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.GetAsync(
                "registered-models/get",
                [new("name", modelName)],
                MLflowJsonContext.Default.RegisteredModelResponse,
                cancellationToken).ConfigureAwait(false)).RegisteredModel;
        }
        catch (MLflowException ex) when (ex.IsNotFound())
        {
            return null;
        }
    }

    private static async Task<MlflowModelVersion?> TryGetModelVersionAsync(MLflowRestClient client, string modelName, int version, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.GetAsync(
                "model-versions/get",
                [new("name", modelName), new("version", version.ToString(CultureInfo.InvariantCulture))],
                MLflowJsonContext.Default.ModelVersionResponse,
                cancellationToken).ConfigureAwait(false)).ModelVersion;
        }
        catch (MLflowException ex) when (ex.IsNotFound())
        {
            return null;
        }
    }

    private static async Task LogRunAsync(
        MLflowRestClient client,
        string runId,
        ModelRegistration registration,
        IReadOnlyDictionary<string, string> versionTags,
        DateTimeOffset createdAt,
        CancellationToken cancellationToken)
    {
        var timestamp = createdAt.ToUnixTimeMilliseconds();
        var metrics = (registration.Metrics?.ToDictionary() ?? new Dictionary<string, double>())
            .Select(m => new MetricValue(m.Key, m.Value, timestamp, 0))
            .ToList();
        var parameters = (registration.Parameters ?? new Dictionary<string, string>())
            .Select(p => new KeyValue(p.Key, p.Value))
            .ToList();
        if (registration.DataFingerprint is { Length: > 0 } fingerprint)
        {
            parameters.Add(new KeyValue(DataFingerprintParam, fingerprint));
        }

        var tags = versionTags.Select(t => new KeyValue(t.Key, t.Value)).ToList();
        if (registration.Gate is { } gate)
        {
            // The full per-criterion decision, so a reader gets back exactly what the gate said.
            tags.Add(new KeyValue(GateCriteriaTag, JsonSerializer.Serialize(gate.Criteria, CtrFallbackJsonContext.Compact.IReadOnlyListGateCriterionResult)));
        }

        var batches = Math.Max(1, Math.Max(Chunks(parameters.Count, MaxParamsPerBatch), Chunks(tags.Count, MaxTagsPerBatch)));
        for (var i = 0; i < batches; i++)
        {
            await client.PostAsync(
                "runs/log-batch",
                new LogBatchRequest(
                    runId,
                    i == 0 ? metrics : [],
                    [.. parameters.Skip(i * MaxParamsPerBatch).Take(MaxParamsPerBatch)],
                    [.. tags.Skip(i * MaxTagsPerBatch).Take(MaxTagsPerBatch)]),
                MLflowJsonContext.Default.LogBatchRequest,
                MLflowJsonContext.Default.EmptyResponse,
                cancellationToken).ConfigureAwait(false);
        }

        static int Chunks(int count, int size) => (count + size - 1) / size;
    }

    private static async Task UploadArtifactsAsync(
        MLflowRestClient client,
        string runId,
        string source,
        ModelRegistration registration,
        string sha256,
        DateTimeOffset createdAt,
        CancellationToken cancellationToken)
    {
        await client.PutArtifactAsync($"{source}/{ArtifactFileName}", registration.Artifact, cancellationToken).ConfigureAwait(false);
        foreach (var (fileName, content) in registration.Attachments ?? new Dictionary<string, ReadOnlyMemory<byte>>())
        {
            await client.PutArtifactAsync($"{source}/{AttachmentsDirectory}/{fileName}", content, cancellationToken).ConfigureAwait(false);
        }

        var metadata = new ArtifactMetadata(
            "ctrfallback",
            registration.ModelName,
            ArtifactFileName,
            sha256,
            registration.Artifact.Length,
            createdAt,
            runId,
            registration.Metrics?.ToDictionary(),
            registration.Parameters,
            registration.Tags,
            registration.Gate,
            registration.DataFingerprint,
            [.. (registration.Attachments?.Keys ?? []).Order(StringComparer.Ordinal)]);
        await client.PutArtifactAsync(
            $"{source}/{MetadataFileName}",
            JsonSerializer.SerializeToUtf8Bytes(metadata, CtrFallbackJsonContext.Indented.ArtifactMetadata),
            cancellationToken).ConfigureAwait(false);
        await client.PutArtifactAsync(
            $"{source}/{DescriptorFileName}",
            Encoding.UTF8.GetBytes(Descriptor(runId, registration.ModelName, sha256, createdAt)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An <c>MLmodel</c> file, so MLflow's UI and tools recognize the directory as a model with a custom flavor.</summary>
    internal static string Descriptor(string runId, string modelName, string sha256, DateTimeOffset createdAt) =>
        $"""
        artifact_path: {ModelDirectory}
        flavors:
          ctrfallback:
            artifact: {ArtifactFileName}
            metadata: {MetadataFileName}
            sha256: {sha256}
            format_version: 1
        metadata:
          ctrfallback_model_name: '{modelName.Replace("'", "''", StringComparison.Ordinal)}'
        model_uuid: {Guid.NewGuid():N}
        run_id: {runId}
        utc_time_created: '{createdAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}'

        """;

    private async Task UpdateRunAsync(MLflowRestClient client, string runId, string status, CancellationToken cancellationToken) =>
        await client.PostAsync(
            "runs/update",
            new UpdateRunRequest(runId, status, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds()),
            MLflowJsonContext.Default.UpdateRunRequest,
            MLflowJsonContext.Default.EmptyResponse,
            cancellationToken).ConfigureAwait(false);

    private static string EndStatus(Exception exception, CancellationToken cancellationToken) =>
        exception is OperationCanceledException && cancellationToken.IsCancellationRequested ? "KILLED" : "FAILED";

    /// <summary>Best effort, and not cancelled with the registration: the caller already has the real failure.</summary>
    private async Task TryUpdateRunAsync(MLflowRestClient client, string runId, string status)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.Value.Timeout);
            await UpdateRunAsync(client, runId, status, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ModelStoreException or OperationCanceledException)
        {
            Log.RunStatusNotUpdated(_logger, runId, status, ex);
        }
    }

    /// <summary>
    /// When model-versions/create failed without a clear answer (timeout, dropped connection), the server may still
    /// have created the version; delete any version of this run so that a failed registration leaves nothing behind.
    /// </summary>
    private async Task TryDeleteVersionsOfRunAsync(MLflowRestClient client, string modelName, string runId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.Value.Timeout);
            var found = await client.GetAsync(
                "model-versions/search",
                [new("filter", $"run_id='{runId}'")],
                MLflowJsonContext.Default.SearchModelVersionsResponse,
                timeout.Token).ConfigureAwait(false);
            foreach (var version in (found.ModelVersions ?? []).Where(v => v.Name == modelName && v.Version is not null))
            {
                await client.DeleteAsync(
                    "model-versions/delete",
                    new ModelVersionKeyRequest(modelName, version.Version!),
                    MLflowJsonContext.Default.ModelVersionKeyRequest,
                    MLflowJsonContext.Default.EmptyResponse,
                    timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is ModelStoreException or OperationCanceledException)
        {
            Log.RunStatusNotUpdated(_logger, runId, "without model versions", ex);
        }
    }

    private static async Task<ModelVersion> ToModelVersionAsync(
        MLflowRestClient client,
        MlflowModelVersion found,
        IReadOnlyList<string> aliases,
        CancellationToken cancellationToken,
        Dictionary<string, Run?>? runCache = null)
    {
        var tags = ToDictionary(found.Tags);
        Run? run = null;
        if (found.RunId is { Length: > 0 } runId && !(runCache?.TryGetValue(runId, out run) ?? false))
        {
            try
            {
                run = (await client.GetAsync("runs/get", [new("run_id", runId)], MLflowJsonContext.Default.RunResponse, cancellationToken).ConfigureAwait(false)).Run;
            }
            catch (MLflowException ex) when (ex.IsNotFound())
            {
                // The run was deleted; the version still stands, without metrics and parameters.
                run = null;
            }

            runCache?.Add(runId, run);
        }

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var metric in run?.Data?.Metrics ?? [])
        {
            metrics[metric.Key] = metric.Value;
        }

        var parameters = ToDictionary(run?.Data?.Params);
        parameters.Remove(DataFingerprintParam, out var fingerprint);
        var runTags = ToDictionary(run?.Data?.Tags);

        return new ModelVersion(
            found.Name ?? string.Empty,
            ParseVersion(found.Version, "model version"),
            DateTimeOffset.FromUnixTimeMilliseconds(found.CreationTimestamp ?? 0),
            tags.GetValueOrDefault(ModelTags.ArtifactSha256) ?? string.Empty,
            metrics,
            parameters,
            tags,
            [.. aliases.Order(StringComparer.Ordinal)],
            ReadGate(tags, runTags),
            fingerprint);
    }

    private static GateDecision? ReadGate(Dictionary<string, string> versionTags, Dictionary<string, string> runTags)
    {
        if (runTags.TryGetValue(GateCriteriaTag, out var json))
        {
            try
            {
                if (JsonSerializer.Deserialize(json, CtrFallbackJsonContext.Default.IReadOnlyListGateCriterionResult) is { } criteria)
                {
                    return new GateDecision(criteria);
                }
            }
            catch (JsonException)
            {
                // Fall back to the version tags below.
            }
        }

        if (!versionTags.TryGetValue(ModelTags.GatePassed, out var passedText) || !bool.TryParse(passedText, out var passed))
        {
            return null;
        }

        // Written by another tool: only the overall verdict and the reasons are known, not which criterion failed.
        var reasons = versionTags.GetValueOrDefault(ModelTags.GateReasons) ?? string.Empty;
        return passed
            ? new GateDecision([.. reasons.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => new GateCriterionResult("gate", true, r))])
            : new GateDecision([new GateCriterionResult("gate", false, reasons)]);
    }

    private static Dictionary<string, string> VersionTags(ModelRegistration registration, string sha256)
    {
        var tags = registration.Tags is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(registration.Tags, StringComparer.Ordinal);
        tags[ModelTags.ArtifactSha256] = sha256;
        if (registration.Gate is { } gate)
        {
            tags[ModelTags.GatePassed] = gate.Passed ? "true" : "false";
            tags[ModelTags.GateReasons] = Truncate(string.Join('\n', gate.Reasons), MaxRegistryTagValueLength);
        }

        return tags;
    }

    private static string Truncate(string value, int maxLength) =>
        value.Length <= maxLength ? value : string.Concat(value.AsSpan(0, maxLength - 1), "…");

    private static string ArtifactUri(MlflowModelVersion version, string relativePath) =>
        (version.Source ?? throw new ModelStoreException($"MLflow model {version.Name} version {version.Version} has no source."))
            .TrimEnd('/') + "/" + relativePath;

    private static string NameFilter(string modelName) =>
        !modelName.Contains('\'', StringComparison.Ordinal) ? $"name='{modelName}'"
        : !modelName.Contains('"', StringComparison.Ordinal) ? $"name=\"{modelName}\""
        : throw new ArgumentException("A model name with both quote characters cannot be searched in MLflow.", nameof(modelName));

    private static int ParseVersion(string? text, string what) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new ModelStoreException($"MLflow {what} answered with a version '{text}' that is not a number.");

    private static Dictionary<string, string> ToDictionary(IReadOnlyList<KeyValue>? pairs)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs ?? [])
        {
            result[pair.Key] = pair.Value;
        }

        return result;
    }

    private static void ValidateAttachmentName(string fileName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        if (fileName is "." or ".." || fileName.IndexOfAny(['/', '\\']) >= 0)
        {
            throw new ArgumentException($"Attachment name '{fileName}' must be a plain file name (no directories).", nameof(fileName));
        }
    }
}
