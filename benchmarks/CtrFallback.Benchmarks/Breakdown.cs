using System.Diagnostics;
using CtrFallback.Serving;

namespace CtrFallback.Benchmarks;

/// <summary>A rough split of one prediction's cost (hash, featurize, dot product), by plain loops: for finding hot spots, not for reporting.</summary>
internal static class Breakdown
{
    public static void Run()
    {
        var bench = new ServingBenchmarks();
        bench.Setup();
        var model = bench.Model;
        var impressions = bench.Impressions;
        var hasher = model.Hasher;
        var hashes = new uint[hasher.CategoricalCount];
        var indices = new int[hasher.HashedCount];
        var dense = new float[hasher.NumericCount];
        const int n = 2_000_000;
        for (var round = 0; round < 3; round++)
        {
            uint h = 0;
            var clock = Stopwatch.StartNew();
            for (var k = 0; k < n; k++)
            {
                var categorical = impressions[k & 1023].Categorical;
                for (var i = 0; i < hashes.Length; i++)
                {
                    h += hasher.HashCategorical(i, categorical[i]);
                }
            }

            var hashNs = clock.Elapsed.TotalNanoseconds / n;
            clock.Restart();
            for (var k = 0; k < n; k++)
            {
                hasher.Featurize(impressions[k & 1023].Numeric, hashes, null, indices, dense);
            }

            var featurizeNs = clock.Elapsed.TotalNanoseconds / n;
            clock.Restart();
            float p = 0;
            for (var k = 0; k < n; k++)
            {
                p += model.Predict(impressions[k & 1023]);
            }

            var totalNs = clock.Elapsed.TotalNanoseconds / n;
            Console.WriteLine($"hash 26: {hashNs:F0} ns  featurize (hashes given): {featurizeNs:F0} ns  whole Predict: {totalNs:F0} ns  ({h + p})");
        }

        bench.Cleanup();
    }
}
