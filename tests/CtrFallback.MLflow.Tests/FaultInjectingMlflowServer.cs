using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CtrFallback.Tests;

/// <summary>
/// A real HTTP server on 127.0.0.1 (ephemeral port) that names each MLflow request by its call (<c>METHOD endpoint</c>,
/// for example <c>POST model-versions/create</c>), records it, and injects the faults queued for that call: before
/// serving (an error, a stall) or after serving, when the effect is committed (an error, a reset connection, no answer).
/// What serving means is the subclass's: <see cref="LoopbackMlflowServer"/> answers from memory, <see cref="MlflowFaultProxy"/>
/// forwards to a real MLflow.
/// </summary>
internal abstract class FaultInjectingMlflowServer : IAsyncDisposable
{
    protected const string RestPrefix = "/api/2.0/mlflow/";
    protected const string ArtifactPrefix = "/api/2.0/mlflow-artifacts/artifacts";

    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new(StringComparer.Ordinal);
    private WebApplication? _app;

    protected enum FaultKind
    {
        /// <summary>Served normally: a placeholder so that a later request of the call is the one that fails.</summary>
        Pass,

        /// <summary>Answered with an error, not served.</summary>
        Fail,

        /// <summary>Held open, not served.</summary>
        Stall,

        /// <summary>Served (committed), then answered with an error.</summary>
        FailAfterServing,

        /// <summary>Served (committed), then the connection is reset.</summary>
        ResetAfterServing,

        /// <summary>Served (committed), then no answer until the client gives up.</summary>
        StallAfterServing,
    }

    /// <summary>The server's base address, for example <c>http://127.0.0.1:43121/</c>.</summary>
    public Uri Uri { get; private set; } = null!;

    /// <summary>Every MLflow request received, as <c>METHOD endpoint</c> (for example <c>POST runs/create</c>), in order.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Answers the next <paramref name="times"/> requests of a call with an error instead of serving them.</summary>
    /// <param name="call"><c>METHOD endpoint</c>, for example <c>POST model-versions/create</c> or <c>PUT mlflow-artifacts/artifacts</c>.</param>
    /// <param name="status">The HTTP status.</param>
    /// <param name="errorCode">MLflow's error_code, or <see langword="null"/> for an HTML page (as Werkzeug or a proxy answers).</param>
    /// <param name="times">How many requests fail.</param>
    /// <param name="skip">How many requests of the call are served normally first (to fail, say, the second set-tag).</param>
    public void FailNext(string call, int status, string? errorCode, int times = 1, int skip = 0) =>
        Enqueue(call, new Fault(FaultKind.Fail, status, errorCode), times, skip);

    /// <summary>
    /// Serves the next <paramref name="times"/> requests of a call (their effect is committed) but answers each with an
    /// error, as a server or proxy that fails after committing (<paramref name="errorCode"/> <see langword="null"/>: an HTML page).
    /// </summary>
    public void FailAfterServingNext(string call, int status, string? errorCode, int times = 1, int skip = 0) =>
        Enqueue(call, new Fault(FaultKind.FailAfterServing, status, errorCode), times, skip);

    /// <summary>Serves the next <paramref name="times"/> requests of a call (committed), then resets the connection instead of answering.</summary>
    public void ResetAfterServingNext(string call, int times = 1, int skip = 0) =>
        Enqueue(call, new Fault(FaultKind.ResetAfterServing, 0, null), times, skip);

    /// <summary>Serves the next request of a call (committed), then holds the answer back until the client gives up (a lost reply seen as a timeout).</summary>
    public void StallAfterServingNext(string call, int skip = 0) =>
        Enqueue(call, new Fault(FaultKind.StallAfterServing, 0, null), 1, skip);

    /// <summary>Holds the next request of a call open until the client gives up on it (a timeout or a cancellation).</summary>
    /// <returns>A task that completes when the stalled request has arrived.</returns>
    public Task StallNext(string call)
    {
        var fault = new Fault(FaultKind.Stall, 0, null);
        Enqueue(call, fault, 1, 0);
        return fault.Arrived.Task;
    }

    /// <summary>
    /// Serves the next request of a call (committed) and loses its reply: <paramref name="fault"/> is an HTTP status
    /// (<c>"500"</c>: MLflow's JSON error; <c>"502"</c>: a proxy's HTML page) or <c>"reset"</c> (the connection is reset).
    /// </summary>
    public void LoseReplyOfNext(string call, string fault)
    {
        switch (fault)
        {
            case "reset":
                ResetAfterServingNext(call);
                break;
            case "500":
                FailAfterServingNext(call, 500, "INTERNAL_ERROR");
                break;
            default:
                FailAfterServingNext(call, int.Parse(fault, System.Globalization.CultureInfo.InvariantCulture), errorCode: null);
                break;
        }
    }

