using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/CtrFallback.Benchmarks -- --filter '*' --job short
if (args is ["parquet-libraries", var folder, ..])
{
    await CtrFallback.Benchmarks.ParquetLibraries.RunAsync(folder, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

if (args is ["source", var input, ..])
{
    CtrFallback.Benchmarks.SourceBench.Run(input, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

if (args is ["featurize", var log, ..])
{
    CtrFallback.Benchmarks.FeaturizeBench.Run(log, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

if (args is ["read", .. var inputs])
{
    CtrFallback.Benchmarks.ReadBench.Run(inputs);
    return;
}

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
