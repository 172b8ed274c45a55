using System.IO.Abstractions;
using System.Text;
using CtrFallback.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CtrFallback.Data;
using CtrFallback.Promotion;
using CtrFallback.Training;

namespace CtrFallback.Tests;

/// <summary>A training run racing a manual promote: the later move is refused, or both apply in order; one consistent champion either way.</summary>
public sealed class PromotionRaceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private FaultingModelStore FileStore() => new(
        new FileModelStore(new FileSystem(), Options.Create(new FileModelStoreOptions { Path = _dir.File("store") }), TimeProvider.System));

    [Fact]
    public async Task Train_WhenAManualPromoteMovesTheChampionWhileItTrains_RefusesToPromoteAndKeepsTheManualChampion()
    {
        var store = FileStore();
        var services = new ServiceCollection();
        services.AddCtrFallback(o => o.L2Regularization = 3e-4f);
        services.AddSingleton<IModelStore>(store);
        services.Configure<PromotionGateOptions>(o => (o.MaxAucLoss, o.MaxNormalizedEntropyIncrease) = (0.02, 0.02));
        await using var provider = services.BuildServiceProvider();
        var job = provider.GetRequiredService<ITrainingJob>();
        var champions = provider.GetRequiredService<IChampionManager>();
        Task<TrainingJobResult> Train(int seed) => job.RunAsync(new TrainingJobRequest([Log(seed)], ClickLogSchema.Criteo));

        (await Train(1)).Promoted.Should().BeTrue();
        var manual = await store.RegisterAsync(new ModelRegistration("ctr", await store.DownloadArtifactAsync("ctr", 1)));

        // The operator promotes version 2 after the run has judged its candidate against version 1.
        store.BeforeRegister = async () =>
        {
            store.BeforeRegister = null;
            await champions.PromoteAsync(manual.Version, force: true);
        };
        var training = () => Train(2);

        var refused = (await training.Should().ThrowAsync<ChampionChangeException>()).Which;
        refused.Message.Should().Contain("ctr/3 was judged against champion v1").And.Contain("now v2").And.Contain("not promoted");
        (await store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(2);
        var candidate = (await store.GetVersionAsync("ctr", 3))!;
        candidate.Gate!.Passed.Should().BeTrue("the gate passed it against v1");
        candidate.Tags.Should().NotContainKey(ModelTags.PromotedAt).And.NotContainKey(ModelTags.PreviousChampion);
        (await champions.RollbackAsync()).Version.Version.Should().Be(1, "history is the manual promote's: v2 replaced v1");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task ManualPromoteAndTrainingPromotion_AtTheSameTime_EndOnOneChampionWhoseHistoryNamesTheVersionItReplaced(int seed)
    {
        var store = FileStore();
        store.TagWriteDelay = TimeSpan.FromMilliseconds(15 + (seed * 5));
        for (var i = 1; i <= 3; i++)
        {
            await store.RegisterAsync(new ModelRegistration("ctr", Encoding.UTF8.GetBytes($"artifact {i}")));
        }

        var champions = PromotionFaultContract.Manager(store, "ctr");
        await champions.PromoteAsync(1);

        var manual = champions.PromoteAsync(2);
        var training = champions.PromoteCandidateAsync(previousChampion: 1, version: 3);
        var results = await Task.WhenAll(Settle(manual), Settle(training));

        results[0].Failure.Should().BeNull("a manual promote takes whatever champion it finds");
        var champion = (await store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!;
        if (results[1].Failure is { } refused)
        {
            // The manual promote went first: the candidate's judgement against v1 no longer holds.
            refused.Should().BeOfType<ChampionChangeException>().Which.Message.Should().Contain("now v2");
            champion.Version.Should().Be(2);
            champion.Tags[ModelTags.PreviousChampion].Should().Be("1");
            results[0].Change!.PreviousVersion.Should().Be(1);
        }
        else
        {
            // The training promotion went first; the manual promote then replaced it, and says so.
            results[1].Change!.PreviousVersion.Should().Be(1);
            results[0].Change!.PreviousVersion.Should().Be(3);
            champion.Version.Should().Be(2);
            champion.Tags[ModelTags.PreviousChampion].Should().Be("3");
            (await store.GetVersionAsync("ctr", 3))!.Tags[ModelTags.PreviousChampion].Should().Be("1");
        }
    }

    private static async Task<(ChampionChange? Change, Exception? Failure)> Settle(Task<ChampionChange> move)
    {
        try
        {
            return (await move, null);
        }
        catch (Exception ex)
        {
            return (null, ex);
        }
    }

    private string Log(int seed) => _dir.Write(
        $"day{seed}.tsv",
        string.Join('\n', SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 20_000, Seed = seed }).Select(i => i.Line)));
}
