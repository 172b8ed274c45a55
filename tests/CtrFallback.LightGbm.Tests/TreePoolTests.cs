using CtrFallback.Serving;
using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.Data;

namespace CtrFallback.LightGbm.Tests;

public sealed class TreePoolInput
{
    [VectorType]
    public float[] Features { get; set; } = [];
}

public sealed class TreePoolOutput
{
    public float Probability { get; set; }
}

/// <summary>PredictionEnginePool.FromModelStore follows a tree champion through the one champion follower, as it does a linear one.</summary>
public sealed class TreePoolTests(TreeModelFixture fixture) : IClassFixture<TreeModelFixture>
{
    [Fact]
    public async Task FromModelStore_FollowsTheAliasFromALinearToATreeChampion_AndServesTheTreesModel()
    {
        var store = new InMemoryModelStore();
        await store.RegisterAsync("ctr", fixture.Linear.Artifact);
        var services = new ServiceCollection().AddLogging().AddSingleton<IModelStore>(store);
        services.AddCtrFallback().UseLightGbmTrainer();
        services.AddPredictionEnginePool<TreePoolInput, TreePoolOutput>().FromModelStore("ctr", period: TimeSpan.FromHours(1));
        await using var provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<TreePoolInput, TreePoolOutput>>();
        await pool.ReloadAsync("ctr");
        var linear = pool.GetModel("ctr");

        await store.RegisterAsync("ctr", fixture.Tree.Artifact);
        await pool.ReloadAsync("ctr");
        var tree = pool.GetModel("ctr");

        tree.Should().NotBeSameAs(linear);

        // The pool holds the artifact's own ML.NET model over the raw-field layout (numerics, hour/day, then one code
        // range per categorical field): it scores featurized rows exactly as that model does.
        var ml = new Microsoft.ML.MLContext(seed: 0);
        var (own, inputSchema, _) = CtrFallback.Training.ModelArtifact.Load(ml, fixture.Tree.Artifact);
        var width = ((VectorDataViewType)inputSchema["Features"].Type).Size;
        var rows = Enumerable.Range(0, 50).Select(i => new TreePoolInput { Features = Enumerable.Range(0, width).Select(j => (i + j) % 7 == 0 ? 1f : 0f).ToArray() }).ToArray();
        var definition = Microsoft.ML.Data.SchemaDefinition.Create(typeof(TreePoolInput));
        definition[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var data = ml.Data.LoadFromEnumerable(rows, definition);
        float[] Scores(Microsoft.ML.ITransformer model) =>
            ml.Data.CreateEnumerable<TreePoolOutput>(model.Transform(data), reuseRowObject: false).Select(o => o.Probability).ToArray();

        width.Should().BeLessThan(10_000, "a tree model reads the raw-field layout, not 2^20 hashed weights");
        Scores(tree).Should().Equal(Scores(own));
        Scores(tree).Distinct().Should().HaveCountGreaterThan(1);
    }
}
