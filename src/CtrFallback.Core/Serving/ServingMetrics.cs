using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CtrFallback.Serving;

/// <summary>
/// Serving's instruments on the <see cref="CtrFallbackTelemetry.MeterName"/> meter: predictions, reloads, failed
/// reloads, and the serving version, readiness and load time. OpenTelemetry's Prometheus exporter names them
/// <c>ctrfallback_serving_predictions_total</c>, <c>ctrfallback_serving_reloads_total</c>,
/// <c>ctrfallback_serving_reload_failures_total{reason}</c>, <c>ctrfallback_serving_model_version{model}</c>,
/// <c>ctrfallback_serving_model_ready</c> and <c>ctrfallback_serving_model_loaded_time_seconds{model}</c>; and the served
/// version's drift: <c>ctrfallback_serving_drift_score_psi{model,version}</c>,
/// <c>ctrfallback_serving_drift_mean_predicted_ctr{model,version}</c>, <c>ctrfallback_serving_drift_window_impressions{model,version}</c>,
/// <c>ctrfallback_serving_drift_unseen_share{model,version,field}</c>, <c>ctrfallback_serving_drift_unseen_share_change{model,version,field}</c>
/// and <c>ctrfallback_serving_drift_missing_share_change{model,version,field}</c>.
/// </summary>
internal sealed class ServingMetrics : IDisposable
{
    public const string Predictions = "ctrfallback.serving.predictions";
    public const string Reloads = "ctrfallback.serving.reloads";
    public const string FailedReloads = "ctrfallback.serving.reload_failures";
    public const string ModelVersion = "ctrfallback.serving.model_version";
    public const string ModelReady = "ctrfallback.serving.model_ready";
    public const string ModelLoadedTime = "ctrfallback.serving.model_loaded_time";
    public const string DriftScorePsi = "ctrfallback.serving.drift.score_psi";
    public const string DriftUnseenShare = "ctrfallback.serving.drift.unseen_share";
    public const string DriftUnseenShareChange = "ctrfallback.serving.drift.unseen_share_change";
    public const string DriftMissingShareChange = "ctrfallback.serving.drift.missing_share_change";
    public const string DriftMeanPredictedCtr = "ctrfallback.serving.drift.mean_predicted_ctr";
    public const string DriftWindowImpressions = "ctrfallback.serving.drift.window_impressions";

    // One cache line (8 longs) per slot, so cores counting predictions do not fight over one line.
    private const int Stride = 8;
    private readonly long[] _predictionCells;
    private readonly int _slots;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _failedReloads;
    private long _reloadCount;
    private long _failedReloadCount;

    public ServingMetrics(IMeterFactory? meterFactory, Func<ServingModelInfo?> current, Func<ServingDrift?>? drift = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        _slots = Math.Max(1, Environment.ProcessorCount);
        _predictionCells = new long[_slots * Stride];
        if (meterFactory is not null)
        {
            _meter = meterFactory.Create(CtrFallbackTelemetry.MeterName);
        }
        else
        {
            _meter = new Meter(CtrFallbackTelemetry.MeterName);
            _ownsMeter = true;
        }

        _meter.CreateObservableCounter(Predictions, () => PredictionCount, unit: "{prediction}", description: "Impressions scored by the in-process predictor.");
        _reloads = _meter.CreateCounter<long>(Reloads, unit: "{reload}", description: "New champion versions loaded and swapped in.");
        _failedReloads = _meter.CreateCounter<long>(FailedReloads, unit: "{reload}", description: "Champion versions that could not be loaded (download, checksum, corrupt artifact, schema, warm-up); the old model kept serving.");
        _meter.CreateObservableGauge(ModelVersion, () => current() is { } info
            ? [new Measurement<int>(info.Version.Version, new KeyValuePair<string, object?>("model", info.Version.ModelName))]
            : Array.Empty<Measurement<int>>(), description: "The version number of the model serving now.");
        _meter.CreateObservableGauge(ModelReady, () => current() is null ? 0 : 1, description: "1 once a model is serving, else 0.");
        _meter.CreateObservableGauge(ModelLoadedTime, () => current() is { } info
            ? [new Measurement<double>(info.LoadedAt.ToUnixTimeMilliseconds() / 1000.0, new KeyValuePair<string, object?>("model", info.Version.ModelName))]
            : Array.Empty<Measurement<double>>(), unit: "s", description: "When the model serving now was loaded, in Unix time.");
        if (drift is not null)
        {
            // No units: the Prometheus exporter then keeps the names as they are (no _ratio or unit suffix). Series are
            // left out, not NaN, while the window has no evidence for them.
            _meter.CreateObservableGauge(DriftScorePsi, () => Version(drift(), d => d.ScorePsi), description: "Population stability index of the served version's sampled scores (sliding window) against its holdout's score bins.");
            _meter.CreateObservableGauge(DriftMeanPredictedCtr, () => Version(drift(), d => d.MeanPredictedCtr), description: "Mean predicted CTR of the served version's sampled impressions (sliding window).");
            _meter.CreateObservableGauge(DriftWindowImpressions, () => Version(drift(), d => d.WindowImpressions), description: "Sampled impressions in the served version's drift window.");
            _meter.CreateObservableGauge(DriftUnseenShare, () => Fields(drift(), f => f.UnseenShare), description: "Share of sampled impressions with the field present whose value is outside the training profile's frequent values.");
            _meter.CreateObservableGauge(DriftUnseenShareChange, () => Fields(drift(), f => f.UnseenShareChange), description: "Live unseen-value share minus training's (signed): high-cardinality fields have a sizeable unseen share in training already.");
            _meter.CreateObservableGauge(DriftMissingShareChange, () => Fields(drift(), f => f.MissingShareChange), description: "Live missing share of the field minus its training missing share (signed).");
        }
    }

    private static Measurement<double>[] Version(ServingDrift? drift, Func<ServingDrift, double?> value) =>
        drift is not null && value(drift) is { } v ? [new Measurement<double>(v, Tags(drift))] : [];

    private static Measurement<double>[] Fields(ServingDrift? drift, Func<FieldDrift, double?> value)
    {
        if (drift is null)
        {
            return [];
        }

        var measurements = new List<Measurement<double>>(drift.Fields.Count);
        foreach (var field in drift.Fields)
        {
            if (value(field) is { } v)
            {
                measurements.Add(new Measurement<double>(v, [.. Tags(drift), new("field", field.Field)]));
            }
        }

        return [.. measurements];
    }

    private static KeyValuePair<string, object?>[] Tags(ServingDrift drift) =>
        [new("model", drift.ModelName), new("version", drift.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    public long PredictionCount
    {
        get
        {
            long sum = 0;
            for (var i = 0; i < _slots; i++)
            {
                sum += Volatile.Read(ref _predictionCells[i * Stride]);
            }

            return sum;
        }
    }

    public long ReloadCount => Volatile.Read(ref _reloadCount);

    public long FailedReloadCount => Volatile.Read(ref _failedReloadCount);

    /// <summary>Counts predictions; allocation-free and nearly contention-free (one padded cell per processor).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CountPredictions(int count) =>
        Interlocked.Add(ref _predictionCells[(Thread.GetCurrentProcessorId() % _slots) * Stride], count);

    public void Reloaded()
    {
        Interlocked.Increment(ref _reloadCount);
        _reloads.Add(1);
    }

    public void ReloadFailed(string reason)
    {
        Interlocked.Increment(ref _failedReloadCount);
        _failedReloads.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
