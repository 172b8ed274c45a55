using CtrFallback.Data;
using CtrFallback.Features;

namespace CtrFallback.Training;

/// <summary>
/// What the data a model was trained on looked like, kept in its artifact beside the schema so that serving measures
/// drift against exactly the served version's training: the holdout's score distribution (quantile bins) and CTR, and
/// per field the missing share and, for categorical fields, the most frequent value hashes with the share they cover.
/// </summary>
internal sealed record TrainingProfile
{
    /// <summary>Quantile bins of the holdout's scores.</summary>
    public const int ScoreBins = 10;

    /// <summary>At most this many frequent values are kept per categorical field.</summary>
    public const int MaxFrequentValues = 256;

    /// <summary>The inner edges of the score bins, ascending (<see cref="ScoreBins"/> - 1 of them); bin b holds scores below edge b and at or above edge b - 1.</summary>
    public required IReadOnlyList<double> ScoreEdges { get; init; }

    /// <summary>The share of holdout scores in each bin (about 1 / <see cref="ScoreBins"/> each; less where scores tie).</summary>
    public required IReadOnlyList<double> ScoreShares { get; init; }

    /// <summary>The mean predicted CTR on the holdout.</summary>
    public double MeanPredictedCtr { get; init; }

    /// <summary>The observed CTR (click share) on the holdout.</summary>
    public double ObservedCtr { get; init; }

    /// <summary>Holdout rows the scores come from.</summary>
    public long HoldoutRows { get; init; }

    /// <summary>Rows the missing shares count (every well-formed row read).</summary>
    public long Rows { get; init; }

    /// <summary>Rows of the uniform sample the frequent values are counted on.</summary>
    public long SampledRows { get; init; }

    /// <summary>One entry per schema field: the numeric fields, then the categorical fields, in schema order.</summary>
    public required IReadOnlyList<FieldProfile> Fields { get; init; }

    /// <summary>The bin of a score: the number of edges at or below it.</summary>
    public static int Bin(ReadOnlySpan<double> edges, double score)
    {
        // Nine edges: a linear scan beats a binary search and does not allocate.
        var bin = 0;
        while (bin < edges.Length && score >= edges[bin])
        {
            bin++;
        }

        return bin;
    }

    /// <summary>
    /// Population stability index of observed bin counts against expected shares: sum of (a - e) ln(a / e), with both
    /// shares floored at 10^-4 so an empty bin gives a large but finite term.
    /// </summary>
    public static double Psi(IReadOnlyList<double> expected, ReadOnlySpan<long> counts, long total)
    {
        const double Floor = 1e-4;
        double psi = 0;
        for (var b = 0; b < counts.Length; b++)
        {
            var a = Math.Max((double)counts[b] / total, Floor);
            var e = Math.Max(expected[b], Floor);
            psi += (a - e) * Math.Log(a / e);
        }

        return psi;
    }

    /// <summary>
    /// Checks that the profile has one entry per field of <paramref name="schema"/> (numeric, then categorical), so serving
    /// can read it by position. Names are not compared: a schema check against the serving layout reports those.
    /// </summary>
    public void Validate(FeatureSchema schema)
    {
        var numeric = schema.NumericFields.Count;
        if (ScoreEdges.Count + 1 != ScoreShares.Count
            || Fields.Count != numeric + schema.CategoricalFields.Count
            || Fields.Select((f, i) => f.Categorical != (i >= numeric) || (f.Categorical && f.FrequentValues is null)).Any(bad => bad))
        {
            throw new InvalidDataException("The model artifact's training profile does not match its schema (fields or score bins differ).");
        }
    }
}

/// <summary>One field of a <see cref="TrainingProfile"/>.</summary>
internal sealed record FieldProfile
{
    public required string Field { get; init; }

    public bool Categorical { get; init; }

    /// <summary>The share of rows without a value.</summary>
    public double MissingShare { get; init; }

    /// <summary>The most frequent value hashes (<see cref="FeatureHasher.HashCategorical"/>), most frequent first; <see langword="null"/> for a numeric field.</summary>
    public IReadOnlyList<uint>? FrequentValues { get; init; }

    /// <summary>The share of rows with a value whose value is one of <see cref="FrequentValues"/>.</summary>
    public double FrequentShare { get; init; }
}

/// <summary>
/// Builds a <see cref="TrainingProfile"/> while the featurized log is written: exact missing counts over every row, and
/// a seeded uniform sample (reservoir) of the rows' categorical hashes for the frequent values, so memory stays bounded
/// for fields with millions of ids.
/// </summary>
internal sealed class TrainingProfileBuilder
{
    /// <summary>Rows kept for counting frequent values: shares within about 0.2 percentage points, a few MB for 26 fields.</summary>
    public const int SampleCapacity = 1 << 16;

