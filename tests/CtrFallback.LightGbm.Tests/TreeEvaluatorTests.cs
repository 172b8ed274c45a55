using CtrFallback.Data;
using CtrFallback.Features;
using CtrFallback.Serving;
using CtrFallback.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace CtrFallback.LightGbm.Tests;

public sealed class TreeEvaluatorTests(TreeModelFixture fixture) : IClassFixture<TreeModelFixture>
{
    private sealed class VectorRow
    {
        public bool Label { get; set; }

        public VBuffer<float> Features { get; set; }
    }

    private sealed class Scored
    {
        public float Probability { get; set; }
    }

    [Fact]
    public void FlattenedEvaluator_ScoresThousandsOfRowsAsMlNetDoes_WithinOneMillionth()
    {
        using var model = CtrModel.Load(fixture.Tree.Artifact);
        var featurizer = model.RawFields!;
        var evaluator = TreeEnsembleEvaluator.From(model.Transformer, featurizer.Features);
        var layout = new RawFieldDataView.SlotLayout(featurizer.Features);
        var ml = new MLContext(seed: 0);
        using var engine = ml.Model.CreatePredictionEngine<VectorRow, Scored>(model.Transformer, RawFieldDataView.CreateSchema(layout));

        using var reader = new ClickLogReader(ClickLogSchema.Criteo, [fixture.LogPath]);
        var hashes = new uint[featurizer.Hasher.CategoricalCount];
        var features = new float[featurizer.Count];
        var indices = new int[featurizer.Count];
        var values = new float[featurizer.Count];
        int rows = 0, missing = 0, rare = 0, empty = 0;
        var worst = 0.0;
        while (reader.Read() && rows < 5_000)
        {
            var row = reader.Row;
            for (var i = 0; i < hashes.Length; i++)
            {
                hashes[i] = featurizer.Hasher.HashCategorical(i, row.Categorical(i));
            }

            featurizer.Featurize(row.Numeric, hashes, row.Timestamp, features);
            var count = RawFieldDataView.ToSparse(layout, features, indices, values);
            var expected = engine.Predict(new VectorRow { Features = new VBuffer<float>(layout.Slots, count, values.ToArray(), indices.ToArray()) }).Probability;
            worst = Math.Max(worst, Math.Abs(evaluator.Predict(features) - expected));
            missing += features.Take(13).Count(float.IsNaN);
            rare += features.Skip(13).Count(f => f == RawFieldFeaturizer.RareCode);
            empty += features.Skip(13).Count(f => f == RawFieldFeaturizer.EmptyCode);
            rows++;
        }

        rows.Should().Be(5_000);
        evaluator.Trees.Should().BeGreaterThan(10);
        worst.Should().BeLessThan(1e-6);

        // The rows exercised every kind of input the trees branch on.
        missing.Should().BeGreaterThan(100);
        rare.Should().BeGreaterThan(100);
        empty.Should().BeGreaterThan(100);
    }

    [Fact]
    public void TreeModel_ScoresARowThroughCoreAsTheEvaluatorDoes_AndWithoutAllocating()
    {
        using var model = CtrModel.Load(fixture.Tree.Artifact);
        var impression = Imp(model.Schema, ("I1", "3"), ("I2", "10"), ("C1", "68fd1e64"), ("C3", "never-seen-value"));
        var first = model.Predict(impression);

        var before = GC.GetAllocatedBytesForCurrentThread();
        float sum = 0;
        for (var i = 0; i < 1_000; i++)
        {
            sum += model.Predict(impression);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        sum.Should().BeApproximately(first * 1_000, 1e-2f);
        first.Should().BeInRange(0.001f, 0.999f);
        allocated.Should().Be(0);
    }

    [Fact]
    public void TreeArtifact_KeepsItsVocabulary_AndNoHashedCrosses()
    {
        var metadata = ModelArtifact.ReadMetadata(fixture.Tree.Artifact);

        metadata.Trainer.Should().Be("LightGbm");
        metadata.VocabularyMinCount.Should().Be(10);
        metadata.Vocabulary.Should().HaveCount(26);
        metadata.Vocabulary!.Sum(v => v.Count).Should().BeGreaterThan(100);
        fixture.Tree.Parameters["featurizer.kind"].Should().Be("rawFields");
        fixture.Tree.Parameters["earlyStoppingRows"].Should().NotBe("0");
    }

    private static Impression Imp(FeatureSchema schema, params (string Field, string Value)[] values)
    {
        var impression = new Impression(schema);
        foreach (var (field, value) in values)
        {
            impression.Set(field, value).Should().BeTrue();
        }

        return impression;
    }
}
