using System.Text.Json;
using CtrFallback.Analysis;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>A generated log whose truth carries two crosses the Criteo preset lacks (C2 x C17, C5 x C23), analyzed once.</summary>
public sealed class PlantedCrossesFixture : IDisposable
{
    public PlantedCrossesFixture()
    {
        Directory = new TempDirectory();
        Options = new SyntheticClickLogOptions { Rows = 100_000, Seed = 7, Crosses = [new FieldCross("C2", "C17"), new FieldCross("C5", "C23")] };
        LogPath = Directory.File("planted.tsv");
        SyntheticClickLog.Write(LogPath, Options);
        Analysis = ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Criteo, [LogPath]).GetAwaiter().GetResult();
    }

    public TempDirectory Directory { get; }

    public SyntheticClickLogOptions Options { get; }

    public string LogPath { get; }

    public ClickLogAnalysis Analysis { get; }

    public void Dispose() => Directory.Dispose();
}

public sealed class SchemaSuggestionTests(PlantedCrossesFixture fixture) : IClassFixture<PlantedCrossesFixture>
{
    [Fact]
    public void SuggestSchema_OnALogWithTwoPlantedCrossesThePresetLacks_AddsExactlyThoseTwo()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);

        suggestion.AddedCrosses.Select(c => $"{c.First}x{c.Second}").Should().BeEquivalentTo(["C2xC17", "C5xC23"], "no other pair interacts in the truth");
        suggestion.AddedCrosses.Should().OnlyContain(c => c.Z >= 3 && c.NeGain > 0);
        suggestion.Schema.Crosses.Should().Equal([.. ClickLogSchema.Criteo.Crosses, .. suggestion.AddedCrosses.Select(c => new FieldCross(c.First, c.Second))]);
        suggestion.Schema.Categorical.Should().Equal(ClickLogSchema.Criteo.Categorical);
        suggestion.KeptCrosses.Should().HaveCount(3).And.OnlyContain(c => c.InSchema);
    }

    [Fact]
    public void SuggestSchema_RaisesTheZBar_ForTheNumberOfCandidatesScored()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);
        var single = ClickLogAnalyzer.SuggestSchema(fixture.Analysis, new SchemaSuggestionOptions { FalseCrossRate = null });

        suggestion.CandidatesTested.Should().Be(fixture.Analysis.CrossCandidates.Count + suggestion.TripleCandidates.Count).And.BeGreaterThan(50);

        // Bonferroni, one-sided: 1 - Φ(bar) = 0.05 / candidates.
        suggestion.RequiredZ.Should().BeApproximately(Stats.NormalQuantile(1 - (0.05 / suggestion.CandidatesTested)), 1e-9).And.BeGreaterThan(3.2);
        single.RequiredZ.Should().Be(3);
        suggestion.AddedCrosses.Should().OnlyContain(c => c.Z >= suggestion.RequiredZ);
    }

    [Fact]
    public void CrossScores_OnThePlantedLog_GiveEveryPairTheTruthLacksAZBelowThree()
    {
        // The baseline holds every field (and recalibrates the pair's own values), so a pair is not credited with what
        // other fields explain: without a planted interaction, no pair should look significant even before Bonferroni.
        var planted = new[] { ("C2", "C17"), ("C5", "C23") };
        var others = fixture.Analysis.CrossCandidates.Where(c => !planted.Contains((c.First, c.Second))).ToArray();

        others.Should().NotBeEmpty();
        others.Max(c => c.Z).Should().BeLessThan(3);
        fixture.Analysis.CrossCandidates.Where(c => planted.Contains((c.First, c.Second))).Should().OnlyContain(c => c.Z > 5);
    }

    [Fact]
    public void SuggestSchema_OnALogWithPlantedPairsOnly_ExtendsThemToTriples_ButAddsNone()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);

        // Both planted pairs lead the beam; every triple of them is scored, and none adds anything over its pairs.
        suggestion.TripleCandidates.Select(c => (c.First, c.Second)).Distinct().Should().BeEquivalentTo([("C2", "C17"), ("C5", "C23")]);
        suggestion.TripleCandidates.Should().HaveCountGreaterThan(20);
        suggestion.TripleCandidates.Max(c => c.Z).Should().BeLessThan(3);
        suggestion.AddedCrosses.Should().OnlyContain(c => c.Third == null);
    }

    [Theory]
    [InlineData(0.975, 1.959963985)]
    [InlineData(0.5, 0)]
    [InlineData(0.001, -3.090232306)]
    [InlineData(1 - (0.05 / 120), 3.341478956)]
    public void NormalQuantile_MatchesTheTable(double p, double z) => Stats.NormalQuantile(p).Should().BeApproximately(z, 1e-5);

    [Fact]
    public void SuggestSchema_WithAHigherSignificanceBar_AddsOnlyTheCrossesAboveIt()
    {
        var all = ClickLogAnalyzer.SuggestSchema(fixture.Analysis).AddedCrosses;
        var bar = all.Min(c => c.Z) + 0.01;

        var strict = ClickLogAnalyzer.SuggestSchema(fixture.Analysis, new SchemaSuggestionOptions { MinZ = bar });

        strict.AddedCrosses.Should().Equal(all.Where(c => c.Z >= bar));
        strict.AddedCrosses.Should().HaveCount(all.Count - 1);
    }

    [Fact]
    public void SuggestSchema_File_ReadsBackAsTheSuggestedSchema_AndRecordsGainAndZPerCross()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);
        var json = suggestion.ToJson();

        var read = ClickLogSchema.Parse(json, "suggested.json");

        read.Crosses.Should().Equal(suggestion.Schema.Crosses);
        read.HashBits.Should().Be(suggestion.Schema.HashBits);
        read.Separator.Should().Be('\t');
        read.Columns.Should().Equal(ClickLogSchema.Criteo.Columns);
        read.Numeric.Should().Equal(ClickLogSchema.Criteo.Numeric);
        using var document = JsonDocument.Parse(json);
        var evidence = document.RootElement.GetProperty("evidence");
        var crosses = evidence.GetProperty("crosses").EnumerateArray().ToArray();
        crosses.Should().HaveCount(suggestion.Schema.Crosses.Count);
        foreach (var added in suggestion.AddedCrosses)
        {
            var entry = crosses.Single(c => c.GetProperty("fields")[0].GetString() == added.First && c.GetProperty("fields")[1].GetString() == added.Second);
            entry.GetProperty("z").GetDouble().Should().BeApproximately(added.Z, 0.005);
            entry.GetProperty("neGain").GetDouble().Should().BeApproximately(added.NeGain, 1e-6);
        }

        evidence.GetProperty("hashBits").GetProperty("chosen").GetInt32().Should().Be(suggestion.Schema.HashBits);
    }

    [Fact]
    public void SuggestSchema_HashBits_AreTheFewestThatMeetTheCollisionTarget()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);
        var bits = suggestion.Schema.HashBits;

        suggestion.DistinctFeatures.Should().BeGreaterThan(fixture.Analysis.Hashing.DistinctFeatures, "the added crosses bring features of their own");
        Share(bits, suggestion.DistinctFeatures).Should().BeLessThanOrEqualTo(0.1);
        Share(bits - 1, suggestion.DistinctFeatures).Should().BeGreaterThan(0.1);
        suggestion.CollidingShare.Should().BeApproximately(Share(bits, suggestion.DistinctFeatures), 1e-12);
    }

    [Fact]
    public void SuggestSchema_WhenTheMemoryBudgetIsTight_TakesTheMostBitsItAffords()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis, new SchemaSuggestionOptions { MemoryBudgetBytes = (4L << 16) + 100 });

        suggestion.Schema.HashBits.Should().Be(16);
        suggestion.CollidingShare.Should().BeGreaterThan(0.1, "the budget, not the target, set the width");
    }

    [Fact]
    public async Task SuggestSchema_SameLogAndOptions_WritesTheSameFile()
    {
        var again = await ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Criteo, [fixture.LogPath]);

        ClickLogAnalyzer.SuggestSchema(again).ToJson().Should().Be(ClickLogAnalyzer.SuggestSchema(fixture.Analysis).ToJson());
    }

    [Fact]
    public async Task SuggestSchema_OnLabelsWithNoSignal_AddsNoCross()
    {
        var analysis = await NoiseLog.AnalyzeAsync(seed: 23);
        var suggestion = ClickLogAnalyzer.SuggestSchema(analysis);

        analysis.CrossCandidates.Should().HaveCount(15);
        suggestion.AddedCrosses.Should().BeEmpty();
        suggestion.Schema.Crosses.Should().BeEmpty();
        ClickLogSchema.Parse(suggestion.ToJson()).HasHeader.Should().BeTrue();
    }

    private static double Share(int bits, long distinct) => 1 - Math.Pow(1 - Math.Pow(2, -bits), distinct - 1);
}
