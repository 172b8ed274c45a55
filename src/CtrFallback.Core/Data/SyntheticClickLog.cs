using System.Globalization;
using System.Text;

namespace CtrFallback.Data;

/// <summary>Settings of the synthetic Criteo-format click-log generator.</summary>
public sealed record SyntheticClickLogOptions
{
    /// <summary>Rows to generate.</summary>
    public long Rows { get; init; } = 100_000;

    /// <summary>Seed: the same seed and settings give the same bytes.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Target background click rate.</summary>
    /// <value>The default is 0.2.</value>
    public double Ctr { get; init; } = 0.2;

    /// <summary>Scales every effect of the hidden truth (higher: an easier, higher-AUC problem).</summary>
    /// <value>The default is 1.</value>
    public double Signal { get; init; } = 1;

    /// <summary>
    /// A truth that a model can learn from modest row counts, for tests that compare the learned AUC with the truth's own:
    /// no hidden latent factor, and signal only in fields of at most 1,000 values, the counts and the planted cross.
    /// </summary>
    /// <value>The default is <see langword="false"/>: rare ids and a latent activity factor carry signal, as in real logs.</value>
    public bool Learnable { get; init; }

    /// <summary>
    /// Pairs (or triples) of categorical fields (C1..C26) whose interaction the hidden truth carries instead of the preset's
    /// planted cross, so that a test can plant crosses the Criteo preset lacks and check that a search finds them. A
    /// triple gets an effect per value triple: its pairs show only the part of it that survives averaging over the third field.
    /// </summary>
    /// <value>The default is <see langword="null"/>: the one planted cross of <see cref="SyntheticClickLog.PlantedCross"/>.</value>
    public IReadOnlyList<FieldCross>? Crosses { get; init; }
}

/// <summary>One generated impression: its log line and the hidden truth's click probability.</summary>
/// <param name="Line">The tab-separated Criteo-format line (without newline).</param>
/// <param name="Label">Whether it was clicked.</param>
/// <param name="TruthProbability">The click probability under the hidden logistic truth.</param>
public readonly record struct SyntheticImpression(string Line, bool Label, double TruthProbability);

/// <summary>
/// Seeded, deterministic Criteo-format click logs with the real data's quirks: empty fields, negative and heavy-tailed
/// integers, 8-hex-digit categoricals with Zipf-like cardinalities from 10 to 10^6, a background CTR near 20%,
/// and a hidden logistic truth with per-value effects and a planted pairwise cross.
/// </summary>
public static class SyntheticClickLog
{
    /// <summary>The cross planted in the hidden truth: C6 x C14, or C17 x C20 (fewer value pairs) when <see cref="SyntheticClickLogOptions.Learnable"/>.</summary>
    /// <param name="options">The generator's settings.</param>
    public static FieldCross PlantedCross(SyntheticClickLogOptions options) => PlantedCrosses(options)[0];

    /// <summary>The crosses planted in the hidden truth: <see cref="SyntheticClickLogOptions.Crosses"/> when set, otherwise the one of <see cref="PlantedCross"/>.</summary>
    /// <param name="options">The generator's settings.</param>
    public static IReadOnlyList<FieldCross> PlantedCrosses(SyntheticClickLogOptions options) =>
        options?.Crosses is { Count: > 0 } crosses ? crosses
        : options?.Learnable == true ? [new FieldCross("C17", "C20")] : [new FieldCross("C6", "C14")];

    private static readonly int[] Cardinality =
    [
        1460, 583, 1_000_000, 500_000, 305, 24, 12_517, 633, 3, 93_145, 5_683, 800_000, 3_194,
        27, 14_992, 600_000, 10, 5_652, 2_173, 4, 700_000, 18, 15, 286_181, 105, 142_572,
    ];

    private static readonly double[] CategoricalSigma =
    [
        0.45, 0.35, 0.50, 0.40, 0.25, 0.30, 0.35, 0.20, 0.15, 0.30, 0.35, 0.45, 0.30,
        0.25, 0.35, 0.40, 0.20, 0.25, 0.20, 0.15, 0.40, 0.10, 0.25, 0.35, 0.10, 0.00,
    ];