    /// <summary>How many requests of a call arrived, counting failed ones.</summary>
    public int CountOf(string call) => Requests.Count(r => r.Call == call);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await DisposeCoreAsync();
    }

    protected virtual ValueTask DisposeCoreAsync() => default;

    /// <summary>Starts listening on an ephemeral loopback port; <see cref="Uri"/> is set when this returns.</summary>
    protected async Task StartListeningAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Uri = new Uri(address.TrimEnd('/') + "/");
    }

    /// <summary>Serves an MLflow request; <paramref name="afterServing"/>, when set, is answered (<see cref="FailAfterServingAsync"/>) instead of the real answer.</summary>
    /// <param name="context">The request.</param>
    /// <param name="call"><c>METHOD endpoint</c>.</param>
    /// <param name="artifactPath">The path under the artifact proxy, or <see langword="null"/> for a REST call.</param>
    /// <param name="afterServing">The fault to answer with once the request is served, if any.</param>
    protected abstract Task ServeAsync(HttpContext context, string call, string? artifactPath, Fault? afterServing);

    /// <summary>Serves a request outside MLflow's REST and artifact prefixes (no faults, not recorded).</summary>
    protected abstract Task ServeOtherAsync(HttpContext context);

    /// <summary>The answer to a request whose effect is already committed: an error, a reset connection, or no answer at all.</summary>
    protected static async Task FailAfterServingAsync(HttpContext context, Fault fault, string call)
    {
        switch (fault.Kind)
        {
            case FaultKind.ResetAfterServing:
                context.Abort();
                return;
            case FaultKind.StallAfterServing:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            default:
                await FailAsync(context, fault, $"after serving {call}");
                return;
        }
    }

    protected static Task Error(HttpContext context, int status, string errorCode, string message) =>
        Text(context, status, new JsonObject { ["error_code"] = errorCode, ["message"] = message }.ToJsonString(), "application/json");

    protected static async Task Text(HttpContext context, int status, string text, string contentType)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text));
    }

    private static Task FailAsync(HttpContext context, Fault fault, string what) =>
        fault.ErrorCode is null
            ? Text(context, fault.Status, $"<!doctype html><title>{fault.Status} Injected</title><h1>Injected failure {what}</h1>", "text/html")
            : Error(context, fault.Status, fault.ErrorCode, $"Injected {fault.ErrorCode} {what}.");

    private void Enqueue(string call, Fault fault, int times, int skip)
    {
        var queue = _faults.GetOrAdd(call, _ => new ConcurrentQueue<Fault>());
        for (var i = 0; i < skip; i++)
        {
            queue.Enqueue(new Fault(FaultKind.Pass, 0, null));
        }

        for (var i = 0; i < times; i++)
        {
            queue.Enqueue(fault);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        string endpoint;
        string? artifactPath = null;
        if (path.StartsWith(ArtifactPrefix, StringComparison.Ordinal))
        {
            endpoint = "mlflow-artifacts/artifacts";
            artifactPath = path[ArtifactPrefix.Length..].Trim('/');
        }
        else if (path.StartsWith(RestPrefix, StringComparison.Ordinal))
        {
            endpoint = path[RestPrefix.Length..];
        }
        else
        {
            await ServeOtherAsync(context);
            return;
        }

        var call = $"{request.Method} {endpoint}";
        Requests.Enqueue(new RecordedRequest(call, artifactPath, request.Headers.Authorization.ToString()));
        Fault? fault = null;
        if (_faults.TryGetValue(call, out var queue))
        {
            queue.TryDequeue(out fault);
        }

        switch (fault?.Kind)
        {
            case FaultKind.Stall:
                fault.Arrived.TrySetResult();
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            case FaultKind.Fail:
                await FailAsync(context, fault, $"for {call}");
                return;
            case FaultKind.FailAfterServing or FaultKind.ResetAfterServing or FaultKind.StallAfterServing:
                await ServeAsync(context, call, artifactPath, fault);
                return;
            default:
                await ServeAsync(context, call, artifactPath, afterServing: null);
                return;
        }
    }

    internal sealed record RecordedRequest(string Call, string? ArtifactPath, string Authorization);

    protected sealed record Fault(FaultKind Kind, int Status, string? ErrorCode)
    {
        public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
