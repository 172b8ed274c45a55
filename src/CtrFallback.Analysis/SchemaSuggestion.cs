using System.Text.Json;
using CtrFallback.Data;
using CtrFallback.Features;

namespace CtrFallback.Analysis;

/// <summary>How <see cref="ClickLogAnalyzer.SuggestSchema"/> turns an analysis into a schema.</summary>
public sealed record SchemaSuggestionOptions
{
    /// <summary>A cross is added when its held-out NE gain is at least this many standard errors (<see cref="CrossCandidate.Z"/>).</summary>
    /// <value>The default is 3: with a few hundred pairs scored, the best of them by chance alone reaches about 3.</value>
    public double MinZ { get; init; } = 3;

    /// <summary>
    /// The chance, over all the candidates scored, that any cross is added on noise alone: the z bar is raised to the
    /// normal quantile 1 − rate / candidates when that is above <see cref="MinZ"/> (Bonferroni), since the best of many
    /// noise pairs reaches a z a single test would call significant. <see langword="null"/> leaves <see cref="MinZ"/> alone.
    /// </summary>
    /// <value>The default is 0.05: with 120 pairs scored (the Criteo preset's 16 crossable fields) the bar is z 3.34.</value>
    public double? FalseCrossRate { get; init; } = 0.05;

    /// <summary>The hash space is the smallest whose expected share of colliding features is at most this.</summary>
    /// <value>The default is 0.1.</value>
    public double MaxCollidingShare { get; init; } = 0.1;

    /// <summary>Bytes the model's weights may take (4 per weight); caps the hash space when the collision target needs more.</summary>
    /// <value>
    /// The default is 16 MiB (2^22 weights). The weights are read at random on every training pass: at 2^24 (64 MiB, far
    /// past the cache) SDCA's passes took 1.5-2x those at 2^20 on the bench machine, which alone broke the 2x time
    /// limit of <c>Training:Features = Auto</c>, for +0.0004 AUC over 2^22 on a planted 1M log (0.8010 against 0.8006).
    /// </value>
    public long MemoryBudgetBytes { get; init; } = 16L << 20;

    /// <summary>
    /// Beam search for triples: the best this many pairs whose z clears the bar are each extended by every other
    /// crossable field, and a triple is added when what it adds over its pairs clears the same bar. Every triple scored
    /// joins the candidates the bar is raised for. 0 scores pairs only.
    /// </summary>
    /// <value>The default is 5.</value>
    public int BeamWidth { get; init; } = 5;
}

/// <summary>A schema chosen from an analysis: the input schema plus the crosses with significant held-out gain, and a hash space sized by the collision estimate.</summary>
public sealed record SchemaSuggestion
{
    /// <summary>The suggested schema.</summary>
    public required ClickLogSchema Schema { get; init; }

    /// <summary>The crosses added to the input schema's, best first, with the evidence they were chosen on.</summary>
    public required IReadOnlyList<CrossCandidate> AddedCrosses { get; init; }

    /// <summary>The triples the beam search scored, best first by what each adds over its three pairs (empty when no pair cleared the bar).</summary>
    public IReadOnlyList<CrossCandidate> TripleCandidates { get; init; } = [];

    /// <summary>The input schema's crosses with their scores on the same sample (kept whatever their score).</summary>
    public required IReadOnlyList<CrossCandidate> KeptCrosses { get; init; }

    /// <summary>Distinct features expected with the suggested schema: the analysis's count plus an upper estimate for each added cross.</summary>
    public long DistinctFeatures { get; init; }

    /// <summary>The expected share of colliding features at the suggested hash bits.</summary>
    public double CollidingShare { get; init; }

    /// <summary>Cross candidates the evidence was weighed over, pairs and triples (the multiple-comparison count).</summary>
    public int CandidatesTested { get; init; }

    /// <summary>The z a cross needed to be added: <see cref="SchemaSuggestionOptions.MinZ"/>, raised for the candidates tested (see <see cref="SchemaSuggestionOptions.FalseCrossRate"/>).</summary>
    public double RequiredZ { get; init; }

    /// <summary>The options the suggestion was made with.</summary>
    public required SchemaSuggestionOptions Options { get; init; }

