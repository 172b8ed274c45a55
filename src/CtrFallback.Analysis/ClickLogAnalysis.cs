using CtrFallback.Data;
namespace CtrFallback.Analysis;

/// <summary>Settings of a click-log analysis (<see cref="ClickLogAnalyzer"/>).</summary>
public sealed record ClickLogAnalysisOptions
{
    /// <summary>Rows kept in the uniform reservoir sample that per-value CTRs, AUCs, quantiles and cross scores are measured on.</summary>
    /// <value>The default is 200,000.</value>
    public int SampleRows { get; init; } = 200_000;

    /// <summary>Distinct values counted exactly per field; beyond it the rarest are pruned and the cardinality comes from HyperLogLog.</summary>
    /// <value>The default is 20,000.</value>
    public int ExactCardinalityBound { get; init; } = 20_000;

    /// <summary>Top values shown per categorical field.</summary>
    /// <value>The default is 10.</value>
    public int TopValues { get; init; } = 10;

    /// <summary>Categorical fields with more distinct values than this in the sample are not scored as cross candidates.</summary>
    /// <value>The default is 10,000.</value>
    public int MaxCrossFieldCardinality { get; init; } = 10_000;

    /// <summary>Share of the sample held out to measure univariate and cross gains.</summary>
    /// <value>The default is 0.3.</value>
    public double HoldoutFraction { get; init; } = 0.3;

    /// <summary>Seed of the reservoir sample and the holdout split: the same seed and data give the same report.</summary>
    /// <value>The default is 42.</value>
    public int Seed { get; init; } = 42;

    /// <summary>Reports rows read so far, every 100,000 rows.</summary>
    public IProgress<long>? Progress { get; init; }

    /// <summary>
    /// Analyze the newest partitions only, as training does with <c>Training:Window</c>: days or hours (<c>7d</c>,
    /// <c>36h</c>) back from the newest Hive partition's end; <see langword="null"/> reads every file.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Window { get; init; }
}

/// <summary>What a click log holds, field by field, and which pairwise crosses would add to the model.</summary>
public sealed record ClickLogAnalysis
{
    /// <summary>The files analyzed, in order, after folders and globs were expanded and the window applied.</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>The schema the files were read with.</summary>
    public required ClickLogSchema Schema { get; init; }

    /// <summary>Well-formed rows read (every row, not only the sample).</summary>
    public long Rows { get; init; }

    /// <summary>Clicks among the rows read.</summary>
    public long Clicks { get; init; }

    /// <summary>Malformed rows counted and skipped.</summary>
    public long MalformedRows { get; init; }

    /// <summary>The first malformed rows, with file and line.</summary>
    public IReadOnlyList<MalformedRow> MalformedExamples { get; init; } = [];

    /// <summary>Rows in the reservoir sample.</summary>
    public int SampleRows { get; init; }

    /// <summary>Rows of the sample held out to measure gains.</summary>
    public int HoldoutRows { get; init; }

    /// <summary>How the rows behind each number were chosen, in words.</summary>
    public required IReadOnlyList<string> Method { get; init; }

    /// <summary>One entry per schema field: numeric fields first, then categorical fields, in schema order.</summary>
    public required IReadOnlyList<FieldAnalysis> Fields { get; init; }

    /// <summary>Pairs of categorical fields, best first by held-out normalized-entropy gain over the two fields alone.</summary>
    public required IReadOnlyList<CrossCandidate> CrossCandidates { get; init; }

    /// <summary>Fields left out of cross scoring, each with the reason.</summary>
    public required IReadOnlyList<string> CrossSkipped { get; init; }

    /// <summary>The expected share of hashed features that collide, for the schema's hash bits and neighbours.</summary>
    public required HashingCollisionEstimate Hashing { get; init; }

    /// <summary>How long the analysis took.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Durations of the stages: <c>pass</c> (read every row, fill the sample), <c>fields</c> (univariate signal on the sample), <c>crosses</c>.</summary>
    public IReadOnlyDictionary<string, TimeSpan> Stages { get; init; } = new Dictionary<string, TimeSpan>();

    /// <summary>The background click rate.</summary>
    public double Ctr => Rows == 0 ? double.NaN : (double)Clicks / Rows;

    /// <summary>The scorer the cross candidates came from, kept so a schema suggestion can score triples on the same sample; <see langword="null"/> for an analysis built by hand.</summary>
    internal SignalScorer? Scorer { get; init; }
}

/// <summary>The kind of a schema field.</summary>
public enum FieldKind
{
    /// <summary>A numeric (count) field.</summary>
    Numeric,

    /// <summary>A categorical field.</summary>
    Categorical,
}

/// <summary>One field's profile: coverage, cardinality, top values or quantile buckets, and its univariate signal.</summary>
public sealed record FieldAnalysis
{
    /// <summary>The column name.</summary>
    public required string Name { get; init; }

    /// <summary>Numeric or categorical.</summary>
    public FieldKind Kind { get; init; }

    /// <summary>Rows where the field is empty (over every row read).</summary>
    public long Missing { get; init; }

    /// <summary>Share of rows where the field is empty.</summary>
    public double MissingShare { get; init; }

    /// <summary>Click rate of the rows where the field is empty, with a Wilson interval.</summary>
    public ValueStatistics? MissingStatistics { get; init; }

    /// <summary>Distinct non-empty values (over every row read).</summary>
    public long Distinct { get; init; }

    /// <summary>Whether <see cref="Distinct"/> is an exact count (otherwise a HyperLogLog estimate).</summary>
    public bool DistinctIsExact { get; init; }

    /// <summary>The most frequent values with their click rates (categorical fields).</summary>
    public IReadOnlyList<ValueStatistics> TopValues { get; init; } = [];

