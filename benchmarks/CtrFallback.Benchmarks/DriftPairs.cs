using System.Diagnostics;
using CtrFallback.Serving;

namespace CtrFallback.Benchmarks;

/// <summary>
/// Drift off against drift on, interleaved in one process: alternating blocks of predictions on two predictors serving
/// the same model, so both see the same background load (BenchmarkDotNet runs its cases one after another, which on a
/// shared machine measures the neighbours as much as the code). Prints each side's median per-block ns/op, their
/// ratio, and bytes allocated per prediction.
/// </summary>
internal static class DriftPairs
{
    public static void Run()
    {
        var bench = new ServingBenchmarks { Drift = false };
        bench.Setup();
        var impressions = bench.Impressions;
        using var off = new ChampionPredictor(drift: new ServingDriftOptions { Enabled = false });
        using var on = new ChampionPredictor(drift: new ServingDriftOptions());
        var version = new ModelVersion("ctr", 1, DateTimeOffset.UnixEpoch, "", new Dictionary<string, double>(), new Dictionary<string, string>(), new Dictionary<string, string>(), []);
        off.Publish(bench.Model, version, DateTimeOffset.UtcNow);
        on.Publish(bench.Model, version, DateTimeOffset.UtcNow);
        const int Block = 20_000;
        const int Pairs = 300;
        var offNs = new double[Pairs];
        var onNs = new double[Pairs];
        float sink = 0;
        long onBytes = 0;

        // Warm both paths (tiered JIT) before measuring.
        for (var k = 0; k < 200_000; k++)
        {
            sink += off.Predict(impressions[k & 1023]).Ctr + on.Predict(impressions[k & 1023]).Ctr;
        }

        for (var pair = 0; pair < Pairs; pair++)
        {
            // Alternate which side goes first, so neither always follows the other.
            for (var side = 0; side < 2; side++)
            {
                var drift = (side == 0) == (pair % 2 == 0);
                var predictor = drift ? on : off;
                var before = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.GetTimestamp();
                for (var k = 0; k < Block; k++)
                {
                    sink += predictor.Predict(impressions[k & 1023]).Ctr;
                }

                var ns = Stopwatch.GetElapsedTime(clock).TotalNanoseconds / Block;
                (drift ? onNs : offNs)[pair] = ns;
                onBytes += drift ? GC.GetAllocatedBytesForCurrentThread() - before : 0;
            }
        }

        Array.Sort(offNs);
        Array.Sort(onNs);
        var (offMedian, onMedian) = (offNs[Pairs / 2], onNs[Pairs / 2]);
        Console.WriteLine($"predict 1 impression, {Pairs} interleaved blocks of {Block:N0}: drift off median {offMedian:F1} ns, drift on median {onMedian:F1} ns, ratio {onMedian / offMedian:F3}; drift on allocated {(double)onBytes / (Pairs * (long)Block):F3} B/prediction; window {on.Drift!.WindowImpressions:N0} ({sink > 0})");
        bench.Cleanup();
    }
}
