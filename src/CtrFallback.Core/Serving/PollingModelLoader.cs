using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace CtrFallback.Serving;

/// <summary>A loader that polls a source on a <see cref="TimeProvider"/> timer, forever, and on demand.</summary>
internal abstract class PollingModelLoader : ModelLoader, IDisposable
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _period;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private CancellationTokenSource _changed = new();
    private volatile ITransformer? _model;
    private Task? _loop;

    protected PollingModelLoader(MLContext ml, TimeProvider time, TimeSpan period, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        (Ml, _time, _period, Logger) = (ml, time, period, logger);
    }

    protected MLContext Ml { get; }

    protected ILogger Logger { get; }

    protected abstract string Source { get; }

    /// <summary>Starts polling; the first poll runs at once.</summary>
    public void Start() => _loop ??= PollForeverAsync(_stop.Token);

    public override IChangeToken GetReloadToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public override ITransformer GetModel() => _model ?? throw new ModelNotReadyException($"No model has been loaded from {Source} yet.");

    public override async Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await PollOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        _changed.Dispose();
    }

    /// <summary>Fetches the model if it changed; returns the new model or null when nothing changed.</summary>
    protected abstract Task<ITransformer?> FetchIfChangedAsync(CancellationToken cancellationToken);

    private async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        ITransformer? model;
        try
        {
            model = await FetchIfChangedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Any failure keeps the old model and the polling going.
            ServingLog.LoaderFailed(Logger, Source, ex);
            return;
        }

        if (model is null)
        {
            return;
        }

        CancellationTokenSource fired;
        lock (_lock)
        {
            _model = model;
            fired = _changed;
            _changed = new CancellationTokenSource();
        }

        fired.Cancel();
        fired.Dispose();
    }

    private async Task PollForeverAsync(CancellationToken stop)
    {
        await Task.Yield();
        await PollLoop.RunAsync(ReloadAsync, _period, _time, stop).ConfigureAwait(false);
    }
}

/// <summary>
/// Polls a URI through <see cref="IHttpClientFactory"/>: a conditional GET when the server gave an ETag, otherwise a
/// full GET compared by SHA-256, so a server without ETags is still followed (upstream stopped polling for good).
/// </summary>
internal sealed class UriModelLoader : PollingModelLoader
{
    public const string HttpClientName = "CtrFallback.ModelLoader";
    private readonly IHttpClientFactory _http;
    private readonly Uri _uri;
    private EntityTagHeaderValue? _etag;
    private byte[]? _sha256;

    public UriModelLoader(MLContext ml, IHttpClientFactory http, Uri uri, TimeSpan period, TimeProvider time, ILogger logger)
        : base(ml, time, period, logger)
    {
        (_http, _uri) = (http, uri);
    }

    protected override string Source => _uri.ToString();

    protected override async Task<ITransformer?> FetchIfChangedAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        if (_etag is not null)
        {
            request.Headers.IfNoneMatch.Add(_etag);
        }

        var client = _http.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var sha256 = SHA256.HashData(bytes);
        _etag = response.Headers.ETag;
        if (_sha256 is not null && sha256.AsSpan().SequenceEqual(_sha256))
        {
            return null;
        }

        var model = ArtifactTransformer.Load(Ml, bytes);
        _sha256 = sha256;
        ServingLog.LoaderLoaded(Logger, Source, $"{bytes.Length} bytes, SHA-256 {Convert.ToHexStringLower(sha256)}");
        return model;
    }
}

/// <summary>
/// A prediction engine pool's model that follows a model store alias through the one <see cref="AliasFollower"/> (the
/// same checks as <see cref="ICtrPredictor"/>: SHA-256, load, layout, warm-up; a bad version keeps the old model).
/// </summary>
internal sealed class ModelStoreLoader : ModelLoader, IAliasFollowerTarget, IDisposable
{
    private readonly AliasFollower _follower;
    private readonly TimeSpan _period;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly string _source;
    private CancellationTokenSource _changed = new();
    private volatile ServedModel? _served;
    private FeatureSchema? _layout;
    private Task? _loop;

    public ModelStoreLoader(MLContext ml, IModelStore store, string modelName, string alias, TimeSpan period, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        _period = period;
        _source = $"model store {modelName}@{alias}";
        _follower = new AliasFollower(store, this, modelName, alias, ml, ServingOptions.DefaultWarmupPredictions, time, logger);
    }

    ModelVersion? IAliasFollowerTarget.CurrentVersion => _served?.Version;

    FeatureSchema? IAliasFollowerTarget.Layout => _layout;

    /// <summary>Starts following; the first check runs at once.</summary>
    public void Start() => _loop ??= Task.Run(() => _follower.FollowAsync(_period, _stop.Token));

    public override IChangeToken GetReloadToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public override ITransformer GetModel() => _served?.Model.Transformer ?? throw new ModelNotReadyException($"No model has been loaded from {_source} yet.");

    public override Task ReloadAsync(CancellationToken cancellationToken = default) => _follower.ReloadAsync(cancellationToken);

    CtrModel? IAliasFollowerTarget.Publish(CtrModel model, ModelVersion version, DateTimeOffset loadedAt)
    {
        CancellationTokenSource fired;
        ServedModel? previous;
        lock (_lock)
        {
            _layout ??= model.Schema;
            previous = _served;
            _served = new ServedModel(model, version);
            fired = _changed;
            _changed = new CancellationTokenSource();
        }

        fired.Cancel();
        fired.Dispose();
        return previous?.Model;
    }

    void IAliasFollowerTarget.Reloaded()
    {
    }

    void IAliasFollowerTarget.ReloadFailed(string reason)
    {
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop?.Wait();
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
        _changed.Dispose();
        _follower.Dispose();
    }

    private sealed record ServedModel(CtrModel Model, ModelVersion Version);
}
