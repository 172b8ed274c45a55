using System.Globalization;
using System.Security.Cryptography;
using CtrFallback.Data;

namespace CtrFallback.Tests;

public sealed class SyntheticClickLogTests
{
    [Fact]
    public void Generate_SameSeed_GivesSameLines_AndAnotherSeedDiffers()
    {
        var options = new SyntheticClickLogOptions { Rows = 500, Seed = 7 };

        var first = SyntheticClickLog.Generate(options).Select(i => i.Line).ToArray();
        var again = SyntheticClickLog.Generate(options).Select(i => i.Line).ToArray();
        var other = SyntheticClickLog.Generate(options with { Seed = 8 }).Select(i => i.Line).ToArray();

        again.Should().Equal(first);
        other.Should().NotEqual(first);
    }

    [Fact]
    public void Generate_HasTheQuirksOfRealCriteoLogs()
    {
        var rows = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 20_000, Seed = 1 })
            .Select(i => i.Line.Split('\t')).ToArray();

        rows.Should().OnlyContain(f => f.Length == 40);
        rows.Average(f => f[0] == "1" ? 1.0 : 0.0).Should().BeInRange(0.17, 0.23, "the background CTR is near 20%");
        rows.Count(f => f[1 + 1].StartsWith('-')).Should().BePositive("I2 has negative counts");
        rows.Average(f => f[1] == string.Empty ? 1.0 : 0.0).Should().BeInRange(0.40, 0.50, "I1 is missing about 45% of the time");
        rows.Average(f => f[14 + 21] == string.Empty ? 1.0 : 0.0).Should().BeInRange(0.70, 0.82, "C22 is mostly empty");
        rows.Select(f => f[14 + 2]).Where(v => v.Length > 0).All(v => v.Length == 8 && uint.TryParse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var _)).Should().BeTrue("categoricals are 8 hex digits");
        rows.Select(f => f[14 + 8]).Distinct().Count().Should().BeLessThanOrEqualTo(3, "C9 has 3 values");
        rows.Select(f => f[14 + 2]).Distinct().Count().Should().BeGreaterThan(5_000, "C3 has a long tail");
        rows.Max(f => f[5].Length == 0 ? 0 : double.Parse(f[5], CultureInfo.InvariantCulture)).Should().BeGreaterThan(100_000, "I5 is heavy-tailed");
    }

    [Theory]
    [InlineData(false, 7, "35acf522e0ab75ae529f3497000bf39c245accc6c7409224ff4ac14f53f9de2b")]
    [InlineData(true, 3, "047e8b4f398f384962b7ca70965379ba63bbb7c8641c7c146a70c8689e452f52")]
    public void Write_WithoutCrosses_WritesTheSameBytesAsBeforeTheKnobExisted(bool learnable, int seed, string sha256)
    {
        // The hashes are of logs written by the generator before SyntheticClickLogOptions.Crosses existed.
        using var directory = new TempDirectory();
        var path = directory.File("log.tsv");

        SyntheticClickLog.Write(path, new SyntheticClickLogOptions { Rows = 2_000, Seed = seed, Learnable = learnable });

        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))).Should().Be(sha256);
    }

    [Fact]
    public void Generate_WithPlantedCrosses_ChangesTheTruthOnlyThroughThosePairs()
    {
        var preset = new SyntheticClickLogOptions { Rows = 3_000, Seed = 5 };
        var crossed = preset with { Crosses = [new FieldCross("C2", "C17"), new FieldCross("C5", "C22")] };

        var before = SyntheticClickLog.Generate(preset).ToArray();
        var after = SyntheticClickLog.Generate(crossed).ToArray();

        SyntheticClickLog.PlantedCrosses(crossed).Should().Equal(crossed.Crosses);
        SyntheticClickLog.PlantedCross(preset).Should().Be(new FieldCross("C6", "C14"));

        // Same random draws, so the same field values; only the truth (and with it some labels) moves.
        after.Select(i => i.Line[2..]).Should().Equal(before.Select(i => i.Line[2..]));
        var moved = before.Zip(after).Count(p => Math.Abs(p.First.TruthProbability - p.Second.TruthProbability) > 1e-3);
        moved.Should().BeGreaterThan(2_700, "C2 and C17 are never empty, so every row's truth carries the new cross");
        SyntheticClickLog.Generate(crossed).Select(i => i.Line).Should().Equal(after.Select(i => i.Line), "the knob is as deterministic as the rest");
    }

    [Fact]
    public void Generate_WithAPlantedTriple_ChangesTheTruthOnlyWhereItsThreeFieldsArePresent()
    {
        var preset = new SyntheticClickLogOptions { Rows = 3_000, Seed = 5, Crosses = [new FieldCross("C2", "C17")] };
        var tripled = preset with { Crosses = [new FieldCross("C2", "C17"), new FieldCross("C9", "C14", "C19")] };

        var before = SyntheticClickLog.Generate(preset).ToArray();
        var after = SyntheticClickLog.Generate(tripled).ToArray();

        after.Select(i => i.Line[2..]).Should().Equal(before.Select(i => i.Line[2..]), "the same random draws");

        // The bias is re-solved for the target CTR, so every logit moves by one shift; the triple's effect comes on top.
        var rows = before.Zip(after).Select(p => (
            Present: p.First.Line.Split('\t')[14 + 18].Length > 0,
            Shift: Logit(p.Second.TruthProbability) - Logit(p.First.TruthProbability))).ToArray();
        var bias = rows.First(r => !r.Present).Shift;
        rows.Where(r => !r.Present).Should().OnlyContain(r => Math.Abs(r.Shift - bias) < 1e-9, "C19 is empty there: no triple, no effect");
        rows.Count(r => r.Present && Math.Abs(r.Shift - bias) > 1e-6).Should().BeGreaterThan(rows.Count(r => r.Present) * 9 / 10, "C9 and C14 are never empty");
        SyntheticClickLog.Generate(tripled).Select(i => i.TruthProbability).Should().Equal(after.Select(i => i.TruthProbability), "deterministic");
    }

    private static double Logit(double p) => Math.Log(p / (1 - p));

    [Theory]
    [InlineData("C2", "C17", "C2")]
    [InlineData("C2", "C17", "C27")]
    public void Generate_WithABadTriple_ThrowsNamingTheOption(string first, string second, string third)
    {
        var options = new SyntheticClickLogOptions { Crosses = [new FieldCross(first, second, third)] };

        var act = () => SyntheticClickLog.Generate(options);

        act.Should().Throw<ArgumentException>().WithMessage($"*SyntheticClickLogOptions.Crosses*{third}*");
    }

    [Fact]
    public void Generate_WithACrossOfAnUnknownField_ThrowsNamingTheOption()
    {
        var options = new SyntheticClickLogOptions { Crosses = [new FieldCross("C2", "C27")] };

        var act = () => SyntheticClickLog.Generate(options);

        act.Should().Throw<ArgumentException>().WithMessage("*SyntheticClickLogOptions.Crosses*'C27'*");
    }
}
