using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CtrFallback.Tests;

/// <summary>One request the loopback API server received, as it came.</summary>
internal sealed record RecordedRequest(string Method, string Path, string? ContentType, string? Authorization, string Body);

/// <summary>
/// A real HTTP server on 127.0.0.1 (ephemeral port) that speaks just enough of the Kubernetes API for one
/// <c>argoproj.io/v1alpha1</c> Rollout, and plays the Argo controller. Like the API server, it applies merge patches
/// (RFC 7386) and JSON patches (RFC 6902: add, replace, remove, test; a failed test is a 422 and changes nothing) to the
/// stored object, and bumps <c>metadata.generation</c> only when the spec changed. Each later GET advances the status one
/// step along a <see cref="ControllerScript"/>; "delay" is counted in reads, not seconds, so tests do not depend on the
/// machine's speed. <c>status.currentPodHash</c> is a hash of the pod template, as the controller's is (not the same
/// function), so pinning the stable ReplicaSet's version again gives back the stable hash.
/// </summary>
internal sealed class LoopbackKubernetesApiServer : IAsyncDisposable
{
    public const string RolloutPathPrefix = "/apis/argoproj.io/v1alpha1/namespaces/";

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly Queue<(string Method, HttpStatusCode Status)> _faults = new();
    private readonly HashSet<string> _forbiddenVerbs = new(StringComparer.OrdinalIgnoreCase);
    private readonly Queue<(string Method, ConnectionFault Fault)> _connectionFaults = new();

    // The Rollout as the API server stores it: the spec as an object, the status as the controller last wrote it.
    private JsonObject _spec = InitialSpec();
    private long _generation = 3;
    private string _observedGeneration = "3";
    private string _phase = "Healthy";
    private string? _message;
    private string? _restartedAt;
    private bool _abort;
    private string _currentPodHash;
    private string _stableRS;
    private JsonObject? _stepAnalysis;
    private int _readsSincePatch;
    private int _updates;

    private LoopbackKubernetesApiServer(WebApplication app, string @namespace, string rolloutName, string token)
    {
        _app = app;
        Namespace = @namespace;
        RolloutName = rolloutName;
        Token = token;
        _currentPodHash = _stableRS = PodTemplateHash(_spec);
    }

    public string Namespace { get; }

    public string RolloutName { get; }

    public string Token { get; }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>How the simulated controller moves the status after a restart is asked for.</summary>
    public ControllerScript Script { get; set; } = ControllerScript.BecomesHealthy();

    /// <summary>The Rollout's <c>metadata.generation</c>: 3 at start, one more for each restart asked for.</summary>
    public long Generation
    {
        get
        {
            lock (_gate)
            {
                return _generation;
            }
        }
    }

    public string RolloutPath => $"{RolloutPathPrefix}{Namespace}/rollouts/{RolloutName}";

    /// <summary>The stored pod template's containers, as a JSON string (for assertions).</summary>
    public JsonArray Containers
    {
        get
        {
            lock (_gate)
            {
                return (JsonArray)_spec["template"]!["spec"]!["containers"]!.DeepClone();
            }
        }
    }

    /// <summary>The value of an environment variable on a container of the stored pod template, or null.</summary>
    public string? EnvValue(string container, string variable)
    {
        var env = Containers.Single(c => c!["name"]!.GetValue<string>() == container)!["env"] as JsonArray;
        return env?.FirstOrDefault(e => e!["name"]!.GetValue<string>() == variable)?["value"]?.GetValue<string>();
    }

    /// <summary>Replaces the stored pod template's containers (before a test's first request), as a different manifest would.</summary>
    public void SetContainers(JsonArray containers)
    {
        lock (_gate)
        {
            _spec["template"]!["spec"]!["containers"] = containers;
            _currentPodHash = _stableRS = PodTemplateHash(_spec);
        }
    }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public int Count(string method) => Requests.Count(r => r.Method == method);

