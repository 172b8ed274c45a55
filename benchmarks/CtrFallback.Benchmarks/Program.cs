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

if (args is ["read", .. var inputs])
{
    CtrFallback.Benchmarks.ReadBench.Run(inputs);
    return;
}

if (args is ["breakdown"])
{
    CtrFallback.Benchmarks.Breakdown.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(CtrFallback.Benchmarks.ServingBenchmarks).Assembly).Run(args);
