using System.Numerics;
using CtrFallback.Features;

namespace CtrFallback.Tests;

/// <summary>The serving speed-ups in <see cref="FeatureHasher"/> must not change a single feature: training results stay identical.</summary>
public sealed class FeatureHasherSpeedupTests
{
    /// <summary>The hash as first written (two chars per round, read one by one).</summary>
    private static uint ReferenceHash(uint seed, string text)
    {
        var h = seed ^ ((uint)text.Length * 0x9E3779B1u);
        var i = 0;
        for (; i + 1 < text.Length; i += 2)
        {
            h = Round(h, text[i] | ((uint)text[i + 1] << 16));
        }

        if (i < text.Length)
        {
            h = Round(h, text[i]);
        }

        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h;

        static uint Round(uint h, uint k)
        {
            k *= 0xCC9E2D51u;
            k = BitOperations.RotateLeft(k, 15);
            k *= 0x1B873593u;
            h ^= k;
            h = BitOperations.RotateLeft(h, 13);
            return (h * 5) + 0xE6546B64u;
        }
    }

    [Fact]
    public void HashString_EqualsTheReferenceLoop_ForEveryLengthAndNonAsciiText()
    {
        var random = new Random(5);
        for (var length = 0; length < 40; length++)
        {
            for (var trial = 0; trial < 50; trial++)
            {
                var text = new string(Enumerable.Range(0, length).Select(_ => (char)random.Next(trial % 2 == 0 ? 128 : 0xD7FF)).ToArray());
                var seed = (uint)random.Next();

                FeatureHasher.HashString(seed, text).Should().Be(ReferenceHash(seed, text), $"length {length}");
                FeatureHasher.HashString(seed, ("x" + text).AsSpan(1)).Should().Be(ReferenceHash(seed, text), "an odd start address reads the same pairs");
            }
        }
    }

    [Fact]
    public void SignedLog_EqualsMathLog_InAndAroundTheTable()
    {
        foreach (var x in Enumerable.Range(-10, 5_000).Select(i => (double)i).Concat([0.5, 4095.5, 4096, 1e9, -0.0, double.NaN]))
        {
            var expected = x >= 0 ? Math.Log(1 + x) : -Math.Log(1 - x);
            FeatureHasher.SignedLog(x).Should().Be(expected, $"x = {x}");
        }
    }
}
