using CtrFallback.Serving;
using CtrFallback.Data;

namespace CtrFallback.Tests;

public sealed class ChampionPredictorTests(ServingModelFixture fixture) : IClassFixture<ServingModelFixture>
{
    private static ModelVersion Version(int number) =>
        new("ctr", number, DateTimeOffset.UnixEpoch, "00", new Dictionary<string, double>(), new Dictionary<string, string>(), new Dictionary<string, string>(), []);

    private ChampionPredictor Serving(byte[] artifact, int version = 1)
    {
        var predictor = new ChampionPredictor();
        predictor.Publish(CtrModel.Load(artifact), Version(version), DateTimeOffset.UnixEpoch);
        return predictor;
    }

    [Fact]
    public void BeforeTheFirstModel_IsNotReady_PredictThrowsAndTryPredictReturnsFalse()
    {
        using var predictor = new ChampionPredictor();
        var impression = new Impression(ClickLogSchema.Criteo.ToFeatureSchema());

        predictor.IsReady.Should().BeFalse();
        predictor.CurrentModel.Should().BeNull();
        predictor.Schema.Should().BeNull();
        predictor.Invoking(p => p.Predict(impression)).Should().Throw<ModelNotReadyException>();
        predictor.TryPredict(impression, out var prediction).Should().BeFalse();
        prediction.Should().Be(default(CtrPrediction));
        predictor.Invoking(p => p.PredictCandidates(impression, [impression], new float[1])).Should().Throw<ModelNotReadyException>();
    }

    [Fact]
    public void Predict_GivesTheOfflineScoresWithin1e6_AndTheVersionLabel()
    {
        using var predictor = Serving(fixture.First, version: 7);
        using var model = CtrModel.Load(fixture.First);
        var offline = OfflineScorer.Score(model, ClickLogSchema.Criteo, [fixture.LogPath]).Take(2_000).ToArray();
        var impressions = fixture.Impressions(predictor.Schema!, 2_000);

        for (var i = 0; i < impressions.Length; i++)
        {
            var prediction = predictor.Predict(impressions[i]);
            prediction.Ctr.Should().BeApproximately(offline[i].Probability, 1e-6f, $"row {i + 1}");
            prediction.ModelVersion.Should().Be("ctr/7");
            predictor.TryPredict(impressions[i], out var again).Should().BeTrue();
            again.Should().Be(prediction);
        }

        predictor.Metrics.PredictionCount.Should().Be(2 * impressions.Length);
    }

    [Fact]
    public void PredictCandidates_EqualsScoringEachCandidateMergedWithTheContext()
    {
        using var predictor = Serving(fixture.First);
        var schema = predictor.Schema!;
        var rows = fixture.Impressions(schema, 41);
        var context = rows[0];

        // Each candidate sets a few ad-side fields (by rotation) and leaves the rest to the context; some set a field to missing.
        var candidates = new Impression[40];
        var merged = new Impression[40];
        for (var c = 0; c < candidates.Length; c++)
        {
            var source = rows[c + 1];
            candidates[c] = new Impression(schema);
            merged[c] = new Impression(schema);
            for (var i = 0; i < schema.NumericFields.Count; i++)
            {
                var own = (i + c) % 3 == 0;
                if (own)
                {
                    candidates[c].SetNumeric(i, c % 7 == 0 ? null : source.Numeric[i]);
                }

                merged[c].SetNumeric(i, own ? (c % 7 == 0 ? null : source.Numeric[i]) : context.Numeric[i]);
            }

            for (var i = 0; i < schema.CategoricalFields.Count; i++)
            {
                var own = (i + c) % 4 == 0;
                if (own)
                {
                    candidates[c].SetCategorical(i, c % 5 == 0 ? null : source.Categorical[i]);
                }

                merged[c].SetCategorical(i, own ? (c % 5 == 0 ? null : source.Categorical[i]) : context.Categorical[i]);
            }
        }

        var ctrs = new float[candidates.Length];
        var label = predictor.PredictCandidates(context, candidates, ctrs);

        label.Should().Be("ctr/1");
        ctrs.Distinct().Should().HaveCountGreaterThan(30, "the candidates differ, so must their scores");
        for (var c = 0; c < candidates.Length; c++)
        {
            ctrs[c].Should().Be(predictor.Predict(merged[c]).Ctr, $"candidate {c}");
        }
    }

    [Fact]
    public void PredictAndPredictCandidates_AllocateNothing()
    {
        using var predictor = Serving(fixture.First);
        var impressions = fixture.Impressions(predictor.Schema!, 100);
        var ctrs = new float[impressions.Length];
        for (var i = 0; i < 1_000; i++)
        {
            predictor.Predict(impressions[i % impressions.Length]);
            predictor.TryPredict(impressions[i % impressions.Length], out _);
        }

        predictor.PredictCandidates(impressions[0], impressions, ctrs);

        // Three measured windows, the fewest bytes kept: an allocation on the hot path shows in every window, while a
        // one-off on this thread (tier-1 recompilation under a busy test run, a class initializer) shows in one at most.
        float sum = 0;
        var allocated = long.MaxValue;
        for (var window = 0; window < 3 && allocated > 0; window++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100_000; i++)
            {
                sum += predictor.Predict(impressions[i % impressions.Length]).Ctr;
                sum += predictor.TryPredict(impressions[i % impressions.Length], out var p) ? p.Ctr : 0;
            }

            for (var i = 0; i < 1_000; i++)
            {
                predictor.PredictCandidates(impressions[0], impressions, ctrs);
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        allocated.Should().Be(0, "the hot path must not allocate");
        sum.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Predict_WithAnImpressionOfAnotherLayout_Throws()
    {
        using var predictor = Serving(fixture.First);
        var other = new FeatureSchema(["n"], ["c"], [], 12);

        predictor.Invoking(p => p.Predict(new Impression(other))).Should().Throw<ArgumentException>().WithMessage("*another schema*");
    }

    [Fact]
    public void Predict_WithAStructurallyEqualSchemaInstance_IsAccepted()
    {
        using var predictor = Serving(fixture.First);
        var copy = predictor.Schema! with { NumericFields = predictor.Schema.NumericFields.ToArray() };
        var impression = fixture.Impressions(copy, 1)[0];

        predictor.Predict(impression).Ctr.Should().Be(predictor.Predict(fixture.Impressions(predictor.Schema, 1)[0]).Ctr);
    }
}