    private readonly FeatureSchema _schema;
    private readonly uint[] _missingHashes;
    private readonly long[] _missing;
    private readonly uint[] _sample;
    private readonly Random _random;
    private readonly int _numeric;
    private readonly int _categorical;
    private long _rows;

    public TrainingProfileBuilder(FeatureSchema schema, int seed)
    {
        _schema = schema;
        var hasher = new FeatureHasher(schema);
        _numeric = schema.NumericFields.Count;
        _categorical = schema.CategoricalFields.Count;
        _missingHashes = Enumerable.Range(0, _categorical).Select(hasher.MissingHash).ToArray();
        _missing = new long[_numeric + _categorical];
        _sample = new uint[SampleCapacity * _categorical];
        _random = new Random(seed);
    }

    /// <summary>Counts one row; <paramref name="hashes"/> are its categorical hashes from the one featurizer.</summary>
    public void Observe(ClickLogRow row, ReadOnlySpan<uint> hashes)
    {
        var numeric = row.Numeric;
        for (var i = 0; i < _numeric; i++)
        {
            _missing[i] += double.IsNaN(numeric[i]) ? 1 : 0;
        }

        for (var i = 0; i < _categorical; i++)
        {
            _missing[_numeric + i] += hashes[i] == _missingHashes[i] ? 1 : 0;
        }

        // Reservoir sampling (Algorithm R): every row read so far is in the sample with the same probability.
        var slot = _rows < SampleCapacity ? _rows : _random.NextInt64(_rows + 1);
        if (slot < SampleCapacity && _categorical > 0)
        {
            hashes[.._categorical].CopyTo(_sample.AsSpan((int)slot * _categorical, _categorical));
        }

        _rows++;
    }

    /// <summary>The profile, given the holdout's scores (as served: after any negative-sampling correction) and clicks.</summary>
    public TrainingProfile Complete(ReadOnlySpan<float> holdoutScores, long holdoutClicks)
    {
        var sorted = holdoutScores.ToArray();
        Array.Sort(sorted);
        var n = sorted.Length;
        var edges = new double[TrainingProfile.ScoreBins - 1];
        for (var b = 0; b < edges.Length; b++)
        {
            edges[b] = n == 0 ? 0 : sorted[(int)((long)n * (b + 1) / TrainingProfile.ScoreBins)];
        }

        // Shares counted with the very binning serving applies, so ties and float rounding cannot make them disagree.
        var counts = new long[TrainingProfile.ScoreBins];
        double sum = 0;
        foreach (var score in sorted)
        {
            counts[TrainingProfile.Bin(edges, score)]++;
            sum += score;
        }

        var sampled = (int)Math.Min(_rows, SampleCapacity);
        var fields = new List<FieldProfile>(_numeric + _categorical);
        for (var i = 0; i < _numeric; i++)
        {
            fields.Add(new FieldProfile { Field = _schema.NumericFields[i], MissingShare = Share(_missing[i], _rows) });
        }

        for (var i = 0; i < _categorical; i++)
        {
            var (frequent, share) = Frequent(i, sampled);
            fields.Add(new FieldProfile
            {
                Field = _schema.CategoricalFields[i],
                Categorical = true,
                MissingShare = Share(_missing[_numeric + i], _rows),
                FrequentValues = frequent,
                FrequentShare = share,
            });
        }

        return new TrainingProfile
        {
            ScoreEdges = edges,
            ScoreShares = counts.Select(c => Share(c, n)).ToArray(),
            MeanPredictedCtr = n == 0 ? 0 : sum / n,
            ObservedCtr = Share(holdoutClicks, n),
            HoldoutRows = n,
            Rows = _rows,
            SampledRows = sampled,
            Fields = fields,
        };
    }

    private static double Share(long count, long total) => total == 0 ? 0 : (double)count / total;

    /// <summary>The field's most frequent values in the sample: at most 256, each seen at least twice (a value seen once is not frequent).</summary>
    private (uint[] Values, double Share) Frequent(int field, int sampled)
    {
        var counts = new Dictionary<uint, int>();
        var present = 0;
        for (var row = 0; row < sampled; row++)
        {
            var hash = _sample[(row * _categorical) + field];
            if (hash != _missingHashes[field])
            {
                present++;
                System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, hash, out _)++;
            }
        }

        var top = counts.Where(c => c.Value >= 2)
            .OrderByDescending(c => c.Value).ThenBy(c => c.Key)
            .Take(TrainingProfile.MaxFrequentValues)
            .ToArray();
        return (top.Select(c => c.Key).ToArray(), Share(top.Sum(c => (long)c.Value), present));
    }
}
