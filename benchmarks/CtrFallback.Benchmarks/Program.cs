using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/CtrFallback.Benchmarks -- --filter '*' --job short
if (args is ["breakdown"])
{
    CtrFallback.Benchmarks.Breakdown.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(CtrFallback.Benchmarks.ServingBenchmarks).Assembly).Run(args);