    public static async Task<LoopbackKubernetesApiServer> StartAsync(string @namespace = "ads", string rolloutName = "ctr-inference", string token = "loopback-token-1234")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new LoopbackKubernetesApiServer(app, @namespace, rolloutName, token);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server.BaseAddress = new Uri(address);
        return server;
    }

    /// <summary>The next request with this method gets this status (a Kubernetes Status body) and changes nothing.</summary>
    public void FailNext(string method, HttpStatusCode status)
    {
        lock (_gate)
        {
            _faults.Enqueue((method, status));
        }
    }

    /// <summary>The next request with this method meets a broken connection instead of an answer (see <see cref="ConnectionFault"/>).</summary>
    public void BreakNext(string method, ConnectionFault fault)
    {
        lock (_gate)
        {
            _connectionFaults.Enqueue((method, fault));
        }
    }

    /// <summary>Every request with this verb is refused with 403, as RBAC does when a Role lacks it.</summary>
    public void Forbid(string verb)
    {
        lock (_gate)
        {
            _forbiddenVerbs.Add(verb);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var request = new RecordedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? string.Empty,
            context.Request.ContentType,
            context.Request.Headers.Authorization.FirstOrDefault(),
            body);

        var fault = TakeConnectionFault(request.Method);
        if (fault is ConnectionFault.Hang or ConnectionFault.Reset)
        {
            lock (_gate)
            {
                _requests.Add(request);
            }

            if (fault == ConnectionFault.Hang)
            {
                // No answer until the client gives up and closes the connection.
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }
            }

            context.Abort();
            return;
        }

        var (status, json) = Handle(request);
        if (fault == ConnectionFault.ResetAfterApplying)
        {
            context.Abort();
            return;
        }

        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json.ToJsonString(), context.RequestAborted);
    }

    private ConnectionFault? TakeConnectionFault(string method)
    {
        lock (_gate)
        {
            return _connectionFaults.Count > 0 && _connectionFaults.Peek().Method == method ? _connectionFaults.Dequeue().Fault : null;
        }
    }

    private (HttpStatusCode, JsonNode) Handle(RecordedRequest request)
    {
        lock (_gate)
        {
            _requests.Add(request);
            var verb = request.Method == "PATCH" ? "patch" : request.Method == "GET" ? "get" : request.Method.ToLowerInvariant();

            if (request.Authorization != $"Bearer {Token}")
            {
                return Status(HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized");
            }

            if (_faults.Count > 0 && _faults.Peek().Method == request.Method)
            {
                var fault = _faults.Dequeue();
                return Status(fault.Status, fault.Status.ToString(), $"loopback fault injected: {(int)fault.Status}");
            }

            if (_forbiddenVerbs.Contains(verb))
            {
                var (ns, name) = NamespaceAndName(request.Path);
                return Status(
                    HttpStatusCode.Forbidden,
                    "Forbidden",
                    $"rollouts.argoproj.io \"{name}\" is forbidden: User \"system:serviceaccount:{ns}:ctr-training-worker\" cannot {verb} resource \"rollouts\" in API group \"argoproj.io\" in the namespace \"{ns}\"");
            }

            if (request.Path != RolloutPath)
            {
                var (_, name) = NamespaceAndName(request.Path);
                return Status(HttpStatusCode.NotFound, "NotFound", $"rollouts.argoproj.io \"{name}\" not found");
            }

            switch (request.Method)
            {
                case "GET":
                    _readsSincePatch++;
                    if (_updates > 0)
                    {
                        Script.Apply(_readsSincePatch, new ControllerView(this));
                    }

                    return (HttpStatusCode.OK, Rollout());

                case "PATCH":
                    JsonObject patched;
                    var document = new JsonObject { ["spec"] = _spec.DeepClone() };
                    try
                    {
                        var body = JsonNode.Parse(request.Body);
                        if (request.ContentType?.StartsWith("application/merge-patch+json", StringComparison.Ordinal) == true)
                        {
                            patched = (JsonObject)MergePatch(document, body)!;
                        }
                        else if (request.ContentType?.StartsWith("application/json-patch+json", StringComparison.Ordinal) == true)
                        {
                            patched = JsonPatch(document, (JsonArray)body!);
                        }
                        else
                        {
                            // The API server refuses strategic merge patches for custom resources.
                            return Status(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
                        }
                    }
                    catch (Exception ex) when (ex is JsonException or InvalidOperationException or InvalidCastException or FormatException)
                    {
                        return Status(HttpStatusCode.UnprocessableEntity, "Invalid", ex.Message);
                    }

                    var spec = (JsonObject)patched["spec"]!;
                    if (!JsonNode.DeepEquals(spec, _spec))
                    {
                        _spec = (JsonObject)spec.DeepClone();
                        _generation++;
                        _readsSincePatch = 0;
                        _updates++;
                    }

                    return (HttpStatusCode.OK, Rollout());

                default:
                    return Status(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", $"{request.Method} is not supported by the loopback server");
            }
        }
    }

    /// <summary>RFC 7386: objects merge key by key, null removes, anything else (arrays too) replaces.</summary>
    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    /// <summary>RFC 6902 for the operations the trigger uses (add, replace, remove, test), all or nothing.</summary>
    private static JsonObject JsonPatch(JsonObject document, JsonArray operations)
    {
        var result = (JsonObject)document.DeepClone();
        foreach (var operation in operations)
        {
            var op = operation!["op"]!.GetValue<string>();
            var path = operation["path"]!.GetValue<string>();
            var tokens = path.Split('/')[1..].Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
            var parent = tokens[..^1].Aggregate((JsonNode?)result, Child) ?? throw new InvalidOperationException($"jsonpatch {op} operation does not apply: doc is missing path: \"{path}\"");
            var last = tokens[^1];
            var value = operation["value"]?.DeepClone();
            switch (op, parent)
            {
                case ("test", _):
                    if (!JsonNode.DeepEquals(Child(parent, last), operation["value"]))
                    {
                        throw new InvalidOperationException($"testing value {path} failed: test operation failed");
                    }

                    break;
                case ("add", JsonArray array):
                    if (last == "-")
                    {
                        array.Add(value);
                    }
                    else
                    {
                        array.Insert(int.Parse(last, CultureInfo.InvariantCulture), value);
                    }

                    break;
                case ("add", JsonObject obj):
                    obj[last] = value;
                    break;
                case ("replace", JsonArray array):
                    var at = int.Parse(last, CultureInfo.InvariantCulture);
                    _ = array[at] ?? throw new InvalidOperationException($"replace operation does not apply: doc is missing key: {path}");
                    array[at] = value;
                    break;
                case ("replace", JsonObject obj) when obj.ContainsKey(last):
                    obj[last] = value;
                    break;
                case ("remove", JsonArray array):
                    array.RemoveAt(int.Parse(last, CultureInfo.InvariantCulture));
                    break;
                case ("remove", JsonObject obj) when obj.Remove(last):
                    break;
                default:
                    throw new InvalidOperationException($"jsonpatch {op} operation does not apply: doc is missing path: \"{path}\"");
            }
        }

        return result;
    }

    private static JsonNode? Child(JsonNode? node, string token) => node switch
    {
        JsonObject obj => obj[token],
        JsonArray array when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < array.Count => array[i],
        _ => null,
    };

    private static JsonObject InitialSpec() => new()
    {
        ["replicas"] = 2,
        ["template"] = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = "ctr-inference" } },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = "inference-server",
                    ["image"] = "registry.example.com/ctrfallback/inference-server:0.1.0",
                    ["env"] = new JsonArray(new JsonObject { ["name"] = "ASPNETCORE_URLS", ["value"] = "http://+:8080" }),
                }),
            },
        },
        ["strategy"] = new JsonObject { ["canary"] = new JsonObject { ["maxSurge"] = 1, ["maxUnavailable"] = 1 } },
    };

    private static string PodTemplateHash(JsonObject spec) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(spec["template"]!.ToJsonString())))[..10];

    private JsonObject Rollout()
    {
        var status = new JsonObject
        {
            ["observedGeneration"] = _observedGeneration,
            ["phase"] = _phase,
            ["replicas"] = 2,
            ["availableReplicas"] = 2,
            ["currentPodHash"] = _currentPodHash,
            ["stableRS"] = _stableRS,
        };
        if (_message is not null)
        {
            status["message"] = _message;
        }

        if (_restartedAt is not null)
        {
            status["restartedAt"] = _restartedAt;
        }

        if (_abort)
        {
            status["abort"] = true;
        }

        if (_stepAnalysis is not null)
        {
            status["canary"] = new JsonObject { ["currentStepAnalysisRunStatus"] = _stepAnalysis.DeepClone() };
        }

        return new JsonObject
        {
            ["apiVersion"] = "argoproj.io/v1alpha1",
            ["kind"] = "Rollout",
            ["metadata"] = new JsonObject
            {
                ["name"] = RolloutName,
                ["namespace"] = Namespace,
                ["generation"] = _generation,
                ["resourceVersion"] = (1000 + _generation).ToString(CultureInfo.InvariantCulture),
            },
            ["spec"] = _spec.DeepClone(),
            ["status"] = status,
        };
    }

    private static (HttpStatusCode, JsonNode) Status(HttpStatusCode code, string reason, string message) =>
        (code, new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["code"] = (int)code,
        });

    private static (string Namespace, string Name) NamespaceAndName(string path)
    {
        // /apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts/{name}
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 7 ? (parts[4], parts[6]) : ("?", "?");
    }

    /// <summary>What a <see cref="ControllerScript"/> step may see and change: the Rollout's status.</summary>
    internal sealed class ControllerView(LoopbackKubernetesApiServer server)
    {
        public long Generation => server._generation;

        public string? SpecRestartAt => server._spec["restartAt"]?.GetValue<string>();

        /// <summary>How many patches changed the spec so far (restarts and pod template updates).</summary>
        public int Updates => server._updates;

        /// <summary>The controller sees the current spec: its generation, and the pod template's hash as the current ReplicaSet.</summary>
        public void Observe()
        {
            server._observedGeneration = server._generation.ToString(CultureInfo.InvariantCulture);
            server._currentPodHash = PodTemplateHash(server._spec);
        }

        /// <summary>Every canary step passed: the current ReplicaSet becomes the stable one.</summary>
        public void Promote()
        {
            server._stableRS = server._currentPodHash;
            server._stepAnalysis = null;
        }

        /// <summary>Writes <c>status.canary.currentStepAnalysisRunStatus</c> as the controller does from the AnalysisRun.</summary>
        public void SetStepAnalysis(string name, string status, string? message) =>
            server._stepAnalysis = new JsonObject { ["name"] = name, ["status"] = status, ["message"] = message };

        public void Set(string phase, string? message = null, bool restarted = false, bool abort = false)
        {
            server._phase = phase;
            server._message = message;
            server._abort = abort;
            if (restarted)
            {
                server._restartedAt = SpecRestartAt;
            }
        }

        public void SetRestartedAt(string? restartedAt) => server._restartedAt = restartedAt;
    }
}

