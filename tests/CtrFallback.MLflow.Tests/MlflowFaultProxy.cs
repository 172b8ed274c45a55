using Microsoft.AspNetCore.Http;

namespace CtrFallback.Tests;

/// <summary>
/// A reverse proxy on loopback in front of a real MLflow: every request is forwarded as is (method, path, query,
/// body, content type, authorization), and a fault queued for a call (<see cref="FaultInjectingMlflowServer"/>)
/// replaces the server's answer after the server has committed it, as a proxy that loses the reply would.
/// </summary>
internal sealed class MlflowFaultProxy : FaultInjectingMlflowServer
{
    private readonly HttpClient _upstream;

    private MlflowFaultProxy(Uri upstream)
    {
        _upstream = new HttpClient { BaseAddress = upstream, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The real server requests are forwarded to.</summary>
    public Uri Upstream => _upstream.BaseAddress!;

    public static async Task<MlflowFaultProxy> StartAsync(Uri upstream)
    {
        var proxy = new MlflowFaultProxy(upstream);
        await proxy.StartListeningAsync();
        return proxy;
    }

    protected override Task ServeAsync(HttpContext context, string call, string? artifactPath, Fault? afterServing) =>
        ForwardAsync(context, afterServing, call);

    protected override Task ServeOtherAsync(HttpContext context) => ForwardAsync(context, afterServing: null, call: null);

    protected override ValueTask DisposeCoreAsync()
    {
        _upstream.Dispose();
        return default;
    }

    private async Task ForwardAsync(HttpContext context, Fault? afterServing, string? call)
    {
        var request = context.Request;
        using var forwarded = new HttpRequestMessage(new HttpMethod(request.Method), request.Path.Value!.TrimStart('/') + request.QueryString.Value);
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        if (body.Length > 0 || request.ContentType is not null)
        {
            forwarded.Content = new ByteArrayContent(body.ToArray());
            if (request.ContentType is not null)
            {
                forwarded.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }

        if (request.Headers.Authorization.Count > 0)
        {
            forwarded.Headers.TryAddWithoutValidation("Authorization", request.Headers.Authorization.ToString());
        }

        // The whole answer is read first: once MLflow has answered, whatever it did is committed.
        using var answer = await _upstream.SendAsync(forwarded, context.RequestAborted);
        var bytes = await answer.Content.ReadAsByteArrayAsync(context.RequestAborted);
        if (afterServing is not null)
        {
            await FailAfterServingAsync(context, afterServing, call!);
            return;
        }

        context.Response.StatusCode = (int)answer.StatusCode;
        if (answer.Content.Headers.ContentType is { } contentType)
        {
            context.Response.ContentType = contentType.ToString();
        }

        if (answer.Content.Headers.ContentDisposition is { } disposition)
        {
            context.Response.Headers.ContentDisposition = disposition.ToString();
        }

        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}
