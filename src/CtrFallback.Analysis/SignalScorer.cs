using System.Globalization;
using System.Runtime.InteropServices;
using CtrFallback.Evaluation;
using CtrFallback.Data;

namespace CtrFallback.Analysis;

/// <summary>
/// Measures signal on the reservoir sample: univariate AUC (in-sample and held-out) and NE gain per field, and what a
/// smoothed target encoding of each pair of categorical fields adds over the two fields additively, on held-out rows.
/// </summary>
internal sealed class SignalScorer
{
    /// <summary>Prior rows a value's CTR is smoothed with: a value seen once is not taken at its word.</summary>
    public const int PriorRows = 20;

    /// <summary>Expected clicks a pair's observed/expected ratio is smoothed with.</summary>
    public const double PriorClicks = 5;

    private const int MaxFitRows = 40_000;

    /// <summary>Pairs with at most this many possible value pairs are counted in arrays rather than a dictionary.</summary>
    private const long MaxDenseCells = 1 << 20;

    private readonly SampleRows _sample;
    private readonly ClickLogAnalysisOptions _options;
    private readonly bool[] _holdout;
    private readonly byte[] _fold;
    private readonly int[] _trainRows;
    private readonly int[] _holdoutRows;
    private readonly bool[] _holdoutLabels;
    private readonly double _trainCtr;
    private readonly double _baseHoldoutNe;
    private readonly double _holdoutEntropy;

    /// <summary>Per categorical field, per sample row: the logit of its value's smoothed CTR, out-of-fold for training rows.</summary>
    private readonly float[][] _encodings;
    private readonly int[] _sampleDistinct;

    /// <summary>Per categorical field, per sample row: a dense id of its value (the empty value included), for pair counting.</summary>
    private readonly int[][] _ids;
    private readonly int[] _idCount;
    private readonly int[] _fitRows;

    public SignalScorer(SampleRows sample, ClickLogAnalysisOptions options)
    {
        _sample = sample;
        _options = options;
        var n = sample.Count;
        _holdout = new bool[n];
        _fold = new byte[n];
        var seed = Stats.Mix64((ulong)options.Seed);
        var train = new List<int>(n);
        var holdout = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            var h = Stats.Mix64((ulong)sample.RowNumbers[i] ^ seed);
            _holdout[i] = (h >> 11) * (1.0 / (1UL << 53)) < options.HoldoutFraction;
            _fold[i] = (byte)(h & 1);
            (_holdout[i] ? holdout : train).Add(i);
        }

        // A tiny sample may put every row on one side; keep both sides non-empty.
        if (holdout.Count == 0 || train.Count == 0)
        {
            train.Clear();
            holdout.Clear();
            for (var i = 0; i < n; i++)
            {
                _holdout[i] = i % 3 == 0;
                (_holdout[i] ? holdout : train).Add(i);
            }
        }

        _trainRows = [.. train];
        _holdoutRows = [.. holdout];
        _holdoutLabels = _holdoutRows.Select(i => sample.Labels[i]).ToArray();
        _trainCtr = Math.Clamp(_trainRows.Count(i => sample.Labels[i]) / (double)_trainRows.Length, 1e-6, 1 - 1e-6);
        var holdoutCtr = _holdoutLabels.Count(l => l) / (double)Math.Max(1, _holdoutLabels.Length);
        _holdoutEntropy = holdoutCtr is > 0 and < 1 ? -((holdoutCtr * Math.Log(holdoutCtr)) + ((1 - holdoutCtr) * Math.Log(1 - holdoutCtr))) : double.NaN;
        _baseHoldoutNe = Evaluator.Evaluate(_holdoutLabels, Enumerable.Repeat((float)_trainCtr, _holdoutLabels.Length).ToArray()).Metrics.NormalizedEntropy;
        _encodings = new float[sample.CategoricalCount][];
        _sampleDistinct = new int[sample.CategoricalCount];
        _ids = new int[sample.CategoricalCount][];
        _idCount = new int[sample.CategoricalCount];

