using System.Diagnostics;
using System.Globalization;
using System.Text;
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
            Crosses = args.String("--crosses") is { } crosses ? ParseCrosses(crosses) : null,
        };
        var truth = args.String("--truth");
        args.EnsureAllUsed();
        var clock = Stopwatch.StartNew();
        long written, clicks;
        try
        {
            (written, clicks) = truth is null ? SyntheticClickLog.Write(output, options) : WriteWithTruth(output, truth, options);
        }
        catch (ArgumentException ex) when (options.Crosses is not null)
        {
            throw new UsageException($"{ex.Message} (--crosses)");
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {written:N0} rows to {output} in {clock.Elapsed.TotalSeconds:F1} s; click rate {(double)clicks / Math.Max(1, written):F4}"));
        return Task.FromResult(0);
    }

    /// <summary>The log and, line for line, the truth's click probabilities: what a bench scores on the training's holdout as the ceiling.</summary>
    private static (long Rows, long Clicks) WriteWithTruth(string output, string truth, SyntheticClickLogOptions options)
    {
        using var log = new StreamWriter(output, append: false, new UTF8Encoding(false), 1 << 16);
        using var probabilities = new StreamWriter(truth, append: false, new UTF8Encoding(false), 1 << 16);
        long rows = 0, clicks = 0;
        foreach (var impression in SyntheticClickLog.Generate(options))
        {
            log.Write(impression.Line);
            log.Write('\n');
            probabilities.Write(impression.TruthProbability.ToString("R", CultureInfo.InvariantCulture));
            probabilities.Write('\n');
            rows++;
            clicks += impression.Label ? 1 : 0;
        }

        return (rows, clicks);
    }

    /// <summary>Parses <c>C2:C17,C5:C22:C9</c> (pairs and triples); the generator checks the field names.</summary>
    private static FieldCross[] ParseCrosses(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(cross => cross.Split(':', StringSplitOptions.TrimEntries) switch
            {
                [{ Length: > 0 } a, { Length: > 0 } b] => new FieldCross(a, b),
                [{ Length: > 0 } a, { Length: > 0 } b, { Length: > 0 } c] => new FieldCross(a, b, c),
                _ => throw new UsageException($"--crosses takes pairs or triples such as C2:C17,C5:C22:C9, got '{cross}'"),
            })
            .ToArray();
}