/// <summary>How <see cref="LoopbackKubernetesApiServer.BreakNext"/> breaks a request's connection.</summary>
internal enum ConnectionFault
{
    /// <summary>The request is read and never answered (a hung API server or a black-holing proxy).</summary>
    Hang,

    /// <summary>The connection is reset before the request is applied.</summary>
    Reset,

    /// <summary>The request is applied, then the connection is reset before the reply: the answer is lost.</summary>
    ResetAfterApplying,
}

/// <summary>
/// The simulated controller's steps after a restart is asked for: step <c>i</c> is applied on the <c>i</c>-th read
/// after the patch; reads past the last step repeat it.
/// </summary>
internal sealed class ControllerScript(params Action<LoopbackKubernetesApiServer.ControllerView>[] steps)
{
    public const string RestartingMessage = "loopback controller: 1 of 2 pods are older than restartAt";

    private ControllerScript[]? _perUpdate;

    public int Steps => steps.Length;

    public void Apply(int read, LoopbackKubernetesApiServer.ControllerView view)
    {
        if (_perUpdate is { } scripts)
        {
            scripts[Math.Min(view.Updates, scripts.Length) - 1].Apply(read, view);
            return;
        }

        steps[Math.Min(read, steps.Length) - 1](view);
    }

    /// <summary>The first spec change plays the first script, the second the second, and so on (the last repeats).</summary>
    public static ControllerScript PerUpdate(params ControllerScript[] scripts) => new() { _perUpdate = scripts };

