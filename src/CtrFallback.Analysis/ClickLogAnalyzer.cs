using CtrFallback.Analysis;
using CtrFallback.Data;

namespace CtrFallback.Analysis;

/// <summary>
/// Profiles a click log field by field and scores pairwise cross candidates, in bounded memory: one streaming pass
/// over every row plus a fixed-size uniform sample; renders the result as a self-contained HTML page.
/// </summary>
public static class ClickLogAnalyzer
{
    /// <summary>Reads the files once and analyzes them.</summary>
    /// <param name="schema">How to read the files; its hash bits drive the collision estimate.</param>
    /// <param name="files">The click logs: files, folders or globs, delimited, JSON lines or Parquet (with the CtrFallback.Parquet package registered), plain or gzip.</param>
    /// <param name="options">Sample size and bounds; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the analysis.</param>
    /// <returns>The analysis.</returns>
    public static Task<ClickLogAnalysis> AnalyzeAsync(
        ClickLogSchema schema,
        IReadOnlyList<string> files,
        ClickLogAnalysisOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(files);
        options ??= new ClickLogAnalysisOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SampleRows, 1000, nameof(options));

        // The sample keeps a 32-bit key per field per row in one array: 10M rows of 100 fields still index within int.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.SampleRows, 10_000_000, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ExactCardinalityBound, 100, nameof(options));
        if (options.HoldoutFraction is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "HoldoutFraction must be between 0 and 1.");
        }

        schema.Validate();
        if (options.Window is { } window)
        {
            // The same files a training run with this window reads.
            files = [.. ClickLogInputs.Window(ClickLogInputs.Resolve(files), ClickLogInputs.ParseWindow(window, "ClickLogAnalysisOptions.Window")).Select(i => i.Path)];
        }

        // CPU-bound: run off the caller's thread.
        return Task.Run(() => ClickLogProfiler.Analyze(schema, files, options, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Turns an analysis into a schema: the analyzed schema plus every pairwise cross whose held-out gain is significant,
    /// the triples a beam search from the best of those pairs finds significant over their pairs, and the hash bits that
    /// keep the expected collisions under a target within a memory budget. Deterministic.
    /// </summary>
    /// <param name="analysis">The analysis (its schema is the input schema).</param>
    /// <param name="options">The significance, collision and memory settings; defaults when <see langword="null"/>.</param>
    /// <returns>The suggestion; <see cref="SchemaSuggestion.ToJson"/> is the schema file.</returns>
    public static SchemaSuggestion SuggestSchema(ClickLogAnalysis analysis, SchemaSuggestionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return SchemaSuggestion.Create(analysis, options ?? new SchemaSuggestionOptions());
    }

    /// <summary>Renders an analysis as one self-contained HTML page (inline CSS and SVG, no scripts, no network).</summary>
    /// <param name="analysis">The analysis to render.</param>
    /// <returns>The HTML document.</returns>
    public static string ToHtml(ClickLogAnalysis analysis)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return AnalysisReportRenderer.Render(analysis);
    }

    /// <summary>Renders a suggestion's analysis as one self-contained HTML page, with the triples its beam search scored and the crosses it chose.</summary>
    /// <param name="suggestion">The suggestion to render.</param>
    /// <returns>The HTML document.</returns>
    public static string ToHtml(SchemaSuggestion suggestion)
    {
        ArgumentNullException.ThrowIfNull(suggestion);
        return AnalysisReportRenderer.Render(suggestion.Analysis, suggestion);
    }
}
