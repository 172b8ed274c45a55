using System.Globalization;
using CtrFallback.Analysis;
using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CtrFallback.Analysis
{
    /// <summary>
    /// Training's feature search (<c>Training:Features = Auto</c>): the analysis's cross scores and hash-width rule, on
    /// the training rows only, the very code behind <c>ctrfallback analyze --suggest-schema</c>.
    /// </summary>
    internal sealed class AnalysisFeatureSearch : IFeatureSearch
    {
        public FeatureSearchResult Search(ClickLogSchema schema, IReadOnlyList<string> files, Func<long, bool> isTrainingRow, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(schema);
            ArgumentNullException.ThrowIfNull(files);
            ArgumentNullException.ThrowIfNull(isTrainingRow);
            var analysis = ClickLogProfiler.Analyze(schema, files, new ClickLogAnalysisOptions(), cancellationToken, isTrainingRow);
            var suggestion = SchemaSuggestion.Create(analysis, new SchemaSuggestionOptions());
            var parameters = new Dictionary<string, string>
            {
                ["features.inputCrosses"] = string.Join(',', schema.Crosses),
                ["features.inputHashBits"] = schema.HashBits.ToString(CultureInfo.InvariantCulture),
                ["features.addedCrosses"] = string.Join("; ", suggestion.AddedCrosses.Select(c =>
                    string.Create(CultureInfo.InvariantCulture, $"{c.First}x{c.Second} (NE gain {c.NeGain:0.00000}, z {c.Z:0.0})"))),
                ["features.minZ"] = suggestion.Options.MinZ.ToString(CultureInfo.InvariantCulture),
                ["features.hashBits"] = string.Create(CultureInfo.InvariantCulture,
                    $"{suggestion.Schema.HashBits} (expected colliding share {suggestion.CollidingShare:0.000} of {suggestion.DistinctFeatures} features; target {suggestion.Options.MaxCollidingShare}, budget {suggestion.Options.MemoryBudgetBytes} bytes)"),
                ["features.searchRows"] = string.Create(CultureInfo.InvariantCulture, $"{analysis.Rows} training rows read, {analysis.SampleRows} sampled, {analysis.HoldoutRows} of them held out inside the search"),
            };
            return new FeatureSearchResult(suggestion.Schema, parameters);
        }
    }
}

namespace CtrFallback
{
    /// <summary>Registers the analysis's feature search for training (<c>Training:Features = Auto</c>).</summary>
    public static class AnalysisCtrFallbackBuilderExtensions
    {
        /// <summary>Lets training choose crosses and hash bits from the training rows when <c>Training:Features</c> is <c>Auto</c>.</summary>
        /// <param name="builder">The CtrFallback builder.</param>
        /// <returns>The builder, for chaining.</returns>
        public static ICtrFallbackBuilder UseFeatureSearch(this ICtrFallbackBuilder builder)
        {
            ArgumentNullException.ThrowIfNull(builder);
            builder.Services.TryAddSingleton<IFeatureSearch, AnalysisFeatureSearch>();
            return builder;
        }
    }
}