    /// <summary>
    /// A canary update that passes: not observed yet; then Progressing through the steps; then the new ReplicaSet is
    /// stable and the Rollout Healthy.
    /// </summary>
    public static ControllerScript CanaryPasses() =>
        new(Lagging, v => { v.Observe(); v.Set("Paused", "CanaryPauseStep"); }, v => { v.Observe(); v.SetStepAnalysis("ctr-inference-analysis-1", "Running", null); v.Set("Progressing", "waiting for all steps to complete"); }, v => { v.Observe(); v.Promote(); v.Set("Healthy"); });

    /// <summary>
    /// A canary update whose step analysis fails, with the messages the controller writes (rollout/analysis.go,
    /// rollout/sync.go, utils/rollout CalculateRolloutPhase): the run's own in the canary status, the abort's in
    /// <c>status.message</c>, <c>status.abort</c> and phase Degraded; the stable ReplicaSet stays.
    /// </summary>
    public static ControllerScript CanaryAnalysisFails(string analysisMessage, long revision = 2) =>
        new(Lagging, v => { v.Observe(); v.SetStepAnalysis("ctr-inference-analysis-1", "Running", null); v.Set("Progressing", "waiting for all steps to complete"); }, v =>
        {
            v.Observe();
            v.SetStepAnalysis("ctr-inference-analysis-1", "Failed", analysisMessage);
            v.Set("Degraded", $"RolloutAborted: Rollout aborted update to revision {revision}: Step-based analysis phase error/failed: {analysisMessage}", abort: true);
        });

