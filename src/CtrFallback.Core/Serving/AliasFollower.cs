using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.ML;

namespace CtrFallback.Serving;

/// <summary>The poll loop of every serving loader: check at once, then after each period, until stopped.</summary>
internal static class PollLoop
{
    public static async Task RunAsync(Func<CancellationToken, Task> check, TimeSpan period, TimeProvider time, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await check(stoppingToken).ConfigureAwait(false);
                await Task.Delay(period, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}

/// <summary>Where a followed alias's models go: the in-process predictor, or a prediction engine pool's loader.</summary>
internal interface IAliasFollowerTarget
{
    /// <summary>The version serving now, if any.</summary>
    ModelVersion? CurrentVersion { get; }

    /// <summary>The field layout later models must keep, or <see langword="null"/> before the first model.</summary>
    FeatureSchema? Layout { get; }

    /// <summary>Swaps in a loaded, warmed model; returns the one it replaced (in-flight work may still be using it).</summary>
    CtrModel? Publish(CtrModel model, ModelVersion version, DateTimeOffset loadedAt);

    /// <summary>Counts a swap.</summary>
    void Reloaded();

    /// <summary>Counts a failed check by its reason.</summary>
    void ReloadFailed(string reason);
}

/// <summary>
/// The one champion follower: looks up a store's alias (on a <see cref="TimeProvider"/> timer, and on demand), then
/// downloads (the store verifies SHA-256), loads, checks the layout, warms and publishes the new version. Any failure
/// keeps the current model serving; a version that cannot be served is remembered and not retried every poll.
/// Both <see cref="ICtrPredictor"/> and <c>PredictionEnginePool.FromModelStore</c> follow through it.
/// </summary>
internal sealed class AliasFollower : IDisposable
{
    private readonly IModelStore _store;
    private readonly IAliasFollowerTarget _target;
    private readonly string _modelName;
    private readonly string _alias;
    private readonly int? _pinned;
    private readonly MLContext _ml;
    private readonly int _warmupPredictions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string ModelName, int Version, string Sha256)? _rejected;
    private CtrModel? _retired;

    // pinned: a version to serve instead of the alias's (ServingOptions.Version), or null.
    public AliasFollower(IModelStore store, IAliasFollowerTarget target, string modelName, string alias, MLContext ml, int warmupPredictions, TimeProvider time, ILogger logger, int? pinned = null)
    {
        (_store, _target, _modelName, _alias, _ml, _warmupPredictions, _time, _logger, _pinned) = (store, target, modelName, alias, ml, warmupPredictions, time, logger, pinned);
    }

    /// <summary>What is followed, in words: <c>alias champion</c> or <c>version 7 (pinned)</c>.</summary>
    public string Follows => _pinned is { } v ? $"version {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} (pinned by CtrFallback:Serving:Version)" : $"alias {_alias}";

    /// <summary>Checks the alias now; one check at a time.</summary>
    public async Task<ChampionReloadResult> ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var activity = CtrFallbackActivities.Source.StartActivity("ctrfallback.serving.reload");
        try
        {
            var result = await CheckAsync(cancellationToken).ConfigureAwait(false);
            if (activity is not null)
            {
                activity.SetTag("ctrfallback.reload.outcome", result.Outcome.ToString());
                activity.SetTag("ctrfallback.version", result.Version?.Label);
                if (result.Outcome == ChampionReloadOutcome.Failed)
                {
                    activity.SetStatus(ActivityStatusCode.Error, result.Message);
                }
                else if (result.Outcome is ChampionReloadOutcome.Unchanged or ChampionReloadOutcome.NoChampion)
                {
                    // A poll that found nothing new is not worth a span every interval: leave it unrecorded.
                    activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                }
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Checks the alias at once, then every <paramref name="period"/>, until <paramref name="stoppingToken"/> fires.</summary>
    public Task FollowAsync(TimeSpan period, CancellationToken stoppingToken) =>
        PollLoop.RunAsync(ReloadAsync, period, _time, stoppingToken);

    public void Dispose()
    {
        _gate.Dispose();
        _retired?.Dispose();
    }

    private async Task<ChampionReloadResult> CheckAsync(CancellationToken cancellationToken)
    {
        var current = _target.CurrentVersion;
        var currentLabel = current?.Label ?? "(none)";
        ModelVersion? version;
        try
        {
            // A pinned version is looked up by number: the alias may point elsewhere (a canary serves old and new side by side).
            version = _pinned is { } pinned
                ? await _store.GetVersionAsync(_modelName, pinned, cancellationToken).ConfigureAwait(false)
                : await _store.GetVersionByAliasAsync(_modelName, _alias, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ServingLog.AliasLookupFailed(_logger, _modelName, Follows, "store", currentLabel, ex);
            _target.ReloadFailed("lookup");
            return new ChampionReloadResult(ChampionReloadOutcome.Failed, null, $"looking up {Follows}: {ex.Message}");
        }

        if (version is null)
        {
            if (current is null)
            {
                ServingLog.NoChampion(_logger, _modelName, Follows);
            }

            return new ChampionReloadResult(ChampionReloadOutcome.NoChampion, null, $"model {_modelName} has no {Follows}");
        }

        if (current is not null && current.ModelName == version.ModelName && current.Version == version.Version)
        {
            return new ChampionReloadResult(ChampionReloadOutcome.Unchanged, version, $"{version.Label} is serving");
        }

        if (_rejected == (version.ModelName, version.Version, version.ArtifactSha256))
        {
            ServingLog.StillRejected(_logger, version.Label);
            return new ChampionReloadResult(ChampionReloadOutcome.PreviouslyRejected, version, $"{version.Label} was rejected before");
        }

        var started = _time.GetTimestamp();
        byte[] artifact;
        try
        {
            artifact = await _store.DownloadArtifactAsync(version.ModelName, version.Version, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelArtifactIntegrityException ex)
        {
            // Versions are immutable: a checksum mismatch will not heal, so do not retry it every poll.
            return Reject(version, "checksum", currentLabel, ex, remember: true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A download can fail for passing reasons: try again at the next poll.
            return Reject(version, "download", currentLabel, ex, remember: false);
        }

        CtrModel model;
        try
        {
            model = CtrModel.Load(artifact, _ml);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Reject(version, "corrupt", currentLabel, ex, remember: true);
        }

        var layout = _target.Layout;
        if (layout is not null && !SchemaLayout.SameFields(layout, model.Schema))
        {
            var difference = SchemaLayout.Difference(layout, model.Schema);
            model.Dispose();
            return Reject(version, "schema", currentLabel, new InvalidDataException($"schema mismatch: {difference}"), remember: true);
        }

        if (Warm(model) is { } warmupError)
        {
            model.Dispose();
            return Reject(version, "warmup", currentLabel, new InvalidDataException(warmupError), remember: true);
        }

        var previous = _target.Publish(model, version, _time.GetUtcNow());

        // In-flight predictions may still hold the previous model; dispose it one swap later, not now.
        _retired?.Dispose();
        _retired = previous;
        _rejected = null;
        _target.Reloaded();
        ServingLog.ChampionLoaded(_logger, version.Label, version.ArtifactSha256, (long)_time.GetElapsedTime(started).TotalMilliseconds, currentLabel);
        return new ChampionReloadResult(ChampionReloadOutcome.Loaded, version, $"{version.Label} is serving");
    }

    private ChampionReloadResult Reject(ModelVersion version, string reason, string current, Exception exception, bool remember)
    {
        if (remember)
        {
            _rejected = (version.ModelName, version.Version, version.ArtifactSha256);
        }

        ServingLog.ChampionRejected(_logger, version.Label, reason, current, exception);
        _target.ReloadFailed(reason);
        return new ChampionReloadResult(ChampionReloadOutcome.Failed, version, $"{version.Label} rejected ({reason}): {exception.Message}");
    }

    /// <summary>Scores warm-up impressions (all fields missing, then all set); returns why the model is unfit, or null.</summary>
    private string? Warm(CtrModel model)
    {
        try
        {
            var empty = new Impression(model.Schema);
            var full = new Impression(model.Schema);
            for (var i = 0; i < model.Schema.NumericFields.Count; i++)
            {
                full.SetNumeric(i, i + 1);
            }

            for (var i = 0; i < model.Schema.CategoricalFields.Count; i++)
            {
                full.SetCategorical(i, "warmup" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (model.Schema.Timestamp is not null)
            {
                full.SetTimestamp(_time.GetUtcNow());
            }

            for (var i = 0; i < _warmupPredictions; i++)
            {
                var p = model.Predict((i & 1) == 0 ? empty : full);
                if (!float.IsFinite(p) || p is < 0 or > 1)
                {
                    return $"warm-up prediction {i} was {p}, not a probability";
                }
            }

            return null;
        }
        catch (Exception ex)
        {
            Debug.WriteLine(ex);
            return $"warm-up prediction threw {ex.GetType().Name}: {ex.Message}";
        }
    }
}
