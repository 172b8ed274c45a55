using CtrFallback.Data;
using CtrFallback.Features;
using CtrFallback.Training;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests;

public sealed class RawFieldVocabularyTests
{
    private static readonly FeatureSchema Schema = new ClickLogSchema { Label = "y", Numeric = ["n"], Categorical = ["c"] }.ToFeatureSchema();

    [Fact]
    public void Vocabulary_KeepsValuesSeenAtLeastMinCountInTraining_RareAndEmptyGetTheirOwnCodes()
    {
        var hasher = new FeatureHasher(Schema);
        var collector = new RawFieldCollector(Schema, minCount: 3);
        var schema = new ClickLogSchema { HasHeader = true, Label = "y", Numeric = ["n"], Categorical = ["c"] };

        // "a" 4 times, "b" 3 times (one of them in the holdout), "c" twice, empty 5 times.
        string[] values = ["a", "a", "b", "a", "c", "", "", "b", "a", "c", "", "", "", "b"];
        var path = Path.GetTempFileName();
        File.WriteAllLines(path, ["y\tn\tc", .. values.Select((v, i) => $"{i % 2}\t{(i == 0 ? "" : i.ToString(System.Globalization.CultureInfo.InvariantCulture))}\t{v}")]);
        try
        {
            using var reader = new ClickLogReader(schema, [path]);
            var hashes = new uint[1];
            while (reader.Read())
            {
                hashes[0] = hasher.HashCategorical(0, reader.Row.Categorical(0));
                collector.Add(reader.Row, hashes);
            }

            var (featurizer, table) = collector.Complete(hasher, holdoutRows: [13]);

            featurizer.Vocabulary[0].Should().Equal("a");
            table.Where((_, i) => i % 2 == 1).Select(c => (int)c).Should().Equal(2, 2, 0, 2, 0, 1, 1, 0, 2, 0, 1, 1, 1, 0);
            float.IsNaN(table[0]).Should().BeTrue("a missing numeric stays missing, not zero");
            featurizer.Code(0, hasher.HashCategorical(0, "never-seen")).Should().Be(RawFieldFeaturizer.RareCode);
            featurizer.Features.Select(f => f.Levels).Should().Equal(0, 3);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task TrainingTrees_WithoutTheLightGbmPackage_FailsNamingThePackage()
    {
        var trainer = new CtrTrainer(Options.Create(new TrainingOptions { Trainer = CtrTrainerKind.LightGbm }), TimeProvider.System);

        var act = () => trainer.TrainAsync(ClickLogSchema.Criteo, ["does-not-matter.tsv"]);

        (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*CtrFallback.LightGbm*UseLightGbmTrainer()*");
    }
}
