using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace CtrFallback.MLflow;

/// <summary>
/// MLflow's REST API (<c>/api/2.0/mlflow/…</c>) and artifact proxy (<c>/api/2.0/mlflow-artifacts/artifacts/…</c>)
/// over one <see cref="HttpClient"/> from the factory; every failure becomes a <see cref="ModelStoreException"/> naming the call.
/// </summary>
/// <remarks>
/// Each call runs whole (send, status, body) inside the store's one Polly pipeline (retry of transient failures, then a
/// timeout per attempt), rather than in a resilience handler below <see cref="HttpClient"/>: a handler can only resend
/// the same request, while a create retried after a lost reply must first look for what the server already committed
/// (<see cref="CreateAsync"/>). It also retries a reply cut off while its body is read.
/// </remarks>
internal sealed class MLflowRestClient
{
    private const string RestPrefix = "api/2.0/mlflow/";
    private const string ArtifactPrefix = "api/2.0/mlflow-artifacts/artifacts";

    private static readonly ResiliencePropertyKey<string> CallKey = new("ctrfallback.mlflow.call");

    private readonly HttpClient _http;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;

    public MLflowRestClient(HttpClient http, ResiliencePipeline pipeline, ILogger logger)
    {
        _http = http;
        _pipeline = pipeline;
        _logger = logger;
    }

