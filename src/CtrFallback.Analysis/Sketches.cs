using System.Numerics;
using System.Runtime.InteropServices;

namespace CtrFallback.Analysis;

/// <summary>HyperLogLog distinct-count estimate (Flajolet et al. 2007) with 2^14 one-byte registers: about 0.8% standard error in 16 KB.</summary>
internal sealed class HyperLogLog
{
    public const int Precision = 14;
    private const int RegisterCount = 1 << Precision;
    private readonly byte[] _registers = new byte[RegisterCount];

    public void Add(ulong hash)
    {
        var index = (int)(hash >> (64 - Precision));
        var rest = (hash << Precision) | (1UL << (Precision - 1));
        var rank = (byte)(BitOperations.LeadingZeroCount(rest) + 1);
        if (rank > _registers[index])
        {
            _registers[index] = rank;
        }
    }

    public long Estimate()
    {
        double sum = 0;
        var zeros = 0;
        foreach (var r in _registers)
        {
            sum += Math.ScaleB(1, -r);
            zeros += r == 0 ? 1 : 0;
        }

        const double m = RegisterCount;
        var alpha = 0.7213 / (1 + (1.079 / m));
        var estimate = alpha * m * m / sum;

        // Small range: linear counting is more accurate while registers are still empty.
        if (estimate <= 2.5 * m && zeros > 0)
        {
            estimate = m * Math.Log(m / zeros);
        }

        return (long)Math.Round(estimate);
    }
}

/// <summary>
/// Per-value row and click counts, exact up to a bound of distinct values; beyond it the rarest values are pruned
/// (lossy counting), so frequent values keep counts that are low by at most <see cref="UndercountBound"/>.
/// </summary>
internal sealed class ValueCounter(int bound, bool keepText)
{
    private readonly Dictionary<ulong, Entry> _values = [];

    /// <summary>Whether any value was pruned: then the counts are approximate and the distinct count is not exact.</summary>
    public bool Pruned => UndercountBound > 0;

    public long UndercountBound { get; private set; }

    public int Count => _values.Count;

    public void Add(ulong key, ReadOnlySpan<char> text, bool click)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_values, key, out var exists);
        if (!exists && keepText)
        {
            entry.Text = text.ToString();
        }

        entry.Rows++;
        entry.Clicks += click ? 1 : 0;
        if (_values.Count > bound)
        {
            Prune();
        }
    }

    public IEnumerable<(string Text, long Rows, long Clicks)> Top(int count) =>
        _values.Values.OrderByDescending(e => e.Rows).ThenBy(e => e.Text, StringComparer.Ordinal).Take(count).Select(e => (e.Text ?? string.Empty, e.Rows, e.Clicks));

    private void Prune()
    {
        // Drop the rarest values until half the bound is left; every surviving count may have lost up to the threshold.
        long threshold = 0;
        while (_values.Count > bound / 2)
        {
            threshold++;
            foreach (var (key, entry) in _values)
            {
                if (entry.Rows <= threshold)
                {
                    _values.Remove(key);
                }
            }
        }

        UndercountBound += threshold;
    }

    private struct Entry
    {
        public string? Text;
        public long Rows;
        public long Clicks;
    }
}

/// <summary>Small statistics shared by the analysis and the evaluation report.</summary>
internal static class Stats
{
    /// <summary>The 95% Wilson score interval of a binomial proportion: sensible for small counts and rates near 0 or 1.</summary>
    public static (double Low, double High) Wilson(long successes, long trials, double z = 1.959964)
    {
        if (trials == 0)
        {
            return (0, 1);
        }

        var n = (double)trials;
        var p = successes / n;
        var z2 = z * z;
        var center = (p + (z2 / (2 * n))) / (1 + (z2 / n));
        var half = z * Math.Sqrt((p * (1 - p) / n) + (z2 / (4 * n * n))) / (1 + (z2 / n));
        return (Math.Max(0, center - half), Math.Min(1, center + half));
    }

    public static ValueStatistics Value(string text, long rows, long clicks)
    {
        var (low, high) = Wilson(clicks, rows);
        return new ValueStatistics(text, rows, clicks, low, high);
    }

    /// <summary>A 64-bit hash of a field's value text (FNV-1a, then a SplitMix64 finalizer for HyperLogLog's high bits).</summary>
    public static ulong Hash64(int field, ReadOnlySpan<char> text)
    {
        var h = 0xCBF29CE484222325UL ^ ((ulong)field * 0x9E3779B97F4A7C15UL);
        foreach (var c in text)
        {
            h = (h ^ c) * 0x100000001B3UL;
        }

        return Mix64(h);
    }

    public static ulong Mix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    public static double Logit(double p) => Math.Log(p / (1 - p));

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>
    /// The standard normal quantile: z with Φ(z) = p, by Acklam's rational approximation (relative error below 1.2e-9),
    /// for the z bar a number of candidates tested calls for.
    /// </summary>
    public static double NormalQuantile(double p)
    {
        if (p is <= 0 or >= 1)
        {
            return p <= 0 ? double.NegativeInfinity : double.PositiveInfinity;
        }

        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double Low = 0.02425;
        if (p < Low || p > 1 - Low)
        {
            var q = Math.Sqrt(-2 * Math.Log(p < Low ? p : 1 - p));
            var z = (((((((((c[0] * q) + c[1]) * q) + c[2]) * q) + c[3]) * q) + c[4]) * q) + c[5];
            z /= (((((((d[0] * q) + d[1]) * q) + d[2]) * q) + d[3]) * q) + 1;
            return p < Low ? z : -z;
        }

        var r = p - 0.5;
        var t = r * r;
        var num = (((((((((a[0] * t) + a[1]) * t) + a[2]) * t) + a[3]) * t) + a[4]) * t) + a[5];
        var den = (((((((((b[0] * t) + b[1]) * t) + b[2]) * t) + b[3]) * t) + b[4]) * t) + 1;
        return num * r / den;
    }
}
