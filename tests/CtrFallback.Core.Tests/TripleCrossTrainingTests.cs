using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;

namespace CtrFallback.Tests;

/// <summary>A model trained with a triple cross: the artifact keeps the triple, and serving scores what training's own transform scores.</summary>
public sealed class TripleCrossTrainingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Train_WithATripleCross_ServesTheScoresOfTheTrainedTransform()
    {
        var log = _dir.File("triple.tsv");
        var triple = new FieldCross("C9", "C14", "C23");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 30_000, Seed = 13, Learnable = true, Crosses = [triple] });
        var schema = ClickLogSchema.Criteo with { Crosses = [.. ClickLogSchema.Criteo.Crosses, triple] };

        var result = await TrainedModelFixture.Train(TrainedModelFixture.Training, schema, log);
        using var model = CtrModel.Load(result.Artifact);

        result.Parameters["featurizer.crosses"].Should().Be("C6xC14,C2xC11,C17xC20,C9xC14xC23");
        model.Schema.Crosses.Should().Equal(schema.Crosses, "the artifact keeps the triple");
        model.Hasher.HashedCount.Should().Be(26 + 4 + 13);
        OfflineScorer.ServingShouldMatch(model, schema, log, 2_000);
    }
}
