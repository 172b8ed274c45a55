using System.Globalization;
using CtrFallback.Analysis;

namespace CtrFallback.Cli;

internal static class AnalyzeCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var files = args.Required("--data").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var schema = SchemaOptions.Read(args);
        var output = args.Required("--out");
        var sample = args.Long("--sample");
        args.EnsureAllUsed();
        if (sample is < 1000 or > 10_000_000)
        {
            throw new UsageException($"--sample must be between 1000 and 10,000,000 rows, got {sample}");
        }

        using var progress = Progress.ForRows(json: false);
        var options = new ClickLogAnalysisOptions { Progress = progress };
        if (sample is { } n)
        {
            options = options with { SampleRows = (int)n };
        }

        var analysis = await ClickLogAnalyzer.AnalyzeAsync(schema, files, options, cancellationToken);
        await File.WriteAllTextAsync(output, ClickLogAnalyzer.ToHtml(analysis), cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"analysed {analysis.Rows:N0} rows ({analysis.SampleRows:N0} sampled) in {analysis.Elapsed.TotalSeconds:F1} s; wrote {output}"));
        foreach (var (cross, rank) in analysis.CrossCandidates.Take(5).Select((c, i) => (c, i + 1)))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cross #{rank}  {cross.First} x {cross.Second}  NE gain {Math.Round(cross.NeGain, 5) + 0.0:+0.00000;-0.00000;0} (z {cross.Z:0.0})  AUC gain {Math.Round(cross.AucGain, 4) + 0.0:+0.0000;-0.0000;0}{(cross.InSchema ? "  (in schema)" : string.Empty)}"));
        }

        return 0;
    }
}