    /// <summary>The analysis the suggestion was made from (rows, sample, holdout).</summary>
    public required ClickLogAnalysis Analysis { get; init; }

    /// <summary>The schema file: the document <see cref="ClickLogSchema.Load"/> reads, with an <c>evidence</c> key recording per cross its gain and z, and the hash-width inputs.</summary>
    public string ToJson() => Schema.ToJson(WriteEvidence);

    internal static SchemaSuggestion Create(ClickLogAnalysis analysis, SchemaSuggestionOptions options, CancellationToken cancellationToken = default)
    {
        if (!double.IsFinite(options.MinZ))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "SchemaSuggestionOptions.MinZ must be a finite number.");
        }

        if (options.MaxCollidingShare is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "SchemaSuggestionOptions.MaxCollidingShare must be between 0 and 1.");
        }

        if (options.MemoryBudgetBytes < HashWidth.WeightBytes(FeatureSchema.MinHashBits))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"SchemaSuggestionOptions.MemoryBudgetBytes must be at least {HashWidth.WeightBytes(FeatureSchema.MinHashBits)} bytes (2^{FeatureSchema.MinHashBits} weights).");
        }

        if (options.FalseCrossRate is { } rate && rate is not (> 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "SchemaSuggestionOptions.FalseCrossRate must be between 0 and 1.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.BeamWidth, nameof(options));
        var input = analysis.Schema;
        var pairs = analysis.CrossCandidates;
        var triples = ScoreTriples(analysis, options, cancellationToken);
        var tested = pairs.Count + triples.Length;
        var required = ZBar(options, tested);

        // Candidates come ranked by gain with a deterministic tie-break, so the same analysis adds the same crosses in the same order.
        var scored = pairs.Concat(triples).ToArray();
        var added = scored.Where(c => !c.InSchema && c.NeGain > 0 && c.Z >= required).ToArray();
        var kept = input.Crosses
            .Select(x => scored.FirstOrDefault(c => SameFields(c.ToCross(), x))
                ?? new CrossCandidate(x.First, x.Second, 0, double.NaN, double.NaN, double.NaN, double.NaN, true) { Third = x.Third })
            .ToArray();
        var distinct = analysis.Hashing.DistinctFeatures + added.Sum(c => CrossDistinctUpperEstimate(analysis, c));
        var bits = HashWidth.Choose(distinct, options.MaxCollidingShare, options.MemoryBudgetBytes);
        return new SchemaSuggestion
        {
            Schema = input with { Crosses = [.. input.Crosses, .. added.Select(c => c.ToCross())], HashBits = bits },
            AddedCrosses = added,
            TripleCandidates = triples,
            KeptCrosses = kept,
            DistinctFeatures = distinct,
            CollidingShare = HashWidth.CollidingShare(bits, distinct),
            CandidatesTested = tested,
            RequiredZ = required,
            Options = options,
            Analysis = analysis,
        };
    }

    /// <summary>
    /// The beam search: the best <see cref="SchemaSuggestionOptions.BeamWidth"/> pairs (by gain) that clear the bar, each
    /// extended by every other crossable field. The bar counts the triples too, so the beam is shrunk until every pair
    /// in it clears the bar raised for the pairs and the triples it leads to; then those triples are scored.
    /// </summary>
    private static CrossCandidate[] ScoreTriples(ClickLogAnalysis analysis, SchemaSuggestionOptions options, CancellationToken cancellationToken)
    {
        if (analysis.Scorer is not { } scorer || options.BeamWidth == 0)
        {
            return [];
        }

        var pairs = analysis.CrossCandidates;
        var beam = pairs.Where(c => c.NeGain > 0 && c.Z >= ZBar(options, pairs.Count)).Take(options.BeamWidth).ToList();
        var extensions = scorer.Extensions(analysis.Schema, beam);
        while (beam.RemoveAll(c => c.Z < ZBar(options, pairs.Count + extensions.Length)) > 0)
        {
            extensions = scorer.Extensions(analysis.Schema, beam);
        }

        return extensions.Length == 0 ? [] : scorer.Triples(analysis.Schema, extensions, cancellationToken);
    }

    private static bool SameFields(FieldCross a, FieldCross b) =>
        a.Fields.Count == b.Fields.Count && a.Fields.Order(StringComparer.Ordinal).SequenceEqual(b.Fields.Order(StringComparer.Ordinal));

    /// <summary>The z bar for <paramref name="candidates"/> tested: MinZ, or the one-sided Bonferroni quantile when higher.</summary>
    internal static double ZBar(SchemaSuggestionOptions options, int candidates) =>
        options.FalseCrossRate is { } rate && candidates > 0
            ? Math.Max(options.MinZ, Stats.NormalQuantile(1 - (rate / candidates)))
            : options.MinZ;

    /// <summary>
    /// Value pairs (or triples) of a cross over the whole log, from the training part of the sample: its cells scaled by the
    /// rows not sampled (cells grow slower than rows, so this errs towards more bits), at most the product of the cardinalities.
    /// </summary>
    internal static long CrossDistinctUpperEstimate(ClickLogAnalysis analysis, CrossCandidate cross)
    {
        var trainRows = Math.Max(1, analysis.SampleRows - analysis.HoldoutRows);
        var scaled = cross.Cells * Math.Max(1.0, (double)analysis.Rows / trainRows);
        var fields = cross.ToCross().Fields;
        var product = analysis.Fields.Where(f => fields.Contains(f.Name)).Aggregate(1.0, (p, f) => p * (f.Distinct + 1));
        return (long)Math.Ceiling(Math.Min(scaled, product));
    }

    private void WriteEvidence(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("by", "ctrfallback analyze: held-out NE gain of each pair on a uniform sample, and of each triple of the beam search over its three pairs (see the analysis report's method)");
        json.WriteNumber("rows", Analysis.Rows);
        json.WriteNumber("sampleRows", Analysis.SampleRows);
        json.WriteNumber("holdoutRows", Analysis.HoldoutRows);
        json.WriteNumber("minZ", Options.MinZ);
        if (Options.FalseCrossRate is { } rate)
        {
            json.WriteNumber("falseCrossRate", rate);
        }
        else
        {
            json.WriteNull("falseCrossRate");
        }

        json.WriteNumber("beamWidth", Options.BeamWidth);
        json.WriteNumber("triplesScored", TripleCandidates.Count);
        json.WriteNumber("candidatesTested", CandidatesTested);
        Number("requiredZ", RequiredZ, 2);
        json.WriteStartArray("crosses");
        foreach (var (cross, origin) in KeptCrosses.Select(c => (c, "input schema")).Concat(AddedCrosses.Select(c => (c, "added: z at or above requiredZ"))))
        {
            json.WriteStartObject();
            json.WriteStartArray("fields");
            foreach (var field in cross.ToCross().Fields)
            {
                json.WriteStringValue(field);
            }

            json.WriteEndArray();
            json.WriteString("origin", origin);
            if (cross.Third is not null)
            {
                json.WriteString("gainOver", $"{cross.First}x{cross.Second}, {cross.First}x{cross.Third}, {cross.Second}x{cross.Third}");
            }

            Number("neGain", cross.NeGain, 6);
            Number("z", cross.Z, 2);
            Number("aucGain", cross.AucGain, 5);
            json.WriteNumber("sampleCells", cross.Cells);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("hashBits");
        json.WriteNumber("chosen", Schema.HashBits);
        json.WriteNumber("inputSchema", Analysis.Schema.HashBits);
        json.WriteNumber("distinctFeatures", DistinctFeatures);
        Number("collidingShare", CollidingShare, 4);
        Number("maxCollidingShare", Options.MaxCollidingShare, 4);
        json.WriteNumber("memoryBudgetBytes", Options.MemoryBudgetBytes);
        json.WriteNumber("weightBytes", HashWidth.WeightBytes(Schema.HashBits));
        json.WriteEndObject();
        json.WriteEndObject();

        void Number(string name, double value, int digits)
        {
            if (double.IsFinite(value))
            {
                json.WriteNumber(name, Math.Round(value, digits) + 0.0);
            }
            else
            {
                json.WriteNull(name);
            }
        }
    }
}
