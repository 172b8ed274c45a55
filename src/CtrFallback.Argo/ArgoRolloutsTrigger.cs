using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace CtrFallback.Argo;

/// <summary>
/// Restarts an Argo Rollout the way <c>kubectl argo rollouts restart</c> does (a merge patch of <c>spec.restartAt</c>),
/// or in <see cref="ArgoTriggerMode.Canary"/> pins the version in its pod template so its canary steps run; then, if
/// configured, follows it until it is Healthy (restarted, or the new ReplicaSet stable), Degraded or aborted.
/// </summary>
/// <remarks>
/// KubernetesClient owns its HttpClient (TLS and credentials come from the kubeconfig), so it cannot be an
/// IHttpClientFactory typed client with resilience handlers; its calls go through a Polly v8 retry pipeline instead,
/// on the injected TimeProvider.
/// </remarks>
internal sealed class ArgoRolloutsTrigger : IDeploymentTrigger, IDisposable
{
    internal const string Group = "argoproj.io";
    internal const string Version = "v1alpha1";
    internal const string Plural = "rollouts";

    private static readonly ResiliencePropertyKey<string> VerbKey = new("ctrfallback.argo.verb");

    private readonly ArgoRolloutsOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Kubernetes _client;
    private readonly string _credentialSource;
    private readonly ResiliencePipeline _retry;
    private readonly ResiliencePipeline _attempt;

