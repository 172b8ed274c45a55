using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/CtrFallback.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(CtrFallback.Benchmarks.ServingBenchmarks).Assembly).Run(args);
