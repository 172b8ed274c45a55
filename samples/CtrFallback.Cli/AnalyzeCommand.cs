using System.Globalization;
using CtrFallback.Analysis;

namespace CtrFallback.Cli;

internal static class AnalyzeCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var files = args.Required("--data").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var schema = SchemaOptions.Read(args);
        var output = args.String("--out");
        var suggestPath = args.String("--suggest-schema");
        var sample = args.Long("--sample");
        var window = args.String("--window");
        var suggestion = new SchemaSuggestionOptions();
        suggestion = suggestion with
        {
            MinZ = args.Double("--min-z") ?? suggestion.MinZ,
            FalseCrossRate = args.String("--false-cross-rate") switch
            {
                null => suggestion.FalseCrossRate,
                "off" => null,
                var rate => double.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r is > 0 and < 1
                    ? r
                    : throw new UsageException($"--false-cross-rate must be between 0 and 1, or off; got '{rate}'"),
            },
            MaxCollidingShare = args.Double("--max-colliding-share") ?? suggestion.MaxCollidingShare,
            MemoryBudgetBytes = args.Long("--memory-budget-mb") is { } mb ? mb << 20 : suggestion.MemoryBudgetBytes,
            BeamWidth = args.Long("--beam-width") switch
            {
                null => suggestion.BeamWidth,
                var w and >= 0 and <= 1000 => (int)w,
                var w => throw new UsageException($"--beam-width must be between 0 and 1000, got {w}"),
            },
        };
        args.EnsureAllUsed();
        if (output is null && suggestPath is null)
        {
            throw new UsageException("--out (the HTML report) or --suggest-schema (a schema file) is required");
        }

        if (suggestion.MaxCollidingShare is <= 0 or >= 1)
        {
            throw new UsageException($"--max-colliding-share must be between 0 and 1, got {suggestion.MaxCollidingShare}");
        }

        if (suggestion.MemoryBudgetBytes < 4 << 10)
        {
            throw new UsageException("--memory-budget-mb must be at least 1");
        }

        if (sample is < 1000 or > 10_000_000)
        {
            throw new UsageException($"--sample must be between 1000 and 10,000,000 rows, got {sample}");
        }

        using var progress = Progress.ForRows(json: false);
        var options = new ClickLogAnalysisOptions { Progress = progress, Window = window };
        if (sample is { } n)
        {
            options = options with { SampleRows = (int)n };
        }

        var analysis = await ClickLogAnalyzer.AnalyzeAsync(schema, files, options, cancellationToken);

        // With a suggestion the report shows its triples and what it chose too.
        var suggested = suggestPath is null ? null : ClickLogAnalyzer.SuggestSchema(analysis, suggestion);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, suggested is null ? ClickLogAnalyzer.ToHtml(analysis) : ClickLogAnalyzer.ToHtml(suggested), cancellationToken);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"analysed {analysis.Rows:N0} rows ({analysis.SampleRows:N0} sampled) in {analysis.Elapsed.TotalSeconds:F1} s{(output is null ? string.Empty : $"; wrote {output}")}"));
        foreach (var (cross, rank) in analysis.CrossCandidates.Take(5).Select((c, i) => (c, i + 1)))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cross #{rank}  {cross.First} x {cross.Second}  NE gain {Math.Round(cross.NeGain, 5) + 0.0:+0.00000;-0.00000;0} (z {cross.Z:0.0})  AUC gain {Math.Round(cross.AucGain, 4) + 0.0:+0.0000;-0.0000;0}{(cross.InSchema ? "  (in schema)" : string.Empty)}"));
        }

        if (suggested is not null)
        {
            await File.WriteAllTextAsync(suggestPath!, suggested.ToJson(), cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {suggestPath}: {suggested.AddedCrosses.Count} cross(es) added with z >= {suggested.RequiredZ:0.##} ({suggested.CandidatesTested} candidates scored, {suggested.TripleCandidates.Count} of them triples; {string.Join(", ", suggested.AddedCrosses.Select(c => $"{c.ToCross()} z {c.Z:0.0}"))}); hash bits {suggested.Schema.HashBits} (expected colliding share {suggested.CollidingShare:P1} of {suggested.DistinctFeatures:N0} features)"));
        }

        return 0;
    }
}
