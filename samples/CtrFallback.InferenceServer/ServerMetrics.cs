using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace CtrFallback.InferenceServer;

/// <summary>
/// Request counts and latency histograms of the prediction endpoints, plus the library's <c>CtrFallback</c> meter
/// (predictions, reloads, failed reloads, model version) read through a <see cref="MeterListener"/>; written out in
/// the Prometheus text format. Counting is lock-free and allocation-free per request.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    public static readonly string[] Endpoints = ["/predict", "/predict/batch"];
    private static readonly int[] Codes = [200, 400, 503, 500];
    private static readonly double[] Buckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

    private readonly long[] _requests = new long[Endpoints.Length * Codes.Length];
    private readonly long[] _buckets = new long[Endpoints.Length * (Buckets.Length + 1)];
    private readonly long[] _elapsedTicks = new long[Endpoints.Length];
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _failuresByReason = new(StringComparer.Ordinal);
    private readonly Lock _scrape = new();
    private long _reloads;
    private long _failures;
    private long _predictions;
    private (string Model, int Version)? _version;

    public ServerMetrics(IMeterFactory meterFactory)
    {
        // Only this application's meter (the factory's scope), not another host's in the same process (tests).
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "CtrFallback" && instrument.Meter.Scope == meterFactory)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            switch (instrument.Name)
            {
                case "ctrfallback.serving.reloads":
                    Interlocked.Add(ref _reloads, value);
                    break;
                case "ctrfallback.serving.reload_failures":
                    Interlocked.Add(ref _failures, value);
                    foreach (var tag in tags)
                    {
                        if (tag.Key == "reason" && tag.Value is string reason)
                        {
                            _failuresByReason.AddOrUpdate(reason, value, (_, v) => v + value);
                        }
                    }

                    break;
                case "ctrfallback.serving.predictions":
                    Volatile.Write(ref _predictions, value);
                    break;
            }
        });
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "ctrfallback.serving.model_version")
            {
                var model = string.Empty;
                foreach (var tag in tags)
                {
                    if (tag.Key == "model")
                    {
                        model = tag.Value as string ?? string.Empty;
                    }
                }

                _version = (model, value);
            }
        });
        _listener.Start();
    }

    public long Reloads => Interlocked.Read(ref _reloads);

    public long FailedReloads => Interlocked.Read(ref _failures);

    public long Predictions
    {
        get
        {
            lock (_scrape)
            {
                _listener.RecordObservableInstruments();
                return Volatile.Read(ref _predictions);
            }
        }
    }

    public void Record(int endpoint, int statusCode, long startTimestamp)
    {
        var code = Array.IndexOf(Codes, statusCode);
        Interlocked.Increment(ref _requests[(endpoint * Codes.Length) + (code < 0 ? Codes.Length - 1 : code)]);
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        var seconds = elapsed.TotalSeconds;
        var bucket = 0;
        while (bucket < Buckets.Length && seconds > Buckets[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _buckets[(endpoint * (Buckets.Length + 1)) + bucket]);
        Interlocked.Add(ref _elapsedTicks[endpoint], elapsed.Ticks);
    }

    public string ToPrometheusText(ICtrPredictor predictor)
    {
        var text = new StringBuilder(4096);
        var inv = CultureInfo.InvariantCulture;
        text.Append("# HELP ctrfallback_http_requests_total Requests answered by the prediction endpoints, by status code.\n");
        text.Append("# TYPE ctrfallback_http_requests_total counter\n");
        for (var e = 0; e < Endpoints.Length; e++)
        {
            for (var c = 0; c < Codes.Length; c++)
            {
                text.Append(inv, $"ctrfallback_http_requests_total{{endpoint=\"{Endpoints[e]}\",code=\"{Codes[c]}\"}} {Interlocked.Read(ref _requests[(e * Codes.Length) + c])}\n");
            }
        }

        text.Append("# HELP ctrfallback_http_request_duration_seconds Time in the prediction handlers (read body, parse, score, write).\n");
        text.Append("# TYPE ctrfallback_http_request_duration_seconds histogram\n");
        for (var e = 0; e < Endpoints.Length; e++)
        {
            long cumulative = 0;
            for (var b = 0; b <= Buckets.Length; b++)
            {
                cumulative += Interlocked.Read(ref _buckets[(e * (Buckets.Length + 1)) + b]);
                var le = b < Buckets.Length ? Buckets[b].ToString("R", inv) : "+Inf";
                text.Append(inv, $"ctrfallback_http_request_duration_seconds_bucket{{endpoint=\"{Endpoints[e]}\",le=\"{le}\"}} {cumulative}\n");
            }

            text.Append(inv, $"ctrfallback_http_request_duration_seconds_sum{{endpoint=\"{Endpoints[e]}\"}} {TimeSpan.FromTicks(Interlocked.Read(ref _elapsedTicks[e])).TotalSeconds.ToString("R", inv)}\n");
            text.Append(inv, $"ctrfallback_http_request_duration_seconds_count{{endpoint=\"{Endpoints[e]}\"}} {cumulative}\n");
        }

        var predictions = Predictions;
        text.Append("# HELP ctrfallback_predictions_total Impressions scored by the in-process predictor.\n# TYPE ctrfallback_predictions_total counter\n");
        text.Append(inv, $"ctrfallback_predictions_total {predictions}\n");
        text.Append("# HELP ctrfallback_model_reloads_total Champion versions loaded and swapped in.\n# TYPE ctrfallback_model_reloads_total counter\n");
        text.Append(inv, $"ctrfallback_model_reloads_total {Reloads}\n");
        text.Append("# HELP ctrfallback_model_reload_failures_total Champion versions that could not be loaded; the old model kept serving.\n# TYPE ctrfallback_model_reload_failures_total counter\n");
        text.Append(inv, $"ctrfallback_model_reload_failures_total {FailedReloads}\n");
        text.Append("# HELP ctrfallback_model_reload_failures_by_reason_total Failed reloads by reason (lookup, download, checksum, corrupt, schema, warmup).\n# TYPE ctrfallback_model_reload_failures_by_reason_total counter\n");
        foreach (var (reason, count) in _failuresByReason.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            text.Append(inv, $"ctrfallback_model_reload_failures_by_reason_total{{reason=\"{reason}\"}} {count}\n");
        }

        var current = predictor.CurrentModel;
        text.Append("# HELP ctrfallback_model_ready 1 once a model is serving.\n# TYPE ctrfallback_model_ready gauge\n");
        text.Append(inv, $"ctrfallback_model_ready {(current is null ? 0 : 1)}\n");
        if (current is not null && _version is { } version)
        {
            text.Append("# HELP ctrfallback_model_version The version number serving now.\n# TYPE ctrfallback_model_version gauge\n");
            text.Append(inv, $"ctrfallback_model_version{{model=\"{Escape(version.Model)}\"}} {version.Version}\n");
            text.Append("# HELP ctrfallback_model_loaded_timestamp_seconds When the serving model was loaded (Unix time).\n# TYPE ctrfallback_model_loaded_timestamp_seconds gauge\n");
            text.Append(inv, $"ctrfallback_model_loaded_timestamp_seconds {current.LoadedAt.ToUnixTimeMilliseconds() / 1000.0}\n");
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