    /// <summary>Counts of top values may be low by at most this many rows (0 when counted exactly; pruning of rare values makes it positive).</summary>
    public long TopValueUndercountBound { get; init; }

    /// <summary>AUC of scoring each sample row by its value's smoothed CTR measured on the same rows: in-sample, so it flatters rare values.</summary>
    public double InSampleAuc { get; init; }

    /// <summary>AUC on the held-out part of the sample, each row scored by its value's smoothed CTR on the rest.</summary>
    public double HeldOutAuc { get; init; }

    /// <summary>Held-out normalized-entropy gain over the base rate (information gain, as a share of the label's entropy).</summary>
    public double HeldOutNeGain { get; init; }

    /// <summary>Distinct non-empty values in the sample.</summary>
    public int SampleDistinct { get; init; }

    /// <summary>The numeric summary, for numeric fields.</summary>
    public NumericFieldSummary? Numeric { get; init; }
}

/// <summary>A value (or bucket) with its row count and click rate.</summary>
/// <param name="Value">The value's text, or a bucket's range.</param>
/// <param name="Rows">Rows with the value.</param>
/// <param name="Clicks">Clicks among them.</param>
/// <param name="CtrLow">Lower end of the 95% Wilson interval of the click rate.</param>
/// <param name="CtrHigh">Upper end of the 95% Wilson interval of the click rate.</param>
public sealed record ValueStatistics(string Value, long Rows, long Clicks, double CtrLow, double CtrHigh)
{
    /// <summary>The observed click rate.</summary>
    public double Ctr => Rows == 0 ? double.NaN : (double)Clicks / Rows;
}

/// <summary>A numeric field's distribution and click rate by quantile bucket.</summary>
/// <param name="Min">The smallest value (every row).</param>
/// <param name="Max">The largest value (every row).</param>
/// <param name="Mean">The mean value (every row).</param>
/// <param name="QuantileBuckets">Click rate per quantile bucket of the sample's non-empty values, lowest first, then the sample's empty rows (if any) as <c>(empty)</c>.</param>
/// <param name="Histogram">Counts over equal-width bins of the signed log <c>sign(x)·ln(1+|x|)</c> of the sample's values.</param>
public sealed record NumericFieldSummary(double Min, double Max, double Mean, IReadOnlyList<ValueStatistics> QuantileBuckets, IReadOnlyList<HistogramBin> Histogram);

/// <summary>One histogram bin.</summary>
/// <param name="From">Lower edge.</param>
/// <param name="To">Upper edge.</param>
/// <param name="Rows">Rows in the bin.</param>
/// <param name="Clicks">Clicks among them.</param>
public sealed record HistogramBin(double From, double To, long Rows, long Clicks);

/// <summary>
/// A pair of categorical fields scored as a cross: what a smoothed target encoding of the pair adds over both fields
/// additively; or a triple (<see cref="Third"/> set), scored by what it adds over a model holding its three pairs.
/// </summary>
/// <param name="First">The first field.</param>
/// <param name="Second">The second field.</param>
/// <param name="Cells">Distinct value pairs in the training part of the sample.</param>
/// <param name="AdditiveNe">Held-out normalized entropy of a logistic model on the two fields' target encodings (for a triple: of that model with the triple's three pairs).</param>
/// <param name="CrossNe">Held-out normalized entropy after correcting that model by the pair's smoothed observed/expected click ratio.</param>
/// <param name="AdditiveAuc">Held-out AUC of the additive model.</param>
/// <param name="CrossAuc">Held-out AUC with the pair's correction.</param>
/// <param name="InSchema">Whether the schema already crosses the pair.</param>
public sealed record CrossCandidate(string First, string Second, int Cells, double AdditiveNe, double CrossNe, double AdditiveAuc, double CrossAuc, bool InSchema)
{
    /// <summary>The third field of a triple found by extending the pair <see cref="First"/> × <see cref="Second"/> (beam search); <see langword="null"/> for a pair.</summary>
    public string? Third { get; init; }

    /// <summary>The cross as a schema holds it.</summary>
    /// <returns><see cref="First"/>, <see cref="Second"/> and, for a triple, <see cref="Third"/>.</returns>
    public FieldCross ToCross() => new(First, Second, Third);

    /// <summary>The held-out normalized-entropy gain of the cross (positive: the cross helps).</summary>
    public double NeGain => AdditiveNe - CrossNe;

    /// <summary>The held-out AUC gain of the cross.</summary>
    public double AucGain => CrossAuc - AdditiveAuc;

    /// <summary>Standard error of <see cref="NeGain"/>, from the paired per-row log-loss differences on the held-out rows.</summary>
    public double NeGainStandardError { get; init; } = double.NaN;

    /// <summary>The gain in standard errors; with hundreds of pairs scored, values below about 3 are within what chance alone gives the best of them.</summary>
    public double Z => NeGainStandardError > 0 ? NeGain / NeGainStandardError : double.NaN;
}

/// <summary>How many hashed features are expected to share a weight with another.</summary>
/// <param name="HashBits">The schema's hash bits.</param>
/// <param name="DistinctFeatures">Distinct features the featurizer would hash: field values (each field's empty value counted once), numeric buckets and schema crosses.</param>
/// <param name="CollidingShare">Expected share of distinct features that share their slot with at least one other: <c>1 − (1 − 2^−b)^(D−1)</c>.</param>
/// <param name="ByHashBits">The same share for other hash-bit settings, for choosing one.</param>
public sealed record HashingCollisionEstimate(int HashBits, long DistinctFeatures, double CollidingShare, IReadOnlyList<KeyValuePair<int, double>> ByHashBits);
