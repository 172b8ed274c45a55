using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CtrFallback.Serving;

/// <summary>
/// Serving's instruments on the <c>CtrFallback</c> meter: predictions, reloads, failed reloads and the serving version.
/// </summary>
internal sealed class ServingMetrics : IDisposable
{
    /// <summary>The meter's name, shared by every CtrFallback package.</summary>
    public const string MeterName = "CtrFallback";

    public const string Predictions = "ctrfallback.serving.predictions";
    public const string Reloads = "ctrfallback.serving.reloads";
    public const string FailedReloads = "ctrfallback.serving.reload_failures";
    public const string ModelVersion = "ctrfallback.serving.model_version";

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
            _meter = meterFactory.Create(MeterName);
        }
        else
        {
            _meter = new Meter(MeterName);
            _ownsMeter = true;
        }

        _meter.CreateObservableCounter(Predictions, () => PredictionCount, unit: "{prediction}", description: "Impressions scored by the in-process predictor.");
        _reloads = _meter.CreateCounter<long>(Reloads, unit: "{reload}", description: "New champion versions loaded and swapped in.");
        _failedReloads = _meter.CreateCounter<long>(FailedReloads, unit: "{reload}", description: "Champion versions that could not be loaded (download, checksum, corrupt artifact, schema, warm-up); the old model kept serving.");
        _meter.CreateObservableGauge(ModelVersion, () => current() is { } info
            ? [new Measurement<int>(info.Version.Version, new KeyValuePair<string, object?>("model", info.Version.ModelName))]
            : Array.Empty<Measurement<int>>(), description: "The version number of the model serving now.");
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
