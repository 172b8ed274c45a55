using System.Diagnostics;
using System.Globalization;
using CtrFallback.Data;

namespace CtrFallback.Cli;

internal static class GenerateCommand
{
    public static Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var rows = args.Long("--rows") ?? throw new UsageException("--rows is required");
        var output = args.Required("--out");
        var options = new SyntheticClickLogOptions
        {
            Rows = rows,
            Seed = (int)(args.Long("--seed") ?? 42),
            Ctr = args.Double("--ctr") ?? 0.2,
            Learnable = args.Flag("--learnable"),
        };
        args.EnsureAllUsed();
        var clock = Stopwatch.StartNew();
        var (written, clicks) = SyntheticClickLog.Write(output, options);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {written:N0} rows to {output} in {clock.Elapsed.TotalSeconds:F1} s; click rate {(double)clicks / Math.Max(1, written):F4}"));
        return Task.FromResult(0);
    }
}
