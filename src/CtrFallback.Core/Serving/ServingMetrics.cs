using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CtrFallback.Serving;

/// <summary>
/// Serving's instruments on the <see cref="CtrFallbackTelemetry.MeterName"/> meter: predictions, reloads, failed
/// reloads, and the serving version, readiness and load time. OpenTelemetry's Prometheus exporter names them
/// <c>ctrfallback_serving_predictions_total</c>, <c>ctrfallback_serving_reloads_total</c>,
/// <c>ctrfallback_serving_reload_failures_total{reason}</c>, <c>ctrfallback_serving_model_version{model}</c>,
/// <c>ctrfallback_serving_model_ready</c> and <c>ctrfallback_serving_model_loaded_time_seconds{model}</c>.
/// </summary>
internal sealed class ServingMetrics : IDisposable
{
    public const string Predictions = "ctrfallback.serving.predictions";
    public const string Reloads = "ctrfallback.serving.reloads";
    public const string FailedReloads = "ctrfallback.serving.reload_failures";
    public const string ModelVersion = "ctrfallback.serving.model_version";
    public const string ModelReady = "ctrfallback.serving.model_ready";
    public const string ModelLoadedTime = "ctrfallback.serving.model_loaded_time";

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

    public ServingMetrics(IMeterFactory? meterFactory, Func<ServingModelInfo?> current)
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
    }

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