    private static readonly double[] CategoricalMissing =
    [
        0, 0, 0.034, 0.034, 0, 0.121, 0, 0, 0, 0, 0, 0.034, 0,
        0, 0, 0.034, 0, 0, 0.44, 0.44, 0.034, 0.762, 0, 0.034, 0.44, 0.44,
    ];

    // Integer fields: log-median, log-sigma, missing rate, truth weight.
    private static readonly (double Median, double Sigma, double Missing, double Weight)[] Numeric =
    [
        (1, 1.5, 0.454, 0.25), (3, 2.0, 0, -0.10), (7, 1.6, 0.215, 0.05), (6, 1.0, 0.217, -0.10),
        (2800, 2.2, 0.026, -0.30), (30, 1.8, 0.224, 0.15), (3, 1.7, 0.043, 0.30), (8, 1.0, 0.0005, 0.05),
        (40, 1.4, 0.043, 0), (0.6, 0.8, 0.454, 0.20), (1, 1.2, 0.043, 0.25), (0.5, 1.5, 0.766, 0.05), (4, 1.1, 0.217, -0.05),
    ];

    /// <summary>Generates impressions lazily; the sequence is the same for the same options.</summary>
    /// <param name="options">The settings.</param>
    /// <exception cref="ArgumentException"><see cref="SyntheticClickLogOptions.Crosses"/> names a field the log does not have.</exception>
    public static IEnumerable<SyntheticImpression> Generate(SyntheticClickLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Checked here, not on the first row read: the iterator below runs lazily.
        return Generate(options, Planted(options));
    }

    private static IEnumerable<SyntheticImpression> Generate(SyntheticClickLogOptions options, (int A, int B, int C, ulong Tag)[] planted)
    {
        var bias = SolveBias(options, planted);
        var random = new Random(options.Seed);
        var fields = new string[40];
        var line = new StringBuilder(400);
        for (long i = 0; i < options.Rows; i++)
        {
            var logit = bias + Row(random, options, planted, fields, out _);
            var p = 1 / (1 + Math.Exp(-logit));
            var label = random.NextDouble() < p;
            fields[0] = label ? "1" : "0";
            line.Clear();
            line.AppendJoin('\t', fields);
            yield return new SyntheticImpression(line.ToString(), label, p);
        }
    }

    /// <summary>Writes a generated log to a file, one line per impression.</summary>
    /// <param name="path">The output file.</param>
    /// <param name="options">The settings.</param>
    /// <returns>Rows written and clicks among them.</returns>
    public static (long Rows, long Clicks) Write(string path, SyntheticClickLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        var impressions = Generate(options);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 16);
        long rows = 0, clicks = 0;
        foreach (var impression in impressions)
        {
            writer.Write(impression.Line);
            writer.Write('\n');
            rows++;
            clicks += impression.Label ? 1 : 0;
        }

