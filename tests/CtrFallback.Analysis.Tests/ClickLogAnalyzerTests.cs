using System.Globalization;
using System.Text;
using CtrFallback.Analysis;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>Analyzes one generated log (default generator, so the planted cross is C6 x C14 and C26 has no signal).</summary>
public sealed class AnalyzedLogFixture : IDisposable
{
    public const int Rows = 80_000;

    public AnalyzedLogFixture()
    {
        Directory = new TempDirectory();
        Options = new SyntheticClickLogOptions { Rows = Rows, Seed = 7 };
        var path = Directory.File("default.tsv");
        SyntheticClickLog.Write(path, Options);
        Analysis = ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Criteo, [path]).GetAwaiter().GetResult();
        Html = ClickLogAnalyzer.ToHtml(Analysis);
    }

    public TempDirectory Directory { get; }

    public SyntheticClickLogOptions Options { get; }

    public ClickLogAnalysis Analysis { get; }

    public string Html { get; }

    public void Dispose() => Directory.Dispose();
}

public sealed class ClickLogAnalyzerTests(AnalyzedLogFixture fixture) : IClassFixture<AnalyzedLogFixture>
{
    [Fact]
    public void Analyze_OnDefaultGeneratedLog_RanksThePlantedCrossFirstByAWideMargin()
    {
        var planted = SyntheticClickLog.PlantedCross(fixture.Options);
        var ranked = fixture.Analysis.CrossCandidates;

        ranked.Should().HaveCountGreaterThan(10);
        (ranked[0].First, ranked[0].Second).Should().Be((planted.First, planted.Second));
        ranked[0].NeGain.Should().BeGreaterThan(10 * Math.Max(ranked[1].NeGain, 1e-5), "the planted interaction is the only one in the truth");
        ranked[0].AucGain.Should().BeGreaterThan(0.01);
        ranked[0].Z.Should().BeGreaterThan(5, "the planted gain stands far above noise");
        ranked[1].Z.Should().BeLessThan(3, "no other pair interacts in the truth");
        ranked[0].InSchema.Should().BeTrue("the Criteo preset already crosses C6 x C14");
    }

    [Fact]
    public async Task Analyze_OnLearnableGeneratedLog_RanksItsPlantedCrossFirst()
    {
        using var directory = new TempDirectory();
        var options = new SyntheticClickLogOptions { Rows = 60_000, Seed = 3, Learnable = true };
        var path = directory.File("learnable.tsv");
        SyntheticClickLog.Write(path, options);

        var analysis = await ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Criteo, [path], new ClickLogAnalysisOptions { SampleRows = 60_000 });

