using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Polly.Timeout;

namespace CtrFallback.MLflow;

/// <summary>
/// MLflow's REST API (<c>/api/2.0/mlflow/…</c>) and artifact proxy (<c>/api/2.0/mlflow-artifacts/artifacts/…</c>)
/// over one <see cref="HttpClient"/> from the factory; every failure becomes a <see cref="ModelStoreException"/> naming the call.
/// </summary>
internal sealed class MLflowRestClient
{
    private const string RestPrefix = "api/2.0/mlflow/";
    private const string ArtifactPrefix = "api/2.0/mlflow-artifacts/artifacts";

    private readonly HttpClient _http;
    private readonly ILogger _logger;

    public MLflowRestClient(HttpClient http, ILogger logger)
    {
        _http = http;
        _logger = logger;
    }

    public Task<TResponse> GetAsync<TResponse>(
        string endpoint,
        IEnumerable<KeyValuePair<string, string>> query,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        var url = RestPrefix + endpoint + "?" + string.Join('&', query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        return SendAsync($"GET {endpoint}", () => new HttpRequestMessage(HttpMethod.Get, url), responseType, cancellationToken);
    }

    public Task<TResponse> PostAsync<TRequest, TResponse>(
        string endpoint,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken) =>
        SendWithBodyAsync(HttpMethod.Post, endpoint, body, requestType, responseType, cancellationToken);

    /// <summary>DELETE takes a JSON body in MLflow (a query string is ignored).</summary>
    public Task<TResponse> DeleteAsync<TRequest, TResponse>(
        string endpoint,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken) =>
        SendWithBodyAsync(HttpMethod.Delete, endpoint, body, requestType, responseType, cancellationToken);

    public async Task PutArtifactAsync(string artifactUri, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var path = ArtifactPath(artifactUri);
        await SendAsync(
            $"PUT mlflow-artifacts/artifacts{path}",
            () => new HttpRequestMessage(HttpMethod.Put, ArtifactPrefix + path)
            {
                Content = new ReadOnlyMemoryContent(content) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } },
            },
            MLflowJsonContext.Default.EmptyResponse,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]> GetArtifactAsync(string artifactUri, CancellationToken cancellationToken)
    {
        var path = ArtifactPath(artifactUri);
        var call = $"GET mlflow-artifacts/artifacts{path}";
        using var response = await SendRawAsync(call, () => new HttpRequestMessage(HttpMethod.Get, ArtifactPrefix + path), cancellationToken).ConfigureAwait(false);
        try
        {
            return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new ModelStoreException($"MLflow call {call} failed while reading the artifact: {ex.Message}", ex);
        }
    }

    /// <summary>Lists a directory through the proxy: basenames only; a missing directory lists as empty.</summary>
    public Task<ListArtifactsResponse> ListArtifactsAsync(string directoryUri, CancellationToken cancellationToken)
    {
        var path = ArtifactPath(directoryUri).TrimStart('/');
        return SendAsync(
            $"GET mlflow-artifacts/artifacts?path=/{path}",
            () => new HttpRequestMessage(HttpMethod.Get, ArtifactPrefix + "?path=" + path),
            MLflowJsonContext.Default.ListArtifactsResponse,
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

    private Task<TResponse> SendWithBodyAsync<TRequest, TResponse>(
        HttpMethod method,
        string endpoint,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        // Serialized once, so a retried attempt sends the same bytes; MLflow requires Content-Type: application/json.
        var json = JsonSerializer.SerializeToUtf8Bytes(body, requestType);
        return SendAsync(
            $"{method.Method} {endpoint}",
            () => new HttpRequestMessage(method, RestPrefix + endpoint)
            {
                Content = new ByteArrayContent(json) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
            },
            responseType,
            cancellationToken);
    }

    private async Task<TResponse> SendAsync<TResponse>(
        string call,
        Func<HttpRequestMessage> createRequest,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(call, createRequest, cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await response.Content.ReadFromJsonAsync(responseType, cancellationToken).ConfigureAwait(false);
            return result ?? throw new ModelStoreException($"MLflow call {call} answered with an empty body.");
        }
        catch (JsonException ex)
        {
            throw new ModelStoreException($"MLflow call {call} answered with JSON this store cannot read: {ex.Message}", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ModelStoreException($"MLflow call {call} failed while reading the answer: {ex.Message}", ex);
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(string call, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        using var request = createRequest();
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or OperationCanceledException)
        {
            Log.CallUnreachable(_logger, call, ex);
            var what = ex is HttpRequestException ? "could not reach the server" : "timed out";
            throw new ModelStoreException($"MLflow call {call} failed: {what} at {_http.BaseAddress} ({ex.Message}).", ex);
        }

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
        catch (HttpRequestException)
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
