using System.Globalization;
using CtrFallback.Analysis;
using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CtrFallback.Analysis
{
    /// <summary>
    /// Training's feature search (<c>Training:Features = Auto</c>): the analysis's cross scores and hash-width rule, the
    /// very code behind <c>ctrfallback analyze --suggest-schema</c>, on a uniform sample of the training rows that the
    /// training's own read of the log fills (no read of its own).
    /// </summary>
    internal sealed class AnalysisFeatureSearch : IFeatureSearch
    {
        public IFeatureSearchRun Start(ClickLogSchema schema)
        {
            ArgumentNullException.ThrowIfNull(schema);
            return new Run(schema, new ClickLogAnalysisOptions(), new SchemaSuggestionOptions());
        }

        /// <summary>Fills a reservoir sample over every row, keyed by row number; completing drops the holdout's rows from it.</summary>
        internal sealed class Run : IFeatureSearchRun
        {
            private readonly ClickLogSchema _schema;
            private readonly ClickLogAnalysisOptions _options;
            private readonly SchemaSuggestionOptions _suggestion;
            private readonly SampleRows _sample;
            private readonly uint[] _missing;
            private readonly uint[] _keys;
            private readonly Random _random;
            private long _rows;

            public Run(ClickLogSchema schema, ClickLogAnalysisOptions options, SchemaSuggestionOptions suggestion)
            {
                _schema = schema;
                _options = options;
                _suggestion = suggestion;
                _sample = new SampleRows(options.SampleRows, schema.Categorical.Count, 0);
                _keys = new uint[schema.Categorical.Count];
                _random = new Random(options.Seed);

                // The featurizer hashes an empty value to a per-field token; the sample keys it as the analysis does.
                var hasher = new Features.FeatureHasher(schema.ToFeatureSchema());
                _missing = Enumerable.Range(0, schema.Categorical.Count).Select(c => hasher.HashCategorical(c, [])).ToArray();
            }

            public void Add(long row, bool label, ReadOnlySpan<uint> categoricalHashes)
            {
                // Reservoir sampling (Vitter's algorithm R), as the analysis's pass: the same rows give the same sample.
                var slot = _rows < _sample.Capacity ? _rows : _random.NextInt64(_rows + 1);
                _rows++;
                if (slot >= _sample.Capacity)
                {
                    return;
                }

                for (var c = 0; c < _keys.Length; c++)
                {
                    var hash = categoricalHashes[c];
                    _keys[c] = hash == _missing[c] ? ClickLogProfiler.MissingKey : hash == ClickLogProfiler.MissingKey ? 1 : hash;
                }

                _sample.Set((int)slot, row, label, _keys, []);
            }

            public FeatureSearchResult Complete(Func<long, bool> isTrainingRow, long trainingFeatures, CancellationToken cancellationToken)
            {
                ArgumentNullException.ThrowIfNull(isTrainingRow);
                var filled = (int)Math.Min(_rows, _sample.Capacity);
                var kept = Enumerable.Range(0, filled).Where(i => isTrainingRow(_sample.RowNumbers[i])).ToArray();
                var training = new SampleRows(Math.Max(1, kept.Length), _sample.CategoricalCount, 0) { Count = kept.Length };
                var keys = new uint[_sample.CategoricalCount];
                for (var k = 0; k < kept.Length; k++)
                {
                    _sample.Keys.AsSpan(kept[k] * _sample.CategoricalCount, _sample.CategoricalCount).CopyTo(keys);
                    training.Set(k, _sample.RowNumbers[kept[k]], _sample.Labels[kept[k]], keys, []);
                }

                long trainingRows = 0;
                for (long row = 0; row < _rows; row++)
                {
                    trainingRows += isTrainingRow(row) ? 1 : 0;
                }

                var analysis = ClickLogProfiler.AnalyzeSample(_schema, training, trainingRows, trainingFeatures, _options, cancellationToken);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var suggestion = SchemaSuggestion.Create(analysis, _suggestion, cancellationToken);
                var stages = analysis.Stages.Append(new("triples", clock.Elapsed));
                var parameters = new Dictionary<string, string>
                {
                    ["features.inputCrosses"] = string.Join(',', _schema.Crosses),
                    ["features.inputHashBits"] = _schema.HashBits.ToString(CultureInfo.InvariantCulture),
                    ["features.addedCrosses"] = string.Join("; ", suggestion.AddedCrosses.Select(Evidence)),
                    ["features.minZ"] = suggestion.Options.MinZ.ToString(CultureInfo.InvariantCulture),
                    ["features.requiredZ"] = string.Create(CultureInfo.InvariantCulture,
                        $"{suggestion.RequiredZ:0.00} ({suggestion.CandidatesTested} candidates scored: {analysis.CrossCandidates.Count} pairs, {suggestion.TripleCandidates.Count} triples of a beam of {suggestion.Options.BeamWidth}; false-cross rate {suggestion.Options.FalseCrossRate?.ToString(CultureInfo.InvariantCulture) ?? "off"})"),
                    ["features.bestRejected"] = string.Join("; ", analysis.CrossCandidates.Where(c => !c.InSchema && !suggestion.AddedCrosses.Contains(c)).Take(3).Select(Evidence)),
                    ["features.bestRejectedTriple"] = string.Join("; ", suggestion.TripleCandidates.Where(c => !c.InSchema && !suggestion.AddedCrosses.Contains(c)).Take(1).Select(Evidence)),
                    ["features.hashBits"] = string.Create(CultureInfo.InvariantCulture,
                        $"{suggestion.Schema.HashBits} (expected colliding share {suggestion.CollidingShare:0.000} of {suggestion.DistinctFeatures} features; target {suggestion.Options.MaxCollidingShare}, budget {suggestion.Options.MemoryBudgetBytes} bytes)"),
                    ["features.searchRows"] = string.Create(CultureInfo.InvariantCulture, $"{analysis.Rows} training rows read, {analysis.SampleRows} sampled, {analysis.HoldoutRows} of them held out inside the search"),
                    ["features.searchSeconds"] = string.Join(", ", stages.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value.TotalSeconds:0.00}"))),
                };
                return new FeatureSearchResult(suggestion.Schema, parameters);

                // A triple's gain and z are over its three pairs (see SignalScorer.Triples).
                static string Evidence(CrossCandidate c) =>
                    string.Create(CultureInfo.InvariantCulture, $"{c.ToCross()} (NE gain {c.NeGain:0.00000}, z {c.Z:0.0}{(c.Third is null ? string.Empty : " over its pairs")})");
            }
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