    /// <summary>
    /// The retry and per-attempt timeout every call runs in: 5xx, 408, 429, connection failures, replies cut off and
    /// attempt timeouts are retried; other answers are final (a client error answers the same way every time).
    /// </summary>
    public static ResiliencePipeline BuildPipeline(MLflowModelStoreOptions options, TimeProvider timeProvider, ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (options.RetryCount > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.RetryCount,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex, args.Context.CancellationToken)),
                OnRetry = args =>
                {
                    args.Context.Properties.TryGetValue(CallKey, out var call);
                    Log.CallRetried(logger, call ?? "call", args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!.Message);
                    return default;
                },
            });
        }

        return builder.AddTimeout(options.Timeout).Build();
    }

    public Task<TResponse> GetAsync<TResponse>(
        string endpoint,
        IEnumerable<KeyValuePair<string, string>> query,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        var url = RestPrefix + endpoint + "?" + string.Join('&', query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        var call = $"GET {endpoint}";
        return RunAsync(call, (_, ct) => SendAsync(call, () => new HttpRequestMessage(HttpMethod.Get, url), responseType, ct), cancellationToken);
    }

    public Task<TResponse> PostAsync<TRequest, TResponse>(
        string endpoint,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken) =>
        SendWithBodyAsync(HttpMethod.Post, endpoint, body, requestType, responseType, findCommitted: null, cancellationToken);

    /// <summary>
    /// A POST that creates something MLflow would create twice if sent twice. Before every retry, <paramref name="findCommitted"/>
    /// looks for what an earlier attempt may have committed before its reply was lost (a 5xx, a reset, a timeout); what it
    /// finds is returned instead of creating again.
    /// </summary>
    /// <param name="endpoint">The endpoint, for example <c>model-versions/create</c>.</param>
    /// <param name="body">The request.</param>
    /// <param name="requestType">The request's JSON contract.</param>
    /// <param name="responseType">The answer's JSON contract.</param>
    /// <param name="findCommitted">
    /// Looks the created thing up through the client it is given (which does not retry: a failed lookup fails the attempt,
    /// and the pipeline retries lookup and create together); <see langword="null"/> when nothing was committed.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<TResponse> CreateAsync<TRequest, TResponse>(
        string endpoint,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        Func<MLflowRestClient, CancellationToken, Task<TResponse?>> findCommitted,
        CancellationToken cancellationToken) =>
        SendWithBodyAsync(HttpMethod.Post, endpoint, body, requestType, responseType, findCommitted, cancellationToken);

    /// <summary>DELETE takes a JSON body in MLflow (a query string is ignored).</summary>
    public Task<TResponse> DeleteAsync<TRequest, TResponse>(
        string endpoint,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken) =>
        SendWithBodyAsync(HttpMethod.Delete, endpoint, body, requestType, responseType, findCommitted: null, cancellationToken);

    /// <summary>Uploads (or overwrites) a file; idempotent, so retried as is.</summary>
    public async Task PutArtifactAsync(string artifactUri, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var path = ArtifactPath(artifactUri);
        var call = $"PUT mlflow-artifacts/artifacts{path}";
        await RunAsync(
            call,
            (_, ct) => SendAsync(
                call,
                () => new HttpRequestMessage(HttpMethod.Put, ArtifactPrefix + path)
                {
                    Content = new ReadOnlyMemoryContent(content) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } },
                },
                MLflowJsonContext.Default.EmptyResponse,
                ct),
            cancellationToken).ConfigureAwait(false);
    }

    public Task<byte[]> GetArtifactAsync(string artifactUri, CancellationToken cancellationToken)
    {
        var path = ArtifactPath(artifactUri);
        var call = $"GET mlflow-artifacts/artifacts{path}";
        return RunAsync(
            call,
            async (_, ct) =>
            {
                using var response = await SendRawAsync(call, () => new HttpRequestMessage(HttpMethod.Get, ArtifactPrefix + path), ct).ConfigureAwait(false);
                return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);
    }

    /// <summary>Lists a directory through the proxy: basenames only; a missing directory lists as empty.</summary>
    public Task<ListArtifactsResponse> ListArtifactsAsync(string directoryUri, CancellationToken cancellationToken)
    {
        var path = ArtifactPath(directoryUri).TrimStart('/');
        var call = $"GET mlflow-artifacts/artifacts?path=/{path}";
        return RunAsync(
            call,
            (_, ct) => SendAsync(call, () => new HttpRequestMessage(HttpMethod.Get, ArtifactPrefix + "?path=" + path), MLflowJsonContext.Default.ListArtifactsResponse, ct),
            cancellationToken);
    }

    /// <summary>
    /// Maps an <c>mlflow-artifacts:</c> URI to the proxy's path, as MLflow's Python client does: drop the scheme and any
    /// authority; each segment is escaped.
    /// </summary>
    internal static string ArtifactPath(string artifactUri)
    {
        const string scheme = "mlflow-artifacts:";
        if (!artifactUri.StartsWith(scheme, StringComparison.Ordinal))
        {
            throw new ModelStoreException(
                $"MLflow artifact location '{artifactUri}' is not an mlflow-artifacts: URI. This store reads and writes artifacts only through MLflow's artifact proxy: start the tracking server with --serve-artifacts (versions registered by CtrFallback always have such a source).");
        }

        var rest = artifactUri[scheme.Length..];
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var slash = rest.IndexOf('/', 2);
            rest = slash < 0 ? string.Empty : rest[slash..];
        }

        var segments = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length == 0 ? string.Empty : "/" + string.Join('/', segments.Select(Uri.EscapeDataString));
    }

    private static bool IsTransient(Exception exception, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && exception switch
        {
            MLflowException { StatusCode: { } status } =>
                (int)status >= 500 || status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests,
            HttpRequestException or IOException or TimeoutRejectedException => true,
            _ => false,
        };

    private Task<TResponse> SendWithBodyAsync<TRequest, TResponse>(
        HttpMethod method,
        string endpoint,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        Func<MLflowRestClient, CancellationToken, Task<TResponse?>>? findCommitted,
        CancellationToken cancellationToken)
    {
        // Serialized once, so every attempt sends the same bytes; MLflow requires Content-Type: application/json.
        var json = JsonSerializer.SerializeToUtf8Bytes(body, requestType);
        var call = $"{method.Method} {endpoint}";
        return RunAsync(
            call,
            async (attempt, ct) =>
            {
                if (attempt > 0 && findCommitted is not null && await findCommitted(WithoutRetries(), ct).ConfigureAwait(false) is { } committed)
                {
                    Log.CreateFoundCommitted(_logger, call, attempt + 1);
                    return committed;
                }

                return await SendAsync(
                    call,
                    () => new HttpRequestMessage(method, RestPrefix + endpoint)
                    {
                        Content = new ByteArrayContent(json) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
                    },
                    responseType,
                    ct).ConfigureAwait(false);
            },
            cancellationToken);
    }

    /// <summary>This client's HTTP, without retries: for lookups inside an attempt, which the pipeline already retries.</summary>
    private MLflowRestClient WithoutRetries() => new(_http, ResiliencePipeline.Empty, _logger);

    /// <summary>
    /// Runs one call through the pipeline; <paramref name="attempt"/> receives the attempt number (0 first). Failures
    /// that remain become a <see cref="ModelStoreException"/> naming the call.
    /// </summary>
    private async Task<T> RunAsync<T>(string call, Func<int, CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(CallKey, call);
        var attempts = 0;
        try
        {
            return await _pipeline.ExecuteAsync(
                async ctx => await attempt(attempts++, ctx.CancellationToken).ConfigureAwait(false),
                context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutRejectedException or OperationCanceledException)
        {
            Log.CallUnreachable(_logger, call, ex);
            var what = ex switch
            {
                HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } or IOException => "the connection broke before the answer was complete",
                HttpRequestException => "could not reach the server",
                _ => "timed out",
            };
            var tries = attempts == 1 ? "1 attempt" : $"{attempts} attempts";
            throw new ModelStoreException($"MLflow call {call} failed: {what} at {_http.BaseAddress} ({tries}; {ex.Message}).", ex);
        }
        catch (JsonException ex)
        {
            throw new ModelStoreException($"MLflow call {call} answered with JSON this store cannot read: {ex.Message}", ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<TResponse> SendAsync<TResponse>(
        string call,
        Func<HttpRequestMessage> createRequest,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(call, createRequest, cancellationToken).ConfigureAwait(false);
        var result = await response.Content.ReadFromJsonAsync(responseType, cancellationToken).ConfigureAwait(false);
        return result ?? throw new ModelStoreException($"MLflow call {call} answered with an empty body.");
    }

    /// <summary>One HTTP attempt; an error answer becomes an <see cref="MLflowException"/>, other failures propagate to <see cref="RunAsync"/>.</summary>
    private async Task<HttpResponseMessage> SendRawAsync(string call, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        // A new message per attempt: HttpClient refuses to send one twice.
        using var request = createRequest();
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var exception = await ReadErrorAsync(call, response, cancellationToken).ConfigureAwait(false);
            Log.CallFailed(_logger, call, (int)response.StatusCode, exception.ErrorCode);
            throw exception;
        }
    }

    private static async Task<MLflowException> ReadErrorAsync(string call, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            body = string.Empty;
        }

        if (response.Content.Headers.ContentType?.MediaType == "application/json" || body.StartsWith('{'))
        {
            try
            {
                var error = JsonSerializer.Deserialize(body, MLflowJsonContext.Default.ErrorResponse);
                if (error?.ErrorCode is not null)
                {
                    return new MLflowException(call, response.StatusCode, error.ErrorCode, error.Message);
                }
            }
            catch (JsonException)
            {
                // Not MLflow's error shape; reported below with the body's start.
            }
        }

        // Unknown endpoints answer with Werkzeug's HTML page; keep a short excerpt, without markup noise.
        var excerpt = body.Length > 200 ? body[..200] + "…" : body;
        return new MLflowException(call, response.StatusCode, null, excerpt.ReplaceLineEndings(" ").Trim());
    }

    internal static AuthenticationHeaderValue? AuthorizationFor(MLflowModelStoreOptions options)
    {
        if (!string.IsNullOrEmpty(options.Token))
        {
            return new AuthenticationHeaderValue("Bearer", options.Token);
        }

        if (!string.IsNullOrEmpty(options.Username))
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Username}:{options.Password}"));
            return new AuthenticationHeaderValue("Basic", credentials);
        }

        return null;
    }
}

/// <summary>The HTTP status of a failed call, when the failure is an MLflow answer.</summary>
internal static class MLflowErrors
{
    public static bool Is(this Exception exception, HttpStatusCode status, string errorCode) =>
        exception is MLflowException mlflow && mlflow.StatusCode == status && mlflow.ErrorCode == errorCode;

    public static bool IsNotFound(this Exception exception) =>
        exception is MLflowException { ErrorCode: "RESOURCE_DOES_NOT_EXIST" };

    public static bool IsAlreadyExists(this Exception exception) =>
        exception is MLflowException { ErrorCode: "RESOURCE_ALREADY_EXISTS" };
}
