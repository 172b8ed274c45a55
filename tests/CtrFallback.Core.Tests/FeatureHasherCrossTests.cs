using System.Numerics;
using CtrFallback.Data;
using CtrFallback.Features;

namespace CtrFallback.Tests;

/// <summary>Crosses of two and three fields: pairs hash exactly as before triples existed, so old artifacts serve the same scores.</summary>
public sealed class FeatureHasherCrossTests
{
    private static readonly FeatureSchema Criteo = ClickLogSchema.Criteo.ToFeatureSchema();

    [Fact]
    public void Featurize_PairCrosses_AreTheFormulaArtifactsWereTrainedWith()
    {
        var hasher = new FeatureHasher(Criteo);
        var (hashes, indices) = Featurize(hasher, seed: 3);

        for (var x = 0; x < Criteo.Crosses.Count; x++)
        {
            var cross = Criteo.Crosses[x];
            var (a, b) = (Index(cross.First), Index(cross.Second));

            // The pair formula of hasher versions 1 and 2, written out: fmix32(seed ^ h1 ^ rotl(h2 * golden, 16)).
            var h = FeatureHasher.HashString(0, $"{cross.First}^{cross.Second}") ^ hashes[a] ^ BitOperations.RotateLeft(hashes[b] * 0x9E3779B1u, 16);
            indices[26 + x].Should().Be((int)(Fmix(h) & (uint)(hasher.HashSpace - 1)), $"{cross} hashes as it always did");
        }
    }

    [Fact]
    public void Featurize_WithATriple_AddsOneIndexAfterThePairs_AndLeavesEveryOtherIndexAlone()
    {
        var pairs = new FeatureHasher(Criteo);
        var triple = new FeatureHasher(Criteo with { Crosses = [.. Criteo.Crosses, new FieldCross("C9", "C14", "C23")] });
        var (_, before) = Featurize(pairs, seed: 5);
        var (_, after) = Featurize(triple, seed: 5);

        triple.HashedCount.Should().Be(pairs.HashedCount + 1);
        after[..29].Should().Equal(before[..29], "categoricals and the three pairs");
        after[30..].Should().Equal(before[29..], "numeric tokens follow the crosses");
        after[29].Should().BeInRange(0, triple.HashSpace - 1);
    }

    [Fact]
    public void Featurize_ATriple_IsDeterministic_AndHashesApartFromItsPairAndItsPermutations()
    {
        var crosses = new FieldCross[] { new("C9", "C14", "C23"), new("C14", "C9", "C23"), new("C9", "C14") };
        var hashers = crosses.Select(c => new FeatureHasher(Criteo with { Crosses = [c], HashBits = 28 })).ToArray();
        var again = new FeatureHasher(Criteo with { Crosses = [crosses[0]], HashBits = 28 });

        for (var seed = 0; seed < 20; seed++)
        {
            var index = hashers.Select(h => Featurize(h, seed).Indices[26]).ToArray();

            Featurize(again, seed).Indices[26].Should().Be(index[0], "the same triple and values give the same index");
            index.Should().OnlyHaveUniqueItems("a triple is its own feature, not its pair's or a permutation's");
        }
    }

    [Fact]
    public void Featurize_ATriple_ChangesWithEachOfItsValues()
    {
        var hasher = new FeatureHasher(Criteo with { Crosses = [new FieldCross("C9", "C14", "C23")], HashBits = 28 });
        var (hashes, indices) = Featurize(hasher, seed: 1);

        foreach (var field in new[] { "C9", "C14", "C23" })
        {
            var changed = hashes.ToArray();
            changed[Index(field)] = hasher.HashCategorical(Index(field), "another value");
            var other = new int[hasher.HashedCount];
            hasher.Featurize(new double[13], changed, null, other, new float[13]);

            other[26].Should().NotBe(indices[26], $"{field} is part of the triple");
        }
    }

    private static (uint[] Hashes, int[] Indices) Featurize(FeatureHasher hasher, int seed)
    {
        var hashes = Enumerable.Range(0, 26).Select(i => hasher.HashCategorical(i, $"v{i}-{seed}")).ToArray();
        var indices = new int[hasher.HashedCount];
        hasher.Featurize(Enumerable.Range(0, 13).Select(i => (double)i).ToArray(), hashes, null, indices, new float[13]);
        return (hashes, indices);
    }

    private static int Index(string field) => Criteo.CategoricalFields.ToList().IndexOf(field);

    private static uint Fmix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        return h ^ (h >> 16);
    }
}