        var planted = SyntheticClickLog.PlantedCross(options);
        (analysis.CrossCandidates[0].First, analysis.CrossCandidates[0].Second).Should().Be((planted.First, planted.Second));
        analysis.CrossCandidates[0].NeGain.Should().BeGreaterThan(5 * analysis.CrossCandidates[1].NeGain);
    }

    [Fact]
    public async Task Analyze_OnLabelsWithNoSignal_FindsNoCrossThatStandsAboveNoise()
    {
        var analysis = await NoiseLog.AnalyzeAsync(seed: 17);

        analysis.CrossCandidates.Should().HaveCount(15);
        analysis.CrossCandidates.Should().OnlyContain(c => c.Z < 3, "the labels are independent of every field");
        analysis.Fields.Should().OnlyContain(f => f.HeldOutAuc > 0.46 && f.HeldOutAuc < 0.54);
    }

    [Fact]
    public void Analyze_FieldWithNoSignal_HasHeldOutAucNearHalf_WhileInSampleAucFlattersItsRareValues()
    {
        // C26 carries no effect in the generator's truth, and has about 140k values, most seen once in 80k rows.
        var c26 = fixture.Analysis.Fields.Single(f => f.Name == "C26");

        c26.HeldOutAuc.Should().BeInRange(0.48, 0.52);
        c26.HeldOutNeGain.Should().BeLessThan(0.001);
        c26.InSampleAuc.Should().BeGreaterThan(c26.HeldOutAuc + 0.05, "in-sample CTRs of values seen once memorize their labels");
    }

    [Fact]
    public void Analyze_FieldWithSignal_HasHeldOutAucAboveHalf()
    {
        // C14 (27 values, sigma 0.25, plus the planted cross) carries real signal.
        var c14 = fixture.Analysis.Fields.Single(f => f.Name == "C14");

        c14.HeldOutAuc.Should().BeGreaterThan(0.53);
        c14.HeldOutNeGain.Should().BeGreaterThan(0.002);
        c14.Distinct.Should().Be(27);
        c14.DistinctIsExact.Should().BeTrue();
    }

    [Fact]
    public void Analyze_CountsEveryRowAndKeepsTheSampleWithinItsBound()
    {
        var a = fixture.Analysis;

        a.Rows.Should().Be(AnalyzedLogFixture.Rows);
        a.Fields.Should().HaveCount(39);
        a.SampleRows.Should().Be(AnalyzedLogFixture.Rows);
        a.HoldoutRows.Should().BeInRange((int)(0.28 * a.SampleRows), (int)(0.32 * a.SampleRows));
        a.Ctr.Should().BeInRange(0.18, 0.22);
        a.CrossSkipped.Should().Contain(s => s.StartsWith("C3:", StringComparison.Ordinal), "C3 has far more than 10,000 values");
    }

    [Fact]
    public void Analyze_HighCardinalityField_IsEstimatedBeyondTheExactBound()
    {
        var c3 = fixture.Analysis.Fields.Single(f => f.Name == "C3");

        c3.DistinctIsExact.Should().BeFalse();
        c3.TopValueUndercountBound.Should().BePositive();
        c3.TopValues.Should().HaveCount(10);
        c3.TopValues.Select(v => v.Rows).Should().BeInDescendingOrder();
    }

    [Fact]
    public void Analyze_NumericField_HasQuantileBucketsAndAHistogramOverTheSample()
    {
        var i5 = fixture.Analysis.Fields.Single(f => f.Name == "I5");

        i5.Kind.Should().Be(FieldKind.Numeric);
        i5.Numeric!.QuantileBuckets.Should().HaveCountGreaterThan(5);
        i5.Missing.Should().BePositive();
        i5.Numeric.QuantileBuckets.Sum(b => b.Rows).Should().Be(AnalyzedLogFixture.Rows, "the whole log is the sample here, empty rows in their own bucket");
        i5.Numeric.QuantileBuckets[^1].Should().BeEquivalentTo(new { Value = "(empty)", Rows = i5.Missing });
        i5.Numeric.Histogram.Sum(b => b.Rows).Should().Be(AnalyzedLogFixture.Rows - i5.Missing);
        i5.Numeric.Min.Should().BeLessThanOrEqualTo(i5.Numeric.Mean);
        i5.Numeric.Mean.Should().BeLessThanOrEqualTo(i5.Numeric.Max);
    }

    [Fact]
    public void ToHtml_IsSelfContained_AndShowsEverySection()
    {
        var html = fixture.Html;

        html.Should().StartWith("<!DOCTYPE html>");
        html.Should().NotContainAny("http://", "https://", "<script", "<link", "src=");
        html.Should().Contain("<svg");
        html.Should().ContainAll("Cross candidates", "Hashing collisions", "Fields at a glance", "How these numbers were measured", "C6 × C14", "HyperLogLog", "reservoir sample", "in-sample");
    }

    [Fact]
    public async Task Analyze_FieldThatIs30PercentEmpty_Shows30PercentMissing()
    {
        using var directory = new TempDirectory();
        var schema = directory.Write("schema.json", """
            { "separator": ",", "hasHeader": true, "label": "click", "categorical": ["site", "user"], "numeric": ["bid"] }
            """);
        var log = new StringBuilder("click,site,user,bid\n");
        for (var i = 0; i < 10_000; i++)
        {
            // Every tenth row cycle: rows 0-2 have no site; bid is empty on one row in five.
            var siteValue = i % 10 < 3 ? string.Empty : "s" + (i % 7).ToString(CultureInfo.InvariantCulture);
            var bid = i % 5 == 0 ? string.Empty : (i % 100).ToString(CultureInfo.InvariantCulture);
            log.Append(CultureInfo.InvariantCulture, $"{(i % 4 == 0 ? 1 : 0)},{siteValue},u{i},{bid}\n");
        }

        var path = directory.Write("log.csv", log.ToString());

        var analysis = await ClickLogAnalyzer.AnalyzeAsync(
            ClickLogSchema.Load(schema), [path], new ClickLogAnalysisOptions { ExactCardinalityBound = 1_000, SampleRows = 5_000, MaxCrossFieldCardinality = 1_000 });

        var site = analysis.Fields.Single(f => f.Name == "site");
        site.MissingShare.Should().Be(0.3);
        site.Missing.Should().Be(3_000);
        site.Distinct.Should().Be(7);
        site.DistinctIsExact.Should().BeTrue();
        site.TopValues.Should().HaveCount(7);
        site.TopValues.Sum(v => v.Rows).Should().Be(7_000);
        analysis.Fields.Single(f => f.Name == "bid").MissingShare.Should().Be(0.2);
        analysis.SampleRows.Should().Be(5_000, "the reservoir holds at most SampleRows rows");

        // 10,000 distinct users, far past the exact bound of 1,000: HyperLogLog's estimate is within a few percent.
        var user = analysis.Fields.Single(f => f.Name == "user");
        user.DistinctIsExact.Should().BeFalse();
        user.Distinct.Should().BeCloseTo(10_000, 300);
        analysis.CrossSkipped.Should().Contain(s => s.StartsWith("user:", StringComparison.Ordinal));
    }

    [Fact]
    public void Collisions_WithAsManyFeaturesAsWeights_CollideAboutOneMinusOneOverE()
    {
        var estimate = ClickLogProfiler.Collisions(20, 1 << 20);

        estimate.CollidingShare.Should().BeApproximately(1 - Math.Exp(-1), 1e-4);
        estimate.ByHashBits.Should().Contain(kv => kv.Key == 24 && kv.Value < 0.07);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(30_000)]
    [InlineData(1_000_000)]
    public void HyperLogLog_EstimatesDistinctCountsWithinThreePercent(int distinct)
    {
        var sketch = new HyperLogLog();
        for (var i = 0; i < distinct; i++)
        {
            var hash = Stats.Hash64(3, i.ToString(CultureInfo.InvariantCulture));
            sketch.Add(hash);
            sketch.Add(hash);
        }

        sketch.Estimate().Should().BeCloseTo(distinct, (ulong)(0.03 * distinct) + 2);
    }

    [Fact]
    public void Wilson_ForNoClicksInTenRows_GivesTheTextbookInterval()
    {
        var (low, high) = Stats.Wilson(0, 10);

        low.Should().Be(0);
        high.Should().BeApproximately(0.2775, 1e-4);
    }
}