    /// <summary>The template back on the stable ReplicaSet's (a rollback): Argo goes straight to Healthy, no steps.</summary>
    public static ControllerScript FastRollback() =>
        new(Lagging, v => { v.Observe(); v.Promote(); v.Set("Healthy"); });

    /// <summary>First read: not observed yet; then Progressing for <paramref name="progressingReads"/> reads; then restarted and Healthy.</summary>
    public static ControllerScript BecomesHealthy(int progressingReads = 1) =>
        new([Lagging, .. Enumerable.Repeat(Progressing, progressingReads), v => { v.Observe(); v.Set("Healthy", restarted: true); }]);

    public static ControllerScript BecomesDegraded(string message) =>
        new(Lagging, Progressing, v => { v.Observe(); v.Set("Degraded", message); });

    public static ControllerScript Aborts(string message) =>
        new(Lagging, Progressing, v => { v.Observe(); v.Set("Degraded", message, abort: true); });

    public static ControllerScript NeverFinishes() => new(Lagging, Progressing);

    // The controller has not seen the new generation yet: the old, Healthy status is still there.
    private static void Lagging(LoopbackKubernetesApiServer.ControllerView view)
    {
    }

    private static void Progressing(LoopbackKubernetesApiServer.ControllerView view)
    {
        view.Observe();
        view.Set("Progressing", RestartingMessage);
    }
}
