using System.Diagnostics;
using System.Globalization;
using CtrFallback.Data;

namespace CtrFallback.Analysis;

/// <summary>
/// One streaming pass over every row (coverage, cardinality, top values, numeric ranges) that also fills a uniform
/// reservoir sample; the sample then feeds <see cref="SignalScorer"/>. Memory is bounded by the options, not by the log.
/// </summary>
internal static class ClickLogProfiler
{
    /// <summary>Key of an empty categorical value in the sample (non-empty values never hash to it).</summary>
    public const uint MissingKey = 0;

    /// <param name="schema">How to read the files.</param>
    /// <param name="files">The files.</param>
    /// <param name="options">The analysis settings.</param>
    /// <param name="cancellationToken">Cancels the pass.</param>
    /// <param name="includeRow">Which well-formed rows (numbered from 0 in file order) to analyze; every one when <see langword="null"/>. Training's search passes its training rows, so the holdout the gate judges is never seen.</param>
    public static ClickLogAnalysis Analyze(ClickLogSchema schema, IReadOnlyList<string> files, ClickLogAnalysisOptions options, CancellationToken cancellationToken, Func<long, bool>? includeRow = null)
    {
        var clock = Stopwatch.StartNew();
        var categorical = schema.Categorical.Count;
        var numeric = schema.Numeric.Count;
        var fields = numeric + categorical;
        var counters = new ValueCounter[fields];
        var sketches = new HyperLogLog[fields];
        var missing = new long[fields];
        var missingClicks = new long[fields];
        for (var f = 0; f < fields; f++)
        {
            counters[f] = new ValueCounter(options.ExactCardinalityBound, keepText: f >= numeric);
            sketches[f] = new HyperLogLog();
        }

        var min = Enumerable.Repeat(double.PositiveInfinity, numeric).ToArray();
        var max = Enumerable.Repeat(double.NegativeInfinity, numeric).ToArray();
        var sum = new double[numeric];

        // The featurizer's numeric tokens are half-log buckets in [-80, 80]; count the distinct ones for the collision estimate.
        var buckets = new bool[numeric, 161];
        var crosses = schema.Crosses.Select(c => (c.Fields.Select(f => schema.Categorical.ToList().IndexOf(f)).ToArray(), new HyperLogLog())).ToArray();

        var sample = new SampleRows(options.SampleRows, categorical, numeric);
        var random = new Random(options.Seed);
        var rowHashes = new ulong[categorical];
        var rowKeys = new uint[categorical];
        var rowNumeric = new float[numeric];
        long rows = 0, clicks = 0;

        using var reader = new ClickLogReader(schema, files);
        long wellFormed = 0;
        while (reader.Read())
        {
            if (includeRow is not null && !includeRow(wellFormed++))
            {
                continue;
            }

            var row = reader.Row;
            var label = row.Label;
            clicks += label ? 1 : 0;
            for (var i = 0; i < numeric; i++)
            {
                var x = row.Numeric[i];
                rowNumeric[i] = (float)x;
                if (double.IsNaN(x))
                {
                    missing[i]++;
                    missingClicks[i] += label ? 1 : 0;
                    continue;
                }

                var hash = Stats.Mix64((ulong)BitConverter.DoubleToInt64Bits(x) ^ ((ulong)i << 56));
                sketches[i].Add(hash);
                counters[i].Add(hash, default, label);
                min[i] = Math.Min(min[i], x);
                max[i] = Math.Max(max[i], x);
                sum[i] += x;
                buckets[i, 80 + (int)Math.Floor(Math.Clamp(Features.FeatureHasher.SignedLog(x), -40, 40) * 2)] = true;
            }

            for (var c = 0; c < categorical; c++)
            {
                var f = numeric + c;
                var value = row.Categorical(c);
                var hash = Stats.Hash64(c, value);
                rowHashes[c] = hash;
                if (value.IsEmpty)
                {
                    missing[f]++;
                    missingClicks[f] += label ? 1 : 0;
                    rowKeys[c] = MissingKey;
                    continue;
                }

                var key = (uint)(hash ^ (hash >> 32));
                rowKeys[c] = key == MissingKey ? 1 : key;
                sketches[f].Add(hash);
                counters[f].Add(hash, value, label);
            }

            foreach (var (crossed, sketch) in crosses)
            {
                var cell = rowHashes[crossed[0]] ^ (rowHashes[crossed[1]] * 0x9E3779B97F4A7C15UL);
                if (crossed.Length == 3)
                {
                    cell = Stats.Mix64(cell) ^ (rowHashes[crossed[2]] * 0xC2B2AE3D27D4EB4FUL);
                }

                sketch.Add(Stats.Mix64(cell));
            }

            // Reservoir sampling (Vitter's algorithm R): every row ends up in the sample with the same probability.
            var slot = rows < sample.Capacity ? rows : random.NextInt64(rows + 1);
            if (slot < sample.Capacity)
            {
                sample.Set((int)slot, rows, label, rowKeys, rowNumeric);
            }

            rows++;
            if ((rows & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (rows % 100_000 == 0)
            {
                options.Progress?.Report(rows);
            }
        }

        if (rows == 0)
        {
            throw new ClickLogFormatException($"No well-formed rows to analyze ({reader.Malformed.Count:N0} malformed).");
        }

        sample.Count = (int)Math.Min(rows, sample.Capacity);
        var stages = new Dictionary<string, TimeSpan> { ["pass"] = clock.Elapsed };
        var stageStart = clock.Elapsed;
        var scorer = new SignalScorer(sample, options);
        var result = new List<FieldAnalysis>(fields);
        for (var i = 0; i < numeric; i++)
        {
            var signal = scorer.Numeric(i, out var quantiles, out var histogram);
            result.Add(Field(schema.Numeric[i], FieldKind.Numeric, i) with
            {
                Numeric = new NumericFieldSummary(
                    counters[i].Count == 0 ? double.NaN : min[i],
                    counters[i].Count == 0 ? double.NaN : max[i],
                    rows - missing[i] == 0 ? double.NaN : sum[i] / (rows - missing[i]),
                    quantiles,
                    histogram),
                InSampleAuc = signal.InSampleAuc,
                HeldOutAuc = signal.HeldOutAuc,
                HeldOutNeGain = signal.NeGain,
                SampleDistinct = signal.SampleDistinct,
            });
        }

        var signals = CategoricalSignals(scorer, categorical, cancellationToken);
        for (var c = 0; c < categorical; c++)
        {
            var f = numeric + c;
            var signal = signals[c];
            result.Add(Field(schema.Categorical[c], FieldKind.Categorical, f) with
            {
                TopValues = counters[f].Top(options.TopValues).Select(t => Stats.Value(t.Text, t.Rows, t.Clicks)).ToArray(),
                TopValueUndercountBound = counters[f].UndercountBound,
                InSampleAuc = signal.InSampleAuc,
                HeldOutAuc = signal.HeldOutAuc,
                HeldOutNeGain = signal.NeGain,
                SampleDistinct = signal.SampleDistinct,
            });
        }

        cancellationToken.ThrowIfCancellationRequested();
        stages["fields"] = clock.Elapsed - stageStart;
        stageStart = clock.Elapsed;
        var (candidates, skipped) = scorer.Crosses(schema, cancellationToken);
        stages["crosses"] = clock.Elapsed - stageStart;

        long distinctFeatures = 0;
        foreach (var field in result)
        {
            distinctFeatures += field.Kind == FieldKind.Categorical ? field.Distinct + (field.Missing > 0 ? 1 : 0) : 0;
        }

        for (var i = 0; i < numeric; i++)
        {
            for (var b = 0; b < 161; b++)
            {
                distinctFeatures += buckets[i, b] ? 1 : 0;
            }

            distinctFeatures += missing[i] > 0 ? 1 : 0;
        }

        distinctFeatures += crosses.Sum(c => c.Item2.Estimate()) + (schema.Timestamp is null ? 0 : 24 + 7);

        var bound = options.ExactCardinalityBound.ToString("N0", CultureInfo.InvariantCulture);
        var holdoutPercent = options.HoldoutFraction.ToString("P0", CultureInfo.InvariantCulture);
        string[] method =
        [
            string.Create(CultureInfo.InvariantCulture, $"Coverage, cardinality, top values and numeric min/max/mean: every one of the {rows:N0} well-formed rows, in one streaming pass."),
            $"Cardinality: exact while a field has at most {bound} distinct values; beyond that a HyperLogLog estimate (2^{HyperLogLog.Precision} registers, about 0.8% standard error), shown with ≈.",
            $"Top values: exact counts unless a field passed {bound} distinct values; then its rarest values were pruned as the pass went (lossy counting), and a shown count may be low by at most the bound given with the field.",
            string.Create(CultureInfo.InvariantCulture, $"Univariate AUCs, quantile buckets, histograms and cross scores: a uniform reservoir sample of {sample.Count:N0} rows (seed {options.Seed}), split by a hash of the row number into a training part and a held-out part ({holdoutPercent}, {scorer.HoldoutCount:N0} rows). The split is random, not time-ordered: drift over time is not measured here."),
            $"In-sample AUC scores each sample row by its own value's CTR smoothed towards the base rate with {SignalScorer.PriorRows} prior rows, measured on the same rows: it flatters fields with many rare values. Held-out AUC and NE gain score the held-out rows with CTRs from the training part; NE gain is the log-loss reduction over the base rate as a share of the label's entropy (information gain).",
            $"Cross candidates: the additive baseline is one logistic model on every categorical field's target encoding (out-of-fold on the training part), with each value of the pair's two fields recalibrated by its observed/expected click ratio (so a pair is not credited with what the other fields or its own fields' values explain); the cross multiplies the baseline's odds by the value pair's observed/expected click ratio on the training part, smoothed with {SignalScorer.PriorClicks} expected clicks. Both are measured on the held-out part, so a high-cardinality pair cannot win by memorizing.",
        ];

        return new ClickLogAnalysis
        {
            Files = reader.Files,
            Schema = schema,
            Rows = rows,
            Clicks = clicks,
            MalformedRows = reader.Malformed.Count,
            MalformedExamples = reader.Malformed.First,
            SampleRows = sample.Count,
            HoldoutRows = scorer.HoldoutCount,
            Method = method,
            Fields = result,
            CrossCandidates = candidates,
            CrossSkipped = skipped,
            Hashing = Collisions(schema.HashBits, distinctFeatures),
            Elapsed = clock.Elapsed,
            Stages = stages,
            Scorer = scorer,
        };

        FieldAnalysis Field(string name, FieldKind kind, int f)
        {
            var exact = !counters[f].Pruned;
            return new FieldAnalysis
            {
                Name = name,
                Kind = kind,
                Missing = missing[f],
                MissingShare = (double)missing[f] / rows,
                MissingStatistics = missing[f] == 0 ? null : Stats.Value("(empty)", missing[f], missingClicks[f]),
                Distinct = exact ? counters[f].Count : sketches[f].Estimate(),
                DistinctIsExact = exact,
            };
        }
    }

    /// <summary>
    /// The analysis training's feature search needs, from a sample of the training rows alone: the categorical fields'
    /// signal and the cross scores. Cardinalities are the sample's (a lower bound; they only cap a cross's cell estimate);
    /// the collision estimate takes the distinct features counted by the caller on every training row.
    /// </summary>
    public static ClickLogAnalysis AnalyzeSample(ClickLogSchema schema, SampleRows sample, long rows, long distinctFeatures, ClickLogAnalysisOptions options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        if (sample.Count < 2)
        {
            throw new ClickLogFormatException($"Too few training rows to search features on: {sample.Count} in the sample.");
        }

        var scorer = new SignalScorer(sample, options);
        var signals = CategoricalSignals(scorer, sample.CategoricalCount, cancellationToken);
        var stages = new Dictionary<string, TimeSpan> { ["fields"] = clock.Elapsed };
        var start = clock.Elapsed;
        var (candidates, skipped) = scorer.Crosses(schema, cancellationToken, auc: false);
        stages["crosses"] = clock.Elapsed - start;
        return new ClickLogAnalysis
        {
            Files = [],
            Schema = schema,
            Rows = rows,
            Clicks = sample.Labels.AsSpan(0, sample.Count).Count(true),
            SampleRows = sample.Count,
            HoldoutRows = scorer.HoldoutCount,
            Method = [string.Create(CultureInfo.InvariantCulture, $"Training's feature search: a uniform sample of {sample.Count:N0} of the {rows:N0} training rows (seed {options.Seed}), scored as the analysis scores its sample; the holdout the gate judges is not in it.")],
            Fields = schema.Categorical.Select((name, c) => new FieldAnalysis
            {
                Name = name,
                Kind = FieldKind.Categorical,
                Distinct = signals[c].SampleDistinct,
                InSampleAuc = signals[c].InSampleAuc,
                HeldOutAuc = signals[c].HeldOutAuc,
                HeldOutNeGain = signals[c].NeGain,
                SampleDistinct = signals[c].SampleDistinct,
            }).ToArray(),
            CrossCandidates = candidates,
            CrossSkipped = skipped,
            Hashing = Collisions(schema.HashBits, distinctFeatures),
            Elapsed = clock.Elapsed,
            Stages = stages,
            Scorer = scorer,
        };
    }

    /// <summary>Each categorical field's signal and encodings, fields in parallel (each writes only its own slots, so the result does not depend on thread timing).</summary>
    private static FieldSignal[] CategoricalSignals(SignalScorer scorer, int categorical, CancellationToken cancellationToken)
    {
        var signals = new FieldSignal[categorical];
        Parallel.For(0, categorical, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount }, c => signals[c] = scorer.Categorical(c));
        return signals;
    }

    /// <summary>Expected share of D distinct features that share a slot of 2^b with at least one other: 1 − (1 − 2^−b)^(D−1).</summary>
    internal static HashingCollisionEstimate Collisions(int hashBits, long distinctFeatures)
    {
        static double Share(int bits, long d) => Features.HashWidth.CollidingShare(bits, d);
        var byBits = new SortedSet<int> { 16, 18, 20, 22, 24, 26, 28, hashBits }
            .Where(b => b is >= FeatureSchema.MinHashBits and <= FeatureSchema.MaxHashBits)
            .Select(b => new KeyValuePair<int, double>(b, Share(b, distinctFeatures)))
            .ToArray();
        return new HashingCollisionEstimate(hashBits, distinctFeatures, Share(hashBits, distinctFeatures), byBits);
    }
}

/// <summary>The reservoir sample: per row its label, its row number, a 32-bit key per categorical field and the numeric values.</summary>
internal sealed class SampleRows(int capacity, int categorical, int numeric)
{
    public int Capacity { get; } = capacity;

    public int Count { get; set; }

    public int CategoricalCount { get; } = categorical;

    public int NumericCount { get; } = numeric;

    public bool[] Labels { get; } = new bool[capacity];

    public long[] RowNumbers { get; } = new long[capacity];

    /// <summary>Row-major: row r's key for field c at <c>r * CategoricalCount + c</c>.</summary>
    public uint[] Keys { get; } = new uint[(long)capacity * categorical];

    /// <summary>Row-major numeric values; NaN means empty.</summary>
    public float[] Numeric { get; } = new float[(long)capacity * numeric];

    public void Set(int slot, long rowNumber, bool label, uint[] keys, float[] values)
    {
        Labels[slot] = label;
        RowNumbers[slot] = rowNumber;
        keys.CopyTo(Keys, slot * CategoricalCount);
        values.CopyTo(Numeric, slot * NumericCount);
    }
}