        // Three weights need far fewer rows than the sample: fit them on an evenly spread subset of the training part.
        var stride = Math.Max(1, _trainRows.Length / MaxFitRows);
        _fitRows = Enumerable.Range(0, _trainRows.Length / stride).Select(k => _trainRows[k * stride]).ToArray();
    }

    public int HoldoutCount => _holdoutRows.Length;

    public FieldSignal Categorical(int field)
    {
        var keys = new uint[_sample.Count];
        var ids = new int[_sample.Count];
        var distinct = new Dictionary<uint, int>();
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = _sample.Keys[(i * _sample.CategoricalCount) + field];
            ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(distinct, keys[i], out var exists);
            if (!exists)
            {
                id = distinct.Count - 1;
            }

            ids[i] = id;
        }

        _ids[field] = ids;
        _idCount[field] = distinct.Count;
        _sampleDistinct[field] = distinct.Count - (distinct.ContainsKey(ClickLogProfiler.MissingKey) ? 1 : 0);
        var signal = Score(keys, out _encodings[field]);
        return signal with { SampleDistinct = _sampleDistinct[field] };
    }

    public FieldSignal Numeric(int field, out ValueStatistics[] quantiles, out HistogramBin[] histogram)
    {
        var n = _sample.Count;
        var values = new float[n];
        var present = new List<float>(n);
        for (var i = 0; i < n; i++)
        {
            values[i] = _sample.Numeric[(i * _sample.NumericCount) + field];
            if (!float.IsNaN(values[i]))
            {
                present.Add(values[i]);
            }
        }

        present.Sort();

        // Decile edges; ties (a count that is 0 for half the rows) merge buckets rather than split a value.
        var edges = new List<float>();
        for (var q = 1; q < 10 && present.Count > 0; q++)
        {
            var edge = present[(int)Math.Min(present.Count - 1, (long)present.Count * q / 10)];
            if (edges.Count == 0 || edge > edges[^1])
            {
                edges.Add(edge);
            }
        }

        if (present.Count > 0 && edges.Count > 0 && edges[^1] >= present[^1])
        {
            edges.RemoveAt(edges.Count - 1);
        }

        var bucketCount = edges.Count + 1;
        var keys = new uint[n];
        var rows = new long[bucketCount];
        var clicks = new long[bucketCount];
        var low = Enumerable.Repeat(float.PositiveInfinity, bucketCount).ToArray();
        var high = Enumerable.Repeat(float.NegativeInfinity, bucketCount).ToArray();
        for (var i = 0; i < n; i++)
        {
            if (float.IsNaN(values[i]))
            {
                keys[i] = ClickLogProfiler.MissingKey;
                continue;
            }

            var b = edges.BinarySearch(values[i]);
            b = b >= 0 ? b : ~b;
            keys[i] = (uint)b + 1;
            rows[b]++;
            clicks[b] += _sample.Labels[i] ? 1 : 0;
            low[b] = Math.Min(low[b], values[i]);
            high[b] = Math.Max(high[b], values[i]);
        }

        var empty = n - present.Count;
        var emptyClicks = 0L;
        for (var i = 0; i < n; i++)
        {
            emptyClicks += float.IsNaN(values[i]) && _sample.Labels[i] ? 1 : 0;
        }

        quantiles = Enumerable.Range(0, bucketCount)
            .Where(b => rows[b] > 0)
            .Select(b => Stats.Value(low[b] == high[b] ? Format(low[b]) : $"{Format(low[b])} … {Format(high[b])}", rows[b], clicks[b]))
            .Concat(empty > 0 ? [Stats.Value("(empty)", empty, emptyClicks)] : [])
            .ToArray();
        histogram = Histogram(present, values);
        var signal = Score(keys, out _);
        return signal with { SampleDistinct = present.Distinct().Count() };
    }

    /// <summary>Scores every pair of categorical fields with a manageable number of values; says which fields were left out and why.</summary>
    public (CrossCandidate[] Candidates, string[] Skipped) Crosses(ClickLogSchema schema, CancellationToken cancellationToken, bool auc = true)
    {
        var skipped = new List<string>();
        var eligible = new List<int>();
        for (var c = 0; c < _sample.CategoricalCount; c++)
        {
            var name = schema.Categorical[c];
            if (_sampleDistinct[c] > _options.MaxCrossFieldCardinality)
            {
                skipped.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: {_sampleDistinct[c]:N0} distinct values in the sample, more than {_options.MaxCrossFieldCardinality:N0}: its pairs would be mostly unique cells that a sample cannot score (cross it only with evidence from a larger run)."));
            }
            else if (_sampleDistinct[c] < 2)
            {
                skipped.Add($"{name}: fewer than two distinct values in the sample: nothing to cross.");
            }
            else
            {
                eligible.Add(c);
            }
        }

        if (schema.Numeric.Count > 0)
        {
            skipped.Add("Numeric fields are not scored as crosses: their quantile buckets above show their shape; cross a bucketized copy if needed.");
        }

        _eligible = [.. eligible];
        _auc = auc;
        var pairs = new List<(int A, int B)>();
        for (var i = 0; i < eligible.Count; i++)
        {
            for (var j = i + 1; j < eligible.Count; j++)
            {
                pairs.Add((eligible[i], eligible[j]));
            }
        }

        var inSchema = schema.Crosses.Select(c => (c.First, c.Second)).ToHashSet();
        var results = new CrossCandidate[pairs.Count];
        FitBaseline();
        Parallel.For(
            0,
            pairs.Count,
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            () => (new float[_holdoutRows.Length], new float[_holdoutRows.Length]),
            (p, _, buffers) =>
            {
                var (a, b) = pairs[p];
                var (first, second) = (schema.Categorical[a], schema.Categorical[b]);
                results[p] = ScorePair(a, b, buffers.Item1, buffers.Item2, auc) with
                {
                    First = first,
                    Second = second,
                    InSchema = inSchema.Contains((first, second)) || inSchema.Contains((second, first)),
                };
                return buffers;
            },
            _ => { });

        var ranked = results.OrderByDescending(r => r.NeGain).ThenBy(r => r.First, StringComparer.Ordinal).ThenBy(r => r.Second, StringComparer.Ordinal).ToArray();
        return (ranked, [.. skipped]);
    }

    /// <summary>
    /// The additive baseline every pair is judged against: a logistic model of the label on every categorical field's
    /// encoding at once, fitted on (a subset of) the training part. A two-field baseline would credit a pair with what
    /// the other fields explain (logistic models do not collapse over omitted fields), and a large sample makes that
    /// bias significant for pairs that interact in no way.
    /// </summary>
    private void FitBaseline()
    {
        if (_baseLogit is not null)
        {
            return;
        }

        var fields = Enumerable.Range(0, _encodings.Length).Where(f => _encodings[f] is not null).ToArray();
        var w = FitLogistic(fields);
        var n = _sample.Count;
        var logits = new float[n];
        var p = new double[n];
        for (var i = 0; i < n; i++)
        {
            var logit = w[0];
            for (var k = 0; k < fields.Length; k++)
            {
                logit += w[k + 1] * _encodings[fields[k]][i];
            }

            logits[i] = (float)logit;
            p[i] = Stats.Sigmoid(logit);
        }

        // One weight per field cannot fit every value's effect (an encoding is the value's marginal CTR, not its
        // effect): each field's values are recalibrated against the baseline, so a pair is credited only with what its
        // cells add beyond both of its fields' own values.
        _valueLogRatio = new double[_encodings.Length][];
        foreach (var f in fields)
        {
            var expected = new double[_idCount[f]];
            var clicks = new int[_idCount[f]];
            foreach (var i in _trainRows)
            {
                expected[_ids[f][i]] += p[i];
                clicks[_ids[f][i]] += _sample.Labels[i] ? 1 : 0;
            }

            _valueLogRatio[f] = expected.Select((e, id) => Math.Log((clicks[id] + PriorClicks) / (e + PriorClicks))).ToArray();
        }

        _baseLogit = logits;
    }

    private float[]? _baseLogit;
    private double[][] _valueLogRatio = [];
    private int[] _eligible = [];

    /// <summary>Whether the pairs were scored with AUCs; triples are scored the same way.</summary>
    private bool _auc;

    private CrossCandidate ScorePair(int a, int b, float[] additive, float[] crossed, bool auc)
    {
        var ia = _ids[a];
        var ib = _ids[b];
        var nb = _idCount[b];
        var labels = _sample.Labels;
        var baseLogit = _baseLogit!;
        var ra = _valueLogRatio[a];
        var rb = _valueLogRatio[b];

        // Expected clicks under the additive model and observed clicks, per value pair, on the training part.
        var counts = new CellCounts((long)_idCount[a] * nb);
        foreach (var i in _trainRows)
        {
            counts.Add(((long)ia[i] * nb) + ib[i], Stats.Sigmoid(baseLogit[i] + ra[ia[i]] + rb[ib[i]]), labels[i] ? 1 : 0);
        }

        for (var k = 0; k < _holdoutRows.Length; k++)
        {
            var i = _holdoutRows[k];
            var logit = baseLogit[i] + ra[ia[i]] + rb[ib[i]];
            additive[k] = (float)Stats.Sigmoid(logit);
            crossed[k] = (float)Stats.Sigmoid(logit + counts.LogRatio(((long)ia[i] * nb) + ib[i]));
        }

        return Gain(additive, crossed, counts.Cells, auc);
    }

    /// <summary>
    /// Triples for a beam search: each beam pair extended by every other crossable field, each set of three fields once
    /// (the first beam pair that reaches it names its order), in beam order then schema order.
    /// </summary>
    public (string First, string Second, string Third)[] Extensions(ClickLogSchema schema, IEnumerable<CrossCandidate> beam)
    {
        var index = FieldIndex(schema);
        var seen = new HashSet<(int, int, int)>();
        var triples = new List<(string, string, string)>();
        foreach (var pair in beam)
        {
            var (a, b) = (index[pair.First], index[pair.Second]);
            foreach (var c in _eligible)
            {
                if (c != a && c != b && seen.Add(Sorted(a, b, c)))
                {
                    triples.Add((pair.First, pair.Second, schema.Categorical[c]));
                }
            }
        }

        return [.. triples];
    }

    /// <summary>
    /// Scores triples by what a smoothed encoding of the three fields' value triples adds, on held-out rows, over a model
    /// that already holds the triple's three pairs (the baseline, the three fields' values recalibrated, then each pair's
    /// cells): a triple is credited only with an interaction none of its pairs explains, so a strong pair does not make
    /// every triple containing it look strong. Best first; the same inputs give the same scores.
    /// </summary>
    public CrossCandidate[] Triples(ClickLogSchema schema, IReadOnlyList<(string First, string Second, string Third)> triples, CancellationToken cancellationToken)
    {
        FitBaseline();
        var index = FieldIndex(schema);
        var inSchema = schema.Crosses.Where(c => c.Third is not null).Select(c => Sorted(index[c.First], index[c.Second], index[c.Third!])).ToHashSet();
        var results = new CrossCandidate[triples.Count];
        Parallel.For(
            0,
            triples.Count,
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            () => new TripleBuffers(_sample.Count, _holdoutRows.Length),
            (t, _, buffers) =>
            {
                var (first, second, third) = triples[t];
                var fields = Sorted(index[first], index[second], index[third]);
                results[t] = ScoreTriple(fields, buffers, _auc) with { First = first, Second = second, Third = third, InSchema = inSchema.Contains(fields) };
                return buffers;
            },
            _ => { });

        return [.. results.OrderByDescending(r => r.NeGain).ThenBy(r => r.ToCross().ToString(), StringComparer.Ordinal)];
    }

    private CrossCandidate ScoreTriple((int A, int B, int C) fields, TripleBuffers buffers, bool auc)
    {
        var (a, b, c) = fields;
        var logit = buffers.Logit;
        var cells = buffers.Cells;
        var baseLogit = _baseLogit!;
        for (var i = 0; i < logit.Length; i++)
        {
            logit[i] = baseLogit[i] + _valueLogRatio[a][_ids[a][i]] + _valueLogRatio[b][_ids[b][i]] + _valueLogRatio[c][_ids[c][i]];
        }

        // The pairs in a fixed order (by field), each fitted on the training part under the model so far, so the
        // triple's score depends on its set of fields alone.
        int[][] pairs = [[a, b], [a, c], [b, c]];
        foreach (var pair in pairs)
        {
            var counts = Count(pair, logit, cells);
            for (var i = 0; i < logit.Length; i++)
            {
                logit[i] += counts.LogRatio(cells[i]);
            }
        }

        var triple = Count([a, b, c], logit, cells);
        for (var k = 0; k < _holdoutRows.Length; k++)
        {
            var i = _holdoutRows[k];
            buffers.Before[k] = (float)Stats.Sigmoid(logit[i]);
            buffers.After[k] = (float)Stats.Sigmoid(logit[i] + triple.LogRatio(cells[i]));
        }

        return Gain(buffers.Before, buffers.After, triple.Cells, auc);
    }

    /// <summary>Writes each sample row's cell of <paramref name="fields"/> to <paramref name="cells"/> and counts expected (under <paramref name="logit"/>) and observed clicks per cell on the training part.</summary>
    private CellCounts Count(int[] fields, double[] logit, long[] cells)
    {
        long size = 1;
        foreach (var f in fields)
        {
            size *= _idCount[f];
        }

        Array.Clear(cells);
        foreach (var f in fields)
        {
            var ids = _ids[f];
            var n = _idCount[f];
            for (var i = 0; i < cells.Length; i++)
            {
                cells[i] = (cells[i] * n) + ids[i];
            }
        }

        var counts = new CellCounts(size);
        foreach (var i in _trainRows)
        {
            counts.Add(cells[i], Stats.Sigmoid(logit[i]), _sample.Labels[i] ? 1 : 0);
        }

        return counts;
    }

    /// <summary>Each categorical field's position in the schema, by name.</summary>
    private static Dictionary<string, int> FieldIndex(ClickLogSchema schema) =>
        schema.Categorical.Select((name, c) => (name, c)).ToDictionary(x => x.name, x => x.c, StringComparer.Ordinal);

    private static (int, int, int) Sorted(int a, int b, int c)
    {
        Span<int> s = [a, b, c];
        s.Sort();
        return (s[0], s[1], s[2]);
    }

    /// <summary>
    /// Held-out NE before and after a correction, with the gain's standard error from the paired per-row log-loss
    /// differences: many candidates are scored, so the best of them by chance alone can show a gain that is only noise.
    /// </summary>
    private CrossCandidate Gain(float[] before, float[] after, int cells, bool auc)
    {
        // AUCs sort the holdout twice per candidate: training's search, which needs only the gains, leaves them out.
        var (beforeAuc, afterAuc) = auc
            ? (Evaluator.Evaluate(_holdoutLabels, before).Metrics.Auc, Evaluator.Evaluate(_holdoutLabels, after).Metrics.Auc)
            : (double.NaN, double.NaN);
        double sum = 0, sumSquares = 0, beforeLoss = 0;
        for (var k = 0; k < _holdoutLabels.Length; k++)
        {
            var l = LogLoss(_holdoutLabels[k], before[k]);
            var d = l - LogLoss(_holdoutLabels[k], after[k]);
            beforeLoss += l;
            sum += d;
            sumSquares += d * d;
        }

        var n = (double)_holdoutLabels.Length;
        var beforeNe = beforeLoss / n / _holdoutEntropy;
        var afterNe = (beforeLoss - sum) / n / _holdoutEntropy;
        var variance = Math.Max(0, (sumSquares / n) - ((sum / n) * (sum / n)));
        var standardError = Math.Sqrt(variance / n) / _holdoutEntropy;
        return new CrossCandidate(string.Empty, string.Empty, cells, beforeNe, afterNe, beforeAuc, afterAuc, false)
        {
            NeGainStandardError = standardError,
        };

        static double LogLoss(bool label, float p)
        {
            var q = Math.Clamp(p, 1e-15, 1 - 1e-15);
            return label ? -Math.Log(q) : -Math.Log(1 - q);
        }
    }

    /// <summary>Per-thread buffers of a triple's scoring: a logit and a cell per sample row, the held-out predictions before and after.</summary>
    private sealed class TripleBuffers(int rows, int holdout)
    {
        public double[] Logit { get; } = new double[rows];

        public long[] Cells { get; } = new long[rows];

        public float[] Before { get; } = new float[holdout];

        public float[] After { get; } = new float[holdout];
    }

    /// <summary>Expected and observed clicks per cell of crossed fields: in arrays when the cells are few, in a dictionary otherwise.</summary>
    private sealed class CellCounts
    {
        private readonly double[]? _expected;
        private readonly int[]? _clicks;
        private readonly Dictionary<long, (double Expected, int Clicks)>? _sparse;

        public CellCounts(long size)
        {
            if (size <= MaxDenseCells)
            {
                _expected = new double[size];
                _clicks = new int[size];
            }
            else
            {
                _sparse = [];
            }
        }

        /// <summary>Cells seen (with a positive expectation, for the arrays).</summary>
        public int Cells => _expected?.Count(e => e > 0) ?? _sparse!.Count;

        public void Add(long cell, double expected, int click)
        {
            if (_expected is not null)
            {
                _expected[cell] += expected;
                _clicks![cell] += click;
            }
            else
            {
                ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_sparse!, cell, out _);
                entry.Expected += expected;
                entry.Clicks += click;
            }
        }

        /// <summary>The cell's smoothed observed/expected click ratio, as a log-odds correction; 0 for a cell never seen.</summary>
        public double LogRatio(long cell)
        {
            var (e, c) = _expected is not null ? (_expected[cell], _clicks![cell]) : _sparse!.GetValueOrDefault(cell);
            return Math.Log((c + PriorClicks) / (e + PriorClicks));
        }
    }

    /// <summary>Logistic regression of the label on the given fields' encodings over (a subset of) the training rows: Newton's method, lightly ridged.</summary>
    /// <returns>The intercept, then one weight per field, for uncentred encodings.</returns>
    private double[] FitLogistic(int[] fields)
    {
        var labels = _sample.Labels;
        var center = EncodingCenter;
        var ridge = 1e-3 * _fitRows.Length;
        var k = fields.Length + 1;
        var w = new double[k];
        w[0] = center;
        var x = new double[k];
        var h = new double[k * k];
        var g = new double[k];
        for (var iteration = 0; iteration < 6; iteration++)
        {
            Array.Clear(h);
            Array.Clear(g);
            foreach (var i in _fitRows)
            {
                // Centre the encodings on the base rate so the intercept stays near it.
                x[0] = 1;
                var logit = w[0];
                for (var f = 0; f < fields.Length; f++)
                {
                    x[f + 1] = _encodings[fields[f]][i] - center;
                    logit += w[f + 1] * x[f + 1];
                }

                var p = Stats.Sigmoid(logit);
                var r = p - (labels[i] ? 1 : 0);
                var v = Math.Max(p * (1 - p), 1e-9);
                for (var u = 0; u < k; u++)
                {
                    g[u] += r * x[u];
                    var vx = v * x[u];
                    for (var t = u; t < k; t++)
                    {
                        h[(u * k) + t] += vx * x[t];
                    }
                }
            }

            for (var u = 0; u < k; u++)
            {
                for (var t = 0; t < u; t++)
                {
                    h[(u * k) + t] = h[(t * k) + u];
                }

                if (u > 0)
                {
                    g[u] += ridge * w[u];
                    h[(u * k) + u] += ridge;
                }
            }

            h[0] += ridge;
            if (!Solve(h, g, k))
            {
                break;
            }

            for (var u = 0; u < k; u++)
            {
                w[u] -= g[u];
            }
        }

        // Back to uncentred encodings: logit = w0 + Σ w_f (e_f − c).
        for (var f = 1; f < k; f++)
        {
            w[0] -= w[f] * center;
        }

        return w;
    }

    /// <summary>The base rate's logit, around which encodings are centred for the fit.</summary>
    private double EncodingCenter => Stats.Logit(_trainCtr);

    /// <summary>Solves h·d = g in place (d written to g) by Gaussian elimination with partial pivoting; false when singular.</summary>
    private static bool Solve(double[] h, double[] g, int k)
    {
        for (var col = 0; col < k; col++)
        {
            var pivot = col;
            for (var row = col + 1; row < k; row++)
            {
                if (Math.Abs(h[(row * k) + col]) > Math.Abs(h[(pivot * k) + col]))
                {
                    pivot = row;
                }
            }

            if (Math.Abs(h[(pivot * k) + col]) < 1e-12)
            {
                return false;
            }

            if (pivot != col)
            {
                for (var t = 0; t < k; t++)
                {
                    (h[(col * k) + t], h[(pivot * k) + t]) = (h[(pivot * k) + t], h[(col * k) + t]);
                }

                (g[col], g[pivot]) = (g[pivot], g[col]);
            }

            for (var row = 0; row < k; row++)
            {
                if (row == col)
                {
                    continue;
                }

                var factor = h[(row * k) + col] / h[(col * k) + col];
                if (factor == 0)
                {
                    continue;
                }

                for (var t = col; t < k; t++)
                {
                    h[(row * k) + t] -= factor * h[(col * k) + t];
                }

                g[row] -= factor * g[col];
            }
        }

        for (var j = 0; j < k; j++)
        {
            g[j] /= h[(j * k) + j];
        }

        return true;
    }

    /// <summary>
    /// Univariate signal of a keyed field: in-sample AUC (CTRs from every sample row), held-out AUC and NE gain
    /// (CTRs from the training part), and per-row encodings (out-of-fold on the training part) for the cross scores.
    /// </summary>
    private FieldSignal Score(uint[] keys, out float[] encoding)
    {
        var n = keys.Length;
        var all = new Dictionary<uint, (int Rows, int Clicks)>();
        var folds = new[] { new Dictionary<uint, (int Rows, int Clicks)>(), new Dictionary<uint, (int Rows, int Clicks)>() };
        var train = new Dictionary<uint, (int Rows, int Clicks)>();
        var labels = _sample.Labels;
        var sampleClicks = 0;
        for (var i = 0; i < n; i++)
        {
            var click = labels[i] ? 1 : 0;
            sampleClicks += click;
            Add(all, keys[i], click);
            if (!_holdout[i])
            {
                Add(train, keys[i], click);
                Add(folds[_fold[i]], keys[i], click);
            }
        }

        var sampleCtr = Math.Clamp(sampleClicks / (double)n, 1e-6, 1 - 1e-6);
        var inSample = new float[n];
        encoding = new float[n];
        var heldOut = new float[_holdoutRows.Length];
        for (var i = 0; i < n; i++)
        {
            inSample[i] = (float)Smoothed(all, keys[i], sampleCtr);
            var p = _holdout[i] ? Smoothed(train, keys[i], _trainCtr) : Smoothed(folds[1 - _fold[i]], keys[i], _trainCtr);
            encoding[i] = (float)Stats.Logit(p);
        }

        for (var k = 0; k < _holdoutRows.Length; k++)
        {
            heldOut[k] = (float)Stats.Sigmoid(encoding[_holdoutRows[k]]);
        }

        var inSampleMetrics = Evaluator.Evaluate(labels.AsSpan(0, n), inSample).Metrics;
        var heldOutMetrics = Evaluator.Evaluate(_holdoutLabels, heldOut).Metrics;
        return new FieldSignal(inSampleMetrics.Auc, heldOutMetrics.Auc, _baseHoldoutNe - heldOutMetrics.NormalizedEntropy, 0);

        static void Add(Dictionary<uint, (int Rows, int Clicks)> counts, uint key, int click)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, key, out _);
            entry.Rows++;
            entry.Clicks += click;
        }

        static double Smoothed(Dictionary<uint, (int Rows, int Clicks)> counts, uint key, double prior)
        {
            var (rows, clicks) = counts.TryGetValue(key, out var e) ? e : (0, 0);
            return (clicks + (PriorRows * prior)) / (rows + PriorRows);
        }
    }

    /// <summary>Equal-width bins over the signed log of the values, since counts are heavy-tailed; edges are given back in the values' own units.</summary>
    private HistogramBin[] Histogram(List<float> sorted, float[] values)
    {
        if (sorted.Count == 0)
        {
            return [];
        }

        const int bins = 30;
        var lo = Features.FeatureHasher.SignedLog(sorted[0]);
        var hi = Features.FeatureHasher.SignedLog(sorted[^1]);
        var count = hi > lo ? bins : 1;
        var width = hi > lo ? (hi - lo) / bins : 1;
        var rows = new long[count];
        var clicks = new long[count];
        for (var i = 0; i < values.Length; i++)
        {
            if (float.IsNaN(values[i]))
            {
                continue;
            }

            var b = Math.Clamp((int)((Features.FeatureHasher.SignedLog(values[i]) - lo) / width), 0, count - 1);
            rows[b]++;
            clicks[b] += _sample.Labels[i] ? 1 : 0;
        }

        return Enumerable.Range(0, count)
            .Select(b => new HistogramBin(Unlog(lo + (b * width)), Unlog(lo + ((b + 1) * width)), rows[b], clicks[b]))
            .ToArray();

        static double Unlog(double v) => v >= 0 ? double.ExpM1(v) : -double.ExpM1(-v);
    }

    private static string Format(float value) => value.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>A field's univariate signal on the sample.</summary>
internal sealed record FieldSignal(double InSampleAuc, double HeldOutAuc, double NeGain, int SampleDistinct);