    public ArgoRolloutsTrigger(
        IOptions<ArgoRolloutsOptions> options,
        TimeProvider timeProvider,
        ILogger<ArgoRolloutsTrigger>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<ArgoRolloutsTrigger>.Instance;

        KubernetesClientConfiguration config;
        if (string.IsNullOrWhiteSpace(_options.KubeconfigPath))
        {
            config = KubernetesClientConfiguration.InClusterConfig();
            _credentialSource = "the pod's service account";
        }
        else
        {
            config = KubernetesClientConfiguration.BuildConfigFromConfigFile(_options.KubeconfigPath, _options.Context);
            _credentialSource = $"the credentials of kubeconfig '{_options.KubeconfigPath}' (context '{_options.Context ?? config.CurrentContext ?? "current"}')";
        }

        _client = new Kubernetes(config);

        // Transient failures (5xx, 429, connection errors, a call outliving AttemptTimeout) are retried with doubling delays.
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (_options.MaxRetryAttempts > 0)
        {
            pipeline.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex, args.Context.CancellationToken)),
                MaxRetryAttempts = _options.MaxRetryAttempts,
                Delay = _options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                OnRetry = args =>
                {
                    args.Context.Properties.TryGetValue(VerbKey, out var verb);
                    Log.TransientFailure(_logger, args.Outcome.Exception!, verb ?? "call", Namespace, RolloutName, args.AttemptNumber + 1, args.RetryDelay);
                    return default;
                },
            });
        }

        _retry = pipeline.Build();

        // Each attempt's own limit is a network guard in real time, as HttpClient's timeout is: on the system clock, so a
        // test's fake clock steps the trigger's deadline and polls, not every call.
        _attempt = new ResiliencePipelineBuilder { TimeProvider = TimeProvider.System }.AddTimeout(_options.AttemptTimeout).Build();
    }

    private string Namespace => _options.Namespace;

    private string RolloutName => _options.RolloutName;

    private string ResourcePath => $"/apis/{Group}/{Version}/namespaces/{Namespace}/{Plural}/{RolloutName}";

    public async Task<DeploymentResult> TriggerAsync(DeploymentRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // One deadline for the whole trigger: retries, the patch and the wait all count against Timeout.
        using var deadline = new CancellationTokenSource(_options.Timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var token = linked.Token;
        var canary = _options.Mode == ArgoTriggerMode.Canary;

        // RFC 3339 at second precision, as kubectl writes metav1.Time.
        var restartAt = _timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", CultureInfo.InvariantCulture);
        var what = canary ? "update" : "restart";
        RolloutState? last = null;

        try
        {
            if (canary)
            {
                last = await PinVersionAsync(request, token).ConfigureAwait(false);
            }
            else
            {
                var patch = new V1Patch("{\"spec\":{\"restartAt\":\"" + restartAt + "\"}}", V1Patch.PatchType.MergePatch);
                var patched = await CallAsync(
                    "patch",
                    ct => _client.CustomObjects.PatchNamespacedCustomObjectAsync<JsonElement>(patch, Group, Version, Namespace, Plural, RolloutName, cancellationToken: ct),
                    token).ConfigureAwait(false);
                last = RolloutState.Parse(patched);
                Log.RestartRequested(_logger, Namespace, RolloutName, restartAt, request.ModelName, request.Version, request.Alias);
            }

            if (!_options.WaitForCompletion)
            {
                return new DeploymentResult(
                    DeploymentStatus.Requested,
                    canary
                        ? $"Set {ArgoRolloutsOptions.VersionVariable}={request.Version} in the pod template of Argo Rollout {Namespace}/{RolloutName} for {request.ModelName} version {request.Version} ({request.Alias}); its canary steps run now; not waiting for them."
                        : $"Asked Argo Rollout {Namespace}/{RolloutName} to restart at {restartAt} for {request.ModelName} version {request.Version} ({request.Alias}); not waiting for it.");
            }

            while (true)
            {
                var rollout = await CallAsync(
                    "get",
                    ct => _client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(Group, Version, Namespace, Plural, RolloutName, ct),
                    token).ConfigureAwait(false);
                var state = RolloutState.Parse(rollout);
                last = state;
                Log.RolloutObserved(_logger, Namespace, RolloutName, state.Phase, state.Generation, state.ObservedGeneration, state.RestartedAt, state.Message);

                // Phase and message speak of an older spec until the controller has observed our patch.
                if (state.IsObserved)
                {
                    if (state.Aborted || state.IsDegraded)
                    {
                        return Aborted(state, what, request);
                    }

                    if (state.IsHealthy && (canary ? state.IsFullyPromoted : state.HasRestartedAt(restartAt)))
                    {
                        Log.RolloutSucceeded(_logger, Namespace, RolloutName, what);
                        return new DeploymentResult(
                            DeploymentStatus.Succeeded,
                            canary
                                ? $"Argo Rollout {Namespace}/{RolloutName} passed its canary steps and is Healthy on ReplicaSet {state.StableRS}; {request.ModelName} version {request.Version} ({request.Alias}) is serving on every pod."
                                : $"Argo Rollout {Namespace}/{RolloutName} restarted at {restartAt} and is Healthy; {request.ModelName} version {request.Version} ({request.Alias}) is serving.");
                    }
                }

                await Task.Delay(_options.PollInterval, _timeProvider, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var seen = last is null
                ? "the Rollout was never read back"
                : $"last seen {(canary ? last.DescribeUpdate() : last.Describe(restartAt))}";
            var message = _options.WaitForCompletion
                ? $"Argo Rollout {Namespace}/{RolloutName} did not finish {(canary ? "its canary update" : "restarting")} within {_options.Timeout}: {seen}."
                : $"The {what} of Argo Rollout {Namespace}/{RolloutName} could not be requested within {_options.Timeout}.";
            Log.RolloutTimedOut(_logger, Namespace, RolloutName, what, message);
            return new DeploymentResult(DeploymentStatus.TimedOut, message);
        }
        catch (KubernetesCallException ex)
        {
            return Failed(ex.Message, what);
        }
    }

    /// <summary>
    /// Sets <see cref="ArgoRolloutsOptions.VersionVariable"/> on the chosen container of the Rollout's pod template with a
    /// JSON patch (RFC 6902): a merge patch would replace the whole containers list, and custom resources take no
    /// strategic merge. The patch first tests the container's name (and the variable's, when it replaces it), so a
    /// template edited since it was read is refused rather than patched at the wrong index. Read and patch are retried
    /// together: a patch whose reply was lost is applied already, and only a fresh read turns its "add" into a "replace"
    /// instead of a second entry.
    /// </summary>
    private async Task<RolloutState> PinVersionAsync(DeploymentRequest request, CancellationToken token)
    {
        var patched = await CallAsync(
            "patch",
            async ct =>
            {
                var rollout = await _client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(Group, Version, Namespace, Plural, RolloutName, ct).ConfigureAwait(false);
                var patch = new V1Patch(JsonSerializer.Serialize(PinOperations(rollout, request.Version)), V1Patch.PatchType.JsonPatch);
                return await _client.CustomObjects.PatchNamespacedCustomObjectAsync<JsonElement>(patch, Group, Version, Namespace, Plural, RolloutName, cancellationToken: ct).ConfigureAwait(false);
            },
            token).ConfigureAwait(false);
        var state = RolloutState.Parse(patched);
        Log.VersionPinned(_logger, Namespace, RolloutName, ArgoRolloutsOptions.VersionVariable, request.Version, request.ModelName, request.Alias, state.Generation);
        return state;
    }

    /// <summary>The JSON patch operations that set the version variable, from the Rollout as read.</summary>
    /// <exception cref="KubernetesCallException">The template has no such container (nothing is patched).</exception>
    private List<Dictionary<string, object>> PinOperations(JsonElement rollout, int version)
    {
        var containers = rollout.TryGetProperty("spec", out var spec) && spec.ValueKind == JsonValueKind.Object &&
                         spec.TryGetProperty("template", out var template) && template.ValueKind == JsonValueKind.Object &&
                         template.TryGetProperty("spec", out var pod) && pod.ValueKind == JsonValueKind.Object &&
                         pod.TryGetProperty("containers", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToList()
            : [];
        var names = containers.Select(c => c.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() ?? string.Empty : string.Empty).ToList();
        var index = _options.ContainerName is { } wanted ? names.IndexOf(wanted) : (names.Count > 0 ? 0 : -1);
        if (index < 0)
        {
            throw new KubernetesCallException(
                _options.ContainerName is null
                    ? $"Argo Rollout {Namespace}/{RolloutName} has no containers in spec.template.spec.containers: there is nothing to pin {ArgoRolloutsOptions.VersionVariable} on."
                    : $"Argo Rollout {Namespace}/{RolloutName} has no container '{_options.ContainerName}' in spec.template.spec.containers (it has: {string.Join(", ", names.Select(n => $"'{n}'"))}); set CtrFallback:Argo:ContainerName to one of them.",
                null);
        }

        var path = string.Create(CultureInfo.InvariantCulture, $"/spec/template/spec/containers/{index}");
        var value = version.ToString(CultureInfo.InvariantCulture);
        var entry = new Dictionary<string, object> { ["name"] = ArgoRolloutsOptions.VersionVariable, ["value"] = value };
        var operations = new List<Dictionary<string, object>> { Op("test", path + "/name", names[index]) };

        var container = containers[index];
        if (!container.TryGetProperty("env", out var env) || env.ValueKind != JsonValueKind.Array)
        {
            operations.Add(Op("add", path + "/env", new[] { entry }));
            return operations;
        }

        var positions = env.EnumerateArray()
            .Select((e, i) => (e, i))
            .Where(x => x.e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == ArgoRolloutsOptions.VersionVariable)
            .Select(x => x.i)
            .ToList();
        if (positions.Count == 0)
        {
            operations.Add(Op("add", path + "/env/-", entry));
        }

        // Every entry of that name (the last one is what the kubelet uses), whole, so a valueFrom gives way to the version.
        foreach (var position in positions)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"{path}/env/{position}");
            operations.Add(Op("test", at + "/name", ArgoRolloutsOptions.VersionVariable));
            operations.Add(Op("replace", at, entry));
        }

        return operations;

        static Dictionary<string, object> Op(string op, string path, object value) => new() { ["op"] = op, ["path"] = path, ["value"] = value };
    }

    /// <summary>A Degraded or aborted Rollout: the Rollout's message and its analysis runs' messages, and the rollback request when configured.</summary>
    private DeploymentResult Aborted(RolloutState state, string what, DeploymentRequest request)
    {
        var how = state.Aborted ? $"was aborted during the {what}" : "is Degraded";
        var analysis = state.AnalysisMessages;
        var message = $"Argo Rollout {Namespace}/{RolloutName} {how}: {state.Message ?? "(no message)"}" +
                      (analysis.Length > 0 && state.Message?.Contains(analysis, StringComparison.Ordinal) != true ? $" ({analysis})" : string.Empty);
        if (_options.RollbackAliasOnAbort)
        {
            message += $"; the pods are back on the stable version, so {request.ModelName}'s '{request.Alias}' should go back too (CtrFallback:Argo:RollbackAliasOnAbort).";
        }

        var result = Failed(message, what);
        return _options.RollbackAliasOnAbort ? result with { RollbackRequested = true } : result;
    }

    public void Dispose() => _client.Dispose();

    private DeploymentResult Failed(string message, string what)
    {
        Log.RolloutFailed(_logger, Namespace, RolloutName, what, message);
        return new DeploymentResult(DeploymentStatus.Failed, message);
    }

    /// <summary>Calls the API through the retry pipeline.</summary>
    /// <exception cref="KubernetesCallException">The call was refused, or kept failing; the message says why in words.</exception>
    private async Task<T> CallAsync<T>(string verb, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(VerbKey, verb);
        try
        {
            return await _retry.ExecuteAsync(
                async ctx => await _attempt.ExecuteAsync(async ct => await call(ct).ConfigureAwait(false), ctx.CancellationToken).ConfigureAwait(false),
                context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex, cancellationToken))
        {
            throw new KubernetesCallException(
                $"The Kubernetes API kept failing to {verb} {Group}/{Plural} '{RolloutName}' in namespace '{Namespace}' " +
                $"({_options.MaxRetryAttempts + 1} attempts): {Describe(ex)}",
                ex);
        }
        catch (HttpOperationException ex)
        {
            throw new KubernetesCallException(Refusal(verb, ex), ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static bool IsTransient(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        HttpOperationException { Response.StatusCode: var status } =>
            (int)status >= 500 || status == HttpStatusCode.TooManyRequests,
        HttpRequestException => true,
        TimeoutRejectedException => true,

        // HttpClient's own timeout surfaces as a cancellation nobody asked for.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    private string Refusal(string verb, HttpOperationException exception)
    {
        if (string.Equals(exception.Request?.Method?.Method, "GET", StringComparison.Ordinal))
        {
            verb = "get";
        }

        var status = exception.Response?.StatusCode;
        var apiSays = ApiMessage(exception);
        return status switch
        {
            HttpStatusCode.Unauthorized =>
                $"The Kubernetes API rejected {_credentialSource} (401 Unauthorized) when asked to {verb} {Plural}.{Group} '{RolloutName}' in namespace '{Namespace}': " +
                $"the token or certificate is missing, expired or not trusted. API said: {apiSays}",
            HttpStatusCode.Forbidden =>
                $"Permission denied (403 Forbidden): {_credentialSource} may not '{verb}' {Plural}.{Group} in namespace '{Namespace}'. " +
                $"Grant verb '{verb}' on resource 'rollouts' in API group 'argoproj.io' (a Role and RoleBinding in '{Namespace}'; the trigger needs get and patch). API said: {apiSays}",
            HttpStatusCode.NotFound =>
                $"Argo Rollout '{RolloutName}' was not found in namespace '{Namespace}' (404 on {verb} {ResourcePath}): " +
                $"check the rollout name and namespace, and that the Argo Rollouts CRD (rollouts.argoproj.io) is installed. API said: {apiSays}",
            _ =>
                $"The Kubernetes API refused to {verb} {Plural}.{Group} '{RolloutName}' in namespace '{Namespace}' ({Describe(exception)}).",
        };
    }

    private static string Describe(Exception exception) => exception switch
    {
        HttpOperationException { Response: { } response } op =>
            string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode} {response.StatusCode}: {ApiMessage(op)}"),
        _ => exception.Message,
    };

    /// <summary>The <c>message</c> of the API server's Status object, or the raw body when it is not one.</summary>
    private static string ApiMessage(HttpOperationException exception)
    {
        var body = exception.Response?.Content;
        if (string.IsNullOrWhiteSpace(body))
        {
            return "(empty response)";
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object &&
                document.RootElement.TryGetProperty("message", out var message) &&
                message.ValueKind == JsonValueKind.String)
            {
                return message.GetString() ?? body;
            }
        }
        catch (JsonException)
        {
            // Not a Status object (a proxy's HTML page, say): show the body as it came.
        }

        return body.Length > 500 ? body[..500] + "…" : body;
    }

    /// <summary>A Kubernetes call that will not succeed by retrying; the message is meant for a person.</summary>
    private sealed class KubernetesCallException(string message, Exception? innerException) : Exception(message, innerException);
}
