using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.InferenceServer.Tests;

/// <summary>A small LightGBM model (CtrFallback.LightGbm) trained once on generated rows, for the server tests.</summary>
public sealed class TrainedTreeArtifact : IDisposable
{
    public TrainedTreeArtifact()
    {
        LogPath = Path.Combine(Path.GetTempPath(), $"ctrfallback-server-tree-{Guid.NewGuid():N}.tsv");
        SyntheticClickLog.Write(LogPath, new SyntheticClickLogOptions { Rows = 20_000, Seed = 9 });
        using var provider = new ServiceCollection().AddLogging()
            .AddCtrFallback(o => { o.Trainer = CtrTrainerKind.LightGbm; o.VocabularyMinCount = 10; })
            .UseLightGbmTrainer(o => { o.NumberOfLeaves = 15; o.MaximumRounds = 40; o.MinimumExampleCountPerLeaf = 20; })
            .Services.BuildServiceProvider();
        Artifact = provider.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [LogPath]).GetAwaiter().GetResult().Artifact;
    }

    public string LogPath { get; }

    public byte[] Artifact { get; }

    public void Dispose() => File.Delete(LogPath);
}

/// <summary>The inference server serves a tree champion on the same endpoints as a linear one, and swaps between them.</summary>
public sealed class TreeChampionTests(TrainedTreeArtifact tree, TrainedArtifact linear) : IClassFixture<TrainedTreeArtifact>, IClassFixture<TrainedArtifact>
{
    private const string Body = """{"I1":1,"I2":0,"I3":5,"I5":1382,"C1":"68fd1e64","C2":"80e26c9b","C3":"fb936136","C9":"a73ee510","C17":"e5ba7672"}""";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Predict_WithATreeChampion_AnswersItsInProcessScore_ForOneImpressionAndForABatch()
    {
        await using var factory = new InferenceServerFactory();
        await factory.Store.RegisterAsync("ctr", tree.Artifact);
        _ = factory.Server;
        (await factory.ReloadAsync()).Outcome.Should().BeOneOf(ChampionReloadOutcome.Loaded, ChampionReloadOutcome.Unchanged);
        using var client = factory.CreateClient();
        var predictor = factory.Services.GetRequiredService<ICtrPredictor>();
        var impression = new Impression(predictor.Schema!);
        foreach (var property in JsonDocument.Parse(Body).RootElement.EnumerateObject())
        {
            impression.Set(property.Name, property.Value.ToString());
        }

        var single = await client.PostAsync("/predict", Json(Body));
        var batch = await client.PostAsync("/predict/batch", Json($$"""{"context":{"I1":1},"candidates":[{{Body}},{"C1":"other"}]}"""));

        single.StatusCode.Should().Be(HttpStatusCode.OK);
        var answer = await single.Content.ReadFromJsonAsync<JsonElement>();
        answer.GetProperty("ctr").GetSingle().Should().Be(predictor.Predict(impression).Ctr);
        answer.GetProperty("modelVersion").GetString().Should().Be("ctr/1");
        batch.StatusCode.Should().Be(HttpStatusCode.OK);
        var ctrs = (await batch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ctrs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        ctrs.Should().HaveCount(2);
        ctrs[0].Should().Be(answer.GetProperty("ctr").GetSingle(), "the candidate's own I1 wins over the context's");
        ctrs.Should().OnlyContain(c => c > 0 && c < 1);
    }

    [Fact]
    public async Task Predict_WhenTheChampionMovesFromLinearToTree_ServesTheTree()
    {
        await using var factory = new InferenceServerFactory();
        await factory.Store.RegisterAsync("ctr", linear.Artifact);
        _ = factory.Server;
        await factory.ReloadAsync();
        using var client = factory.CreateClient();
        var before = await client.PostAsync("/predict", Json(Body));

        await factory.Store.RegisterAsync("ctr", tree.Artifact);
        (await factory.ReloadAsync()).Outcome.Should().Be(ChampionReloadOutcome.Loaded);
        var after = await client.PostAsync("/predict", Json(Body));

        (await before.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("modelVersion").GetString().Should().Be("ctr/1");
        var tree2 = await after.Content.ReadFromJsonAsync<JsonElement>();
        tree2.GetProperty("modelVersion").GetString().Should().Be("ctr/2");
        factory.Services.GetRequiredService<ICtrPredictor>().CurrentModel!.Version.Version.Should().Be(2);
    }
}
