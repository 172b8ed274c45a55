using System.Text.Json;
using CtrFallback.Analysis;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>A generated log whose truth carries one three-way interaction (C14 x C23 x C9) and no planted pair, analyzed once.</summary>
public sealed class PlantedTripleFixture : IDisposable
{
    public PlantedTripleFixture()
    {
        Directory = new TempDirectory();
        LogPath = Directory.File("triple.tsv");
        SyntheticClickLog.Write(LogPath, new SyntheticClickLogOptions { Rows = 100_000, Seed = 7, Crosses = [Triple] });
        Analysis = ClickLogAnalyzer.AnalyzeAsync(ClickLogSchema.Criteo, [LogPath]).GetAwaiter().GetResult();
    }

    public static FieldCross Triple { get; } = new("C14", "C23", "C9");

    public TempDirectory Directory { get; }

    public string LogPath { get; }

    public ClickLogAnalysis Analysis { get; }

    public void Dispose() => Directory.Dispose();
}

/// <summary>The beam search: triples found by extending the best pairs, judged on what they add over their pairs.</summary>
public sealed class TripleSearchTests(PlantedTripleFixture fixture) : IClassFixture<PlantedTripleFixture>
{
    private static readonly string[] TripleFields = [.. PlantedTripleFixture.Triple.Fields.Order(StringComparer.Ordinal)];

    [Fact]
    public void SuggestSchema_OnALogWithAPlantedTriple_AddsThatTriple_OverItsPairs()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);

        var triples = suggestion.AddedCrosses.Where(c => c.Third is not null).ToArray();
        triples.Should().ContainSingle();
        Fields(triples[0]).Should().Equal(TripleFields);
        triples[0].Z.Should().BeGreaterThanOrEqualTo(suggestion.RequiredZ);
        triples[0].NeGain.Should().BePositive();
        suggestion.Schema.Crosses.Should().Contain(triples[0].ToCross());

        // The pairs a three-way effect leaks into may be added too; no pair outside the triple's fields is.
        suggestion.AddedCrosses.Where(c => c.Third is null).Should().OnlyContain(c => Fields(c).All(TripleFields.Contains));
    }

    [Fact]
    public void SuggestSchema_CountsEveryTripleScored_InTheFalseCrossBar()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);

        suggestion.TripleCandidates.Should().NotBeEmpty();
        suggestion.CandidatesTested.Should().Be(fixture.Analysis.CrossCandidates.Count + suggestion.TripleCandidates.Count);
        suggestion.RequiredZ.Should().BeApproximately(Stats.NormalQuantile(1 - (0.05 / suggestion.CandidatesTested)), 1e-9);
        suggestion.TripleCandidates.Select(c => string.Join(',', Fields(c))).Should().OnlyHaveUniqueItems("each set of three fields is scored once");

        // Each triple extends a beam pair (one of the best pairs clearing the bar) by a third field.
        var beam = fixture.Analysis.CrossCandidates.Where(c => c.NeGain > 0 && c.Z >= suggestion.RequiredZ).Take(5).Select(c => (c.First, c.Second)).ToArray();
        suggestion.TripleCandidates.Should().OnlyContain(c => beam.Contains(new ValueTuple<string, string>(c.First, c.Second)));
    }

    [Fact]
    public void SuggestSchema_WithBeamWidthZero_ScoresPairsOnly_AndMissesTheTriple()
    {
        var pairsOnly = ClickLogAnalyzer.SuggestSchema(fixture.Analysis, new SchemaSuggestionOptions { BeamWidth = 0 });

        pairsOnly.TripleCandidates.Should().BeEmpty();
        pairsOnly.CandidatesTested.Should().Be(fixture.Analysis.CrossCandidates.Count);
        pairsOnly.AddedCrosses.Should().OnlyContain(c => c.Third == null);
    }

    [Fact]
    public void SuggestSchema_File_WithATriple_ReadsBackAsTheSchema_AndRecordsItsGainAndZ()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);
        var triple = suggestion.AddedCrosses.Single(c => c.Third is not null);
        var json = suggestion.ToJson();

        ClickLogSchema.Parse(json).Crosses.Should().Equal(suggestion.Schema.Crosses);
        using var document = JsonDocument.Parse(json);
        var evidence = document.RootElement.GetProperty("evidence");
        evidence.GetProperty("triplesScored").GetInt32().Should().Be(suggestion.TripleCandidates.Count);
        evidence.GetProperty("candidatesTested").GetInt32().Should().Be(suggestion.CandidatesTested);
        var entry = evidence.GetProperty("crosses").EnumerateArray().Single(c => c.GetProperty("fields").GetArrayLength() == 3);
        entry.GetProperty("fields").EnumerateArray().Select(f => f.GetString()).Should().Equal(triple.ToCross().Fields);
        entry.GetProperty("z").GetDouble().Should().BeApproximately(triple.Z, 0.005);
        entry.GetProperty("neGain").GetDouble().Should().BeApproximately(triple.NeGain, 1e-6);
        entry.GetProperty("gainOver").GetString().Should().Be($"{triple.First}x{triple.Second}, {triple.First}x{triple.Third}, {triple.Second}x{triple.Third}");
    }

    [Fact]
    public void SuggestSchema_SameAnalysisAndOptions_ScoresTheSameTriples()
    {
        var first = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);
        var second = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);

        second.TripleCandidates.Should().Equal(first.TripleCandidates, "triples are scored in parallel into fixed slots");
        second.ToJson().Should().Be(first.ToJson());
    }

    [Fact]
    public void ToHtml_OfASuggestion_ShowsTheTriplesScored_AndMarksTheOneAdded()
    {
        var suggestion = ClickLogAnalyzer.SuggestSchema(fixture.Analysis);
        var triple = suggestion.AddedCrosses.Single(c => c.Third is not null);

        var html = ClickLogAnalyzer.ToHtml(suggestion);

        html.Should().Contain("Triples (beam search)").And.Contain(string.Join(" × ", triple.ToCross().Fields));
        html.Should().Contain($"{suggestion.TripleCandidates.Count:N0} triples scored");
        ClickLogAnalyzer.ToHtml(fixture.Analysis).Should().NotContain("Triples (beam search)", "an analysis alone has no beam");
    }

    private static string[] Fields(CrossCandidate c) => [.. c.ToCross().Fields.Order(StringComparer.Ordinal)];
}
