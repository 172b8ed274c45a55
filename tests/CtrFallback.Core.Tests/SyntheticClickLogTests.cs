using System.Globalization;
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
}