        return (rows, clicks);
    }

    /// <summary>
    /// The planted crosses as (field, field, field or -1 for a pair, key tag); the preset's keeps its original tag so
    /// default logs stay byte for byte the same, and pairs keep theirs from before triples.
    /// </summary>
    private static (int A, int B, int C, ulong Tag)[] Planted(SyntheticClickLogOptions options)
    {
        if (options.Crosses is not { Count: > 0 } crosses)
        {
            return [options.Learnable ? (16, 19, -1, 0xC6C14UL) : (5, 13, -1, 0xC6C14UL)];
        }

        return crosses.Select(x =>
        {
            var (a, b, c) = (Index(x.First), Index(x.Second), x.Third is null ? -1 : Index(x.Third));
            return a == b || a == c || b == c
                ? throw new ArgumentException($"SyntheticClickLogOptions.Crosses: '{x}' crosses a field with itself.")
                : c < 0 ? (a, b, c, 0xC0000UL | ((ulong)a << 8) | (uint)b)
                : (a, b, c, 0xD000000UL | ((ulong)a << 16) | ((ulong)b << 8) | (uint)c);
        }).ToArray();

        static int Index(string name) =>
            name is ['C', .. var digits] && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 26
                ? n - 1
                : throw new ArgumentException($"SyntheticClickLogOptions.Crosses: '{name}' is not a categorical field of the generated log (C1..C26).");
    }

    private static double Row(Random random, SyntheticClickLogOptions options, (int A, int B, int C, ulong Tag)[] planted, string[] fields, out double activity)
    {
        activity = Gaussian(random);
        var logit = options.Learnable ? 0 : 0.35 * activity * options.Signal;
        for (var f = 0; f < Numeric.Length; f++)
        {
            var (median, sigma, missing, weight) = Numeric[f];
            if (random.NextDouble() < missing)
            {
                fields[1 + f] = string.Empty;
                logit += f == 0 ? -0.25 * options.Signal : 0;
                continue;
            }

            var value = Math.Floor(median * Math.Exp((sigma * Gaussian(random)) + (0.3 * activity)));
            if (f == 1 && random.NextDouble() < 0.08)
            {
                value = -1 - random.Next(3);
            }

            fields[1 + f] = value.ToString(CultureInfo.InvariantCulture);
            var x = value >= 0 ? Math.Log(1 + value) : -Math.Log(1 - value);
            logit += weight * options.Signal * (x - Math.Log(1 + median)) / Math.Max(sigma, 0.5);
        }

        Span<int> ranks = stackalloc int[Cardinality.Length];
        for (var c = 0; c < Cardinality.Length; c++)
        {
            var card = Cardinality[c];

            // Zipf-like (s = 1): rank r has probability about 1 / (r + 1).
            var rank = Math.Min(card - 1, (int)Math.Exp(random.NextDouble() * Math.Log(card + 1)) - 1);
            ranks[c] = rank;
            if (random.NextDouble() < CategoricalMissing[c])
            {
                fields[14 + c] = string.Empty;
                ranks[c] = -1;
                continue;
            }

            fields[14 + c] = Hex8(Mix(((ulong)c << 32) | (uint)rank));
            if (!options.Learnable || card <= 100)
            {
                logit += CategoricalSigma[c] * options.Signal * HashedGaussian(((ulong)(c + 100) << 32) | (uint)rank);
            }
        }

        // The planted crosses: an effect of the pair (or triple) that no field shows alone. Ranks are below 2^20.
        foreach (var (a, b, c, tag) in planted)
        {
            if (ranks[a] < 0 || ranks[b] < 0)
            {
                continue;
            }

            if (c < 0)
            {
                logit += 0.6 * options.Signal * HashedGaussian((tag << 40) | ((ulong)ranks[a] << 20) | (uint)ranks[b]);
            }
            else if (ranks[c] >= 0)
            {
                logit += 0.6 * options.Signal * HashedGaussian(tag ^ Mix(((ulong)ranks[a] << 40) | ((ulong)ranks[b] << 20) | (uint)ranks[c]));
            }
        }

        return logit;
    }

    private static double SolveBias(SyntheticClickLogOptions options, (int A, int B, int C, ulong Tag)[] planted)
    {
        var random = new Random(options.Seed ^ 0x5EED);
        var fields = new string[40];
        var logits = new double[20_000];
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = Row(random, options, planted, fields, out _);
        }

        double lo = -20, hi = 20;
        for (var iteration = 0; iteration < 60; iteration++)
        {
            var mid = (lo + hi) / 2;
            var mean = logits.Average(l => 1 / (1 + Math.Exp(-(l + mid))));
            (lo, hi) = mean < options.Ctr ? (mid, hi) : (lo, mid);
        }

        return (lo + hi) / 2;
    }

    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static double HashedGaussian(ulong key)
    {
        var a = Mix(key);
        var b = Mix(a ^ 0x9E3779B97F4A7C15UL);
        var u1 = ((a >> 11) + 1.0) / (1UL << 53);
        var u2 = (b >> 11) / (double)(1UL << 53);
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private static string Hex8(ulong value) => ((uint)value).ToString("x8", CultureInfo.InvariantCulture);
}
