using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;
using Xunit.Abstractions;

namespace CtrFallback.Tests;

/// <summary>
/// Live drift against the training profile, on a model really trained on a generated log (<see cref="ServingModelFixture"/>)
/// and impressions generated with another seed (the same distribution), then shifted on purpose.
/// </summary>
public sealed class DriftTests(ServingModelFixture fixture, ITestOutputHelper output) : IClassFixture<ServingModelFixture>
{
    private const int Window = 10_000;

    private static readonly string[] Columns = [.. ClickLogSchema.Criteo.Columns!];

    private static ModelVersion Version(int number) =>
        new("ctr", number, DateTimeOffset.UnixEpoch, "00", new Dictionary<string, double>(), new Dictionary<string, string>(), new Dictionary<string, string>(), []);

    private static ChampionPredictor Serving(byte[] artifact, int sampleEvery = 1, int version = 1, bool enabled = true)
    {
        var predictor = new ChampionPredictor(drift: new ServingDriftOptions { SampleEvery = sampleEvery, Window = Window, Enabled = enabled });
        predictor.Publish(CtrModel.Load(artifact), Version(version), DateTimeOffset.UnixEpoch);
        return predictor;
    }

    /// <summary>Generated impressions of the training distribution (another seed than the training log's), with an optional rewrite of their fields.</summary>
    private static IEnumerable<Impression> Stream(FeatureSchema schema, int seed, int rows, Action<string[]>? shift = null)
    {
        var impression = new Impression(schema);
        foreach (var row in SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = rows, Seed = seed }))
        {
            var fields = row.Line.Split('\t');
            shift?.Invoke(fields);
            impression.Clear();
            impression.SetAll(Columns, fields);
            yield return impression;
        }
    }

    /// <summary>
    /// Ids from another id space: the generator's ids depend on field and rank only (not on its seed), so a seed alone does
    /// not change them; this maps every categorical value to a different 8-hex-digit id, as an upstream re-keying would.
    /// </summary>
    private static void OtherIds(string[] fields)
    {
        for (var i = 14; i < fields.Length; i++)
        {
            if (fields[i].Length > 0)
            {
                fields[i] = (uint.Parse(fields[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture) * 2654435761u ^ 0x5bd1e995u).ToString("x8", CultureInfo.InvariantCulture);
            }
        }
    }

    [Fact]
    public void TrainedArtifact_CarriesAProfile_OfItsHoldoutScoresAndEveryField()
    {
        using var model = CtrModel.Load(fixture.First);
        var profile = model.Metadata.Profile;

        profile.Should().NotBeNull();
        profile!.ScoreEdges.Should().HaveCount(TrainingProfile.ScoreBins - 1).And.BeInAscendingOrder();
        profile.ScoreShares.Sum().Should().BeApproximately(1, 1e-9);
        profile.ScoreShares.Should().OnlyContain(s => s > 0.08 && s < 0.12, "quantile bins of continuous scores hold about a tenth each");
        profile.HoldoutRows.Should().Be(model.Metadata.Metrics!.Rows);
        profile.ObservedCtr.Should().BeApproximately((double)model.Metadata.Metrics.Positives / model.Metadata.Metrics.Rows, 1e-12);
        profile.MeanPredictedCtr.Should().BeInRange(0.15, 0.25, "the generator's CTR is 0.2");
        profile.Rows.Should().Be(ServingModelFixture.Rows);
        profile.Fields.Select(f => f.Field).Should().Equal(model.Schema.NumericFields.Concat(model.Schema.CategoricalFields));

        // The generator's missing rates: I1 45.4%, I2 never, C22 76.2%; C9 has 3 values, C3 a million.
        profile.Fields.Single(f => f.Field == "I1").MissingShare.Should().BeApproximately(0.454, 0.02);
        profile.Fields.Single(f => f.Field == "I2").MissingShare.Should().Be(0);
        var c22 = profile.Fields.Single(f => f.Field == "C22");
        c22.MissingShare.Should().BeApproximately(0.762, 0.02);
        var c9 = profile.Fields.Single(f => f.Field == "C9");
        c9.FrequentValues.Should().HaveCount(3);
        c9.FrequentShare.Should().Be(1);
        var c3 = profile.Fields.Single(f => f.Field == "C3");
        c3.FrequentValues.Should().HaveCount(TrainingProfile.MaxFrequentValues);
        c3.FrequentShare.Should().BeInRange(0.2, 0.6, "a Zipf field of a million ids: its 256 most frequent cover a part of the rows");

        // The frequent values are the serving hasher's value hashes: C9's three ids of the log hash into them.
        var column = Array.IndexOf(Columns, "C9");
        var field = model.Schema.CategoricalFields.ToList().IndexOf("C9");
        var ids = File.ReadLines(fixture.LogPath).Take(500).Select(l => l.Split('\t')[column]).Distinct();
        ids.Select(id => model.Hasher.HashCategorical(field, id)).Should().BeSubsetOf(c9.FrequentValues!);
    }

    [Fact]
    public void TrainingDistribution_KeepsPsiBelow01_AndSharesNearTraining()
    {
        using var predictor = Serving(fixture.First);
        foreach (var impression in Stream(predictor.Schema!, seed: 21, rows: Window))
        {
            predictor.Predict(impression);
        }

        var drift = predictor.Drift!;
        output.WriteLine($"PSI {drift.ScorePsi:F4}, mean predicted CTR {drift.MeanPredictedCtr:F4} (holdout {drift.TrainingMeanPredictedCtr:F4}); largest unseen change {drift.Fields.Max(f => Math.Abs(f.UnseenShareChange ?? 0)):F4}");
        drift.WindowImpressions.Should().Be(Window);
        drift.ScorePsi.Should().BeLessThan(0.1);
        drift.MeanPredictedCtr.Should().BeApproximately(drift.TrainingMeanPredictedCtr, 0.01);
        foreach (var field in drift.Fields)
        {
            field.MissingShareChange.Should().BeInRange(-0.03, 0.03, field.Field);
            if (field.UnseenShare is { } unseen)
            {
                unseen.Should().BeApproximately(field.TrainingUnseenShare!.Value, 0.05, field.Field);
            }
        }
    }

    [Fact]
    public void IdsFromAnotherIdSpace_PushPsiAndTheUnseenShareAbove025_WithinTheWindow()
    {
        using var predictor = Serving(fixture.First);
        foreach (var impression in Stream(predictor.Schema!, seed: 21, rows: Window))
        {
            predictor.Predict(impression);
        }

        predictor.Drift!.ScorePsi.Should().BeLessThan(0.1);
        var crossed = -1;
        var n = 0;
        foreach (var impression in Stream(predictor.Schema!, seed: 22, rows: Window, OtherIds))
        {
            predictor.Predict(impression);
            if (++n % 500 == 0 && crossed < 0 && predictor.Drift!.ScorePsi > 0.25)
            {
                crossed = n;
            }
        }

        var drift = predictor.Drift!;
        output.WriteLine($"PSI crossed 0.25 after {crossed} shifted impressions; at the end {drift.ScorePsi:F4}; lowest unseen share {drift.Fields.Min(f => f.UnseenShare ?? 1):F4}");
        crossed.Should().BeInRange(1, Window, "PSI crosses 0.25 before the window has turned over");
        drift.ScorePsi.Should().BeGreaterThan(0.25);
        var c9 = drift.Fields.Single(f => f.Field == "C9");
        c9.UnseenShare.Should().BeGreaterThan(0.99, "every C9 id is new, and C9's three ids covered all of training");
        drift.Fields.Where(f => f.UnseenShare is not null).Should().OnlyContain(f => f.UnseenShare > 0.25);
    }

    [Fact]
    public void AFieldThatStopsArriving_ShowsItsMissingShareChange()
    {
        using var predictor = Serving(fixture.First);
        var column = Array.IndexOf(Columns, "C1");
        foreach (var impression in Stream(predictor.Schema!, seed: 23, rows: Window, fields => fields[column] = string.Empty))
        {
            predictor.Predict(impression);
        }

        var c1 = predictor.Drift!.Fields.Single(f => f.Field == "C1");
        c1.TrainingMissingShare.Should().Be(0);
        c1.MissingShare.Should().Be(1);
        c1.MissingShareChange.Should().Be(1);
        c1.UnseenShare.Should().BeNull("no impression has the field");
        predictor.Drift.Fields.Single(f => f.Field == "C2").MissingShareChange.Should().BeInRange(-0.03, 0.03);
    }

    [Fact]
    public void Sampling_CountsOneImpressionInSampleEvery_AndTheWindowSlides()
    {
        using var predictor = Serving(fixture.First, sampleEvery: 16);
        var count = 0;
        foreach (var impression in Stream(predictor.Schema!, seed: 24, rows: 16 * 1_000))
        {
            predictor.Predict(impression);
            count++;
        }

        // One thread: exactly one in 16.
        predictor.Drift!.WindowImpressions.Should().Be(count / 16);
        predictor.Drift.SampleEvery.Should().Be(16);

        using var everyOne = Serving(fixture.First, sampleEvery: 1);
        foreach (var impression in Stream(everyOne.Schema!, seed: 24, rows: Window + 2_500))
        {
            everyOne.Predict(impression);
        }

        everyOne.Drift!.WindowImpressions.Should().Be(Window, "the window keeps the newest samples only");
    }

    [Fact]
    public void PredictCandidates_AreSampledToo()
    {
        using var predictor = Serving(fixture.First);
        var schema = predictor.Schema!;
        var rows = Stream(schema, seed: 25, rows: 9).Select(i => Copy(i, schema)).ToArray();
        var ctrs = new float[8];

        predictor.PredictCandidates(rows[0], rows.AsSpan(1), ctrs);

        var drift = predictor.Drift!;
        drift.WindowImpressions.Should().Be(8);
        drift.MeanPredictedCtr.Should().BeApproximately(ctrs.Average(c => (double)c), 1e-6);
    }

    [Fact]
    public void AReload_StartsAFreshWindow_ForTheNewVersion()
    {
        using var predictor = Serving(fixture.First, version: 1);
        foreach (var impression in Stream(predictor.Schema!, seed: 26, rows: 1_000))
        {
            predictor.Predict(impression);
        }

        predictor.Drift!.WindowImpressions.Should().Be(1_000);
        predictor.Publish(CtrModel.Load(fixture.Second), Version(2), DateTimeOffset.UnixEpoch);

        var fresh = predictor.Drift!;
        fresh.Version.Should().Be(2);
        fresh.WindowImpressions.Should().Be(0);
        fresh.ScorePsi.Should().BeNull();
        predictor.Predict(Stream(predictor.Schema!, seed: 26, rows: 1).Single());
        predictor.Drift!.WindowImpressions.Should().Be(1);

        predictor.RestartDriftWindow();
        predictor.Drift!.WindowImpressions.Should().Be(0);
    }

    [Fact]
    public void AnArtifactWithoutAProfile_StillServes_WithoutDrift()
    {
        var old = WithoutProfile(fixture.First);
        using var model = CtrModel.Load(old);
        model.Metadata.Profile.Should().BeNull();

        using var predictor = Serving(old);
        using var profiled = Serving(fixture.First);
        foreach (var impression in Stream(predictor.Schema!, seed: 27, rows: 100))
        {
            predictor.Predict(impression).Ctr.Should().Be(profiled.Predict(impression).Ctr);
        }

        predictor.Drift.Should().BeNull();
        predictor.Metrics.PredictionCount.Should().Be(100);
    }

    [Fact]
    public void DriftOff_ReportsNone()
    {
        using var predictor = Serving(fixture.First, enabled: false);
        predictor.Predict(Stream(predictor.Schema!, seed: 28, rows: 1).Single());
        predictor.Drift.Should().BeNull();
    }

    [Fact]
    public void Meter_ExportsTheDriftGauges_ByModelVersionAndField()
    {
        using var predictor = Serving(fixture.First, version: 3);
        foreach (var impression in Stream(predictor.Schema!, seed: 29, rows: 2_000))
        {
            predictor.Predict(impression);
        }

        var measured = new List<(string Name, double Value, Dictionary<string, string> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CtrFallbackTelemetry.MeterName && instrument.Name.StartsWith("ctrfallback.serving.drift.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => (string)t.Value!))));
        listener.Start();
        listener.RecordObservableInstruments();

        var drift = predictor.Drift!;
        var mine = measured.Where(m => m.Tags["version"] == "3" && m.Tags["model"] == "ctr").ToList();
        mine.Single(m => m.Name == "ctrfallback.serving.drift.score_psi").Value.Should().Be(drift.ScorePsi!.Value);
        mine.Single(m => m.Name == "ctrfallback.serving.drift.window_impressions").Value.Should().Be(2_000);
        mine.Single(m => m.Name == "ctrfallback.serving.drift.mean_predicted_ctr").Value.Should().Be(drift.MeanPredictedCtr!.Value);
        mine.Where(m => m.Name == "ctrfallback.serving.drift.missing_share_change").Select(m => m.Tags["field"])
            .Should().Equal(drift.Fields.Select(f => f.Field));
        mine.Where(m => m.Name == "ctrfallback.serving.drift.unseen_share").Select(m => m.Tags["field"])
            .Should().Equal(predictor.Schema!.CategoricalFields);
        mine.Single(m => m.Name == "ctrfallback.serving.drift.unseen_share" && m.Tags["field"] == "C9").Value
            .Should().Be(drift.Fields.Single(f => f.Field == "C9").UnseenShare!.Value);
    }

    private static Impression Copy(Impression source, FeatureSchema schema)
    {
        var copy = new Impression(schema);
        for (var i = 0; i < source.Numeric.Length; i++)
        {
            copy.SetNumeric(i, source.Numeric[i]);
        }

        for (var i = 0; i < source.Categorical.Length; i++)
        {
            copy.SetCategorical(i, source.Categorical[i]);
        }

        return copy;
    }

    /// <summary>The artifact as made before profiles existed: its metadata without the <c>profile</c> member.</summary>
    internal static byte[] WithoutProfile(byte[] artifact) =>
        ServingModelFixture.WithMetadata(artifact, json => json.Remove("profile").Should().BeTrue("a trained artifact has a profile to remove"));
}
