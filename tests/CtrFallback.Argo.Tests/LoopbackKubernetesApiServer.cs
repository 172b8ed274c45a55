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
/// <c>argoproj.io/v1alpha1</c> Rollout, and plays the Argo controller: a <c>spec.restartAt</c> merge patch bumps
/// <c>metadata.generation</c>, and each later GET advances the status one step along a <see cref="ControllerScript"/>.
/// "Delay" is counted in reads, not seconds, so tests do not depend on the machine's speed.
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

    // The Rollout as the API server stores it.
    private long _generation = 3;
    private string? _specRestartAt;
    private string _observedGeneration = "3";
    private string _phase = "Healthy";
    private string? _message;
    private string? _restartedAt;
    private bool _abort;
    private int _readsSincePatch;

    private LoopbackKubernetesApiServer(WebApplication app, string @namespace, string rolloutName, string token)
    {
        _app = app;
        Namespace = @namespace;
        RolloutName = rolloutName;
        Token = token;
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
                    if (_specRestartAt is not null)
                    {
                        Script.Apply(_readsSincePatch, new ControllerView(this));
                    }

                    return (HttpStatusCode.OK, Rollout());

                case "PATCH":
                    // The API server refuses strategic merge patches for custom resources.
                    if (request.ContentType?.StartsWith("application/merge-patch+json", StringComparison.Ordinal) != true)
                    {
                        return Status(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
                    }

                    var restartAt = JsonNode.Parse(request.Body)?["spec"]?["restartAt"]?.GetValue<string>();
                    if (restartAt != _specRestartAt)
                    {
                        _specRestartAt = restartAt;
                        _generation++;
                        _readsSincePatch = 0;
                    }

                    return (HttpStatusCode.OK, Rollout());

                default:
                    return Status(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", $"{request.Method} is not supported by the loopback server");
            }
        }
    }

    private JsonObject Rollout()
    {
        var status = new JsonObject
        {
            ["observedGeneration"] = _observedGeneration,
            ["phase"] = _phase,
            ["replicas"] = 2,
            ["availableReplicas"] = 2,
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

        var spec = new JsonObject { ["replicas"] = 2 };
        if (_specRestartAt is not null)
        {
            spec["restartAt"] = _specRestartAt;
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
            ["spec"] = spec,
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

        public string? SpecRestartAt => server._specRestartAt;

        public void Observe() => server._observedGeneration = server._generation.ToString(CultureInfo.InvariantCulture);

        public void Set(string phase, string? message = null, bool restarted = false, bool abort = false)
        {
            server._phase = phase;
            server._message = message;
            server._abort = abort;
            if (restarted)
            {
                server._restartedAt = server._specRestartAt;
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

    public int Steps => steps.Length;

    public void Apply(int read, LoopbackKubernetesApiServer.ControllerView view) => steps[Math.Min(read, steps.Length) - 1](view);

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
