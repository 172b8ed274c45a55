using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/CtrFallback.Benchmarks -- --filter '*' --job short
// dotnet run -c Release --project benchmarks/CtrFallback.Benchmarks -- drift-pairs   (drift off and on, interleaved)
if (args is ["drift-pairs"])
{
    CtrFallback.Benchmarks.DriftPairs.Run();
    return;
}

if (args is ["breakdown"])
{
    CtrFallback.Benchmarks.Breakdown.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(CtrFallback.Benchmarks.ServingBenchmarks).Assembly).Run(args);
