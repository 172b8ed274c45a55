using System.Globalization;
using System.IO.Abstractions;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using CtrFallback.Store;
using Microsoft.Extensions.Options;
using CtrFallback.Promotion;
using CtrFallback.Training;

namespace CtrFallback.Tests;

/// <summary>
/// Promotions that never half-happen, for any store: each store call of a promote, a rollback and a training promotion
/// fails in turn (before it reached the store, or after the store did it and the answer was lost); afterwards the move
/// is complete, or the champion and its tags are as they were and history still rolls back to the right version.
/// </summary>
public abstract class PromotionFaultContract : IAsyncLifetime
{
    private const string Alias = ModelAliases.Champion;

    /// <summary>The store under test; every call within one test returns the same backend.</summary>
    protected abstract Task<IModelStore> CreateStoreAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    internal static ChampionManager Manager(IModelStore store, string model) => new(
        store,
        new SucceedingTrigger(),
        Options.Create(new CtrFallbackOptions { ModelName = model }),
        TimeProvider.System,
        new TrainingTelemetry());

    /// <summary>Versions 1, 2 and 3; 1 promoted, then 2 (so 2 is champion and rolls back to 1).</summary>
    internal static async Task ArrangeAsync(IModelStore store, string model)
    {
        for (var i = 1; i <= 3; i++)
        {
            await store.RegisterAsync(new ModelRegistration(model, Encoding.UTF8.GetBytes($"artifact {i}")));
        }

        var manager = Manager(store, model);
        await manager.PromoteAsync(1);
        await manager.PromoteAsync(2);
    }

    internal static Task<ChampionChange> MoveAsync(IChampionManager manager, string move) => move switch
    {
        "promote" => manager.PromoteAsync(3),
        "rollback" => manager.RollbackAsync(),
        _ => manager.PromoteCandidateAsync(previousChampion: 2, version: 3),
    };

    /// <summary>Checks the store after a move that failed or completed; returns which.</summary>
    internal static async Task<string> AssertWholeAsync(IModelStore store, string model, string move, ModelVersion championBefore, ChampionChange? change, Exception? failure)
    {
        var target = move == "rollback" ? 1 : 3;
        var champion = await store.GetVersionByAliasAsync(model, Alias);
        if (failure is null)
        {
            champion!.Version.Should().Be(target);
            change!.Version.Version.Should().Be(target);
            change.PreviousVersion.Should().Be(2);
            var moved = (await store.GetVersionAsync(model, target))!;
            DateTimeOffset.TryParse(moved.Tags[ModelTags.PromotedAt], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _).Should().BeTrue();
            moved.Tags[ModelTags.RolledBack].Should().Be("false");
            if (move == "rollback")
            {
                moved.Tags[ModelTags.PreviousChampion].Should().Be(ChampionManager.NoPreviousChampion, "a rollback keeps its target's history");
                (await store.GetVersionAsync(model, 2))!.Tags[ModelTags.RolledBack].Should().Be("true");
            }
            else
            {
                moved.Tags[ModelTags.PreviousChampion].Should().Be("2");
                (await Manager(store, model).RollbackAsync()).Version.Version.Should().Be(2, "history leads back to the champion replaced");
            }

            return "completed";
        }

        failure.Should().BeAssignableTo<ModelStoreException>();
        champion!.Version.Should().Be(2);
        champion.Tags.Should().BeEquivalentTo(championBefore.Tags, "the champion's tags are as they were");

        // Tags left on a version that never became champion do not mislead history.
        (await Manager(store, model).RollbackAsync()).Version.Version.Should().Be(1);
        return "unchanged";
    }

    [Theory]
    [InlineData("promote", false)]
    [InlineData("promote", true)]
    [InlineData("rollback", false)]
    [InlineData("rollback", true)]
    [InlineData("train", false)]
    [InlineData("train", true)]
    public async Task Move_WhenEachStoreCallFailsInTurn_CompletesOrLeavesTheChampionAndItsTagsAsTheyWere(string move, bool afterEffect)
    {
        var inner = await CreateStoreAsync();
        var outcomes = new List<string>();
        for (var call = 1; ; call++)
        {
            var model = $"ctr-{move}-{call}-{Guid.NewGuid():N}"[..40];
            await ArrangeAsync(inner, model);
            var championBefore = (await inner.GetVersionByAliasAsync(model, Alias))!;
            var store = new FaultingModelStore(inner);
            store.FailCall(call, afterEffect);

            ChampionChange? change = null;
            Exception? failure = null;
            try
            {
                change = await MoveAsync(Manager(store, model), move);
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            if (!store.Fired)
            {
                failure.Should().BeNull();
                break;
            }

            outcomes.Add($"{store.Calls[call - 1]}: {await AssertWholeAsync(inner, model, move, championBefore, change, failure)}");
        }

        // Every call was failed once: reads, each tag write, the alias move (and its read-back).
        outcomes.Should().HaveCountGreaterThanOrEqualTo(move == "rollback" ? 7 : 6);
        outcomes.Should().Contain(afterEffect ? "SetAliasAsync: completed" : "SetAliasAsync: unchanged");
        outcomes.Where(o => o.StartsWith("SetVersionTagAsync", StringComparison.Ordinal)).Should().OnlyContain(o => o.EndsWith("unchanged", StringComparison.Ordinal));
    }

    private sealed class SucceedingTrigger : IDeploymentTrigger
    {
        public Task<DeploymentResult> TriggerAsync(DeploymentRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult(new DeploymentResult(DeploymentStatus.Succeeded, "restarted"));
    }
}

/// <summary>The promotion fault matrix on the file store (a real folder), failing calls through a store decorator.</summary>
public sealed class FileStorePromotionFaultTests : PromotionFaultContract, IDisposable
{
    private readonly TempDirectory _dir = new();

    protected override Task<IModelStore> CreateStoreAsync() => Task.FromResult<IModelStore>(
        new FileModelStore(new FileSystem(), Options.Create(new FileModelStoreOptions { Path = _dir.File("store") }), TimeProvider.System));

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The promotion fault matrix on the MLflow store against the loopback MLflow server: through the store decorator, and
/// with the server failing each HTTP call of a promote on every attempt (the default retries exhausted) or committing it
/// and losing the answer.
/// </summary>
public sealed class MLflowStorePromotionFaultTests : PromotionFaultContract
{
    private LoopbackMlflowServer _server = null!;
    private ServiceProvider _services = null!;

    public override async Task InitializeAsync()
    {
        _server = await LoopbackMlflowServer.StartAsync();
        var services = new ServiceCollection();
        services.AddCtrFallback().UseMLflowModelStore(o => (o.TrackingUri, o.RetryDelay) = (_server.Uri, TimeSpan.FromMilliseconds(1)));
        _services = services.BuildServiceProvider();
    }

    public override async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _server.DisposeAsync();
    }

    protected override Task<IModelStore> CreateStoreAsync() => Task.FromResult(_services.GetRequiredService<IModelStore>());

    [Theory]
    [InlineData("promote", "POST model-versions/set-tag", 0)]
    [InlineData("promote", "POST model-versions/set-tag", 1)]
    [InlineData("promote", "POST model-versions/set-tag", 2)]
    [InlineData("promote", "GET registered-models/alias", 1)]
    [InlineData("promote", "POST registered-models/alias", 0)]
    [InlineData("rollback", "GET registered-models/get", 0)]
    [InlineData("rollback", "POST model-versions/set-tag", 2)]
    [InlineData("rollback", "POST registered-models/alias", 0)]
    [InlineData("train", "GET model-versions/get", 0)]
    [InlineData("train", "POST registered-models/alias", 0)]
    public async Task Move_WhenAnMLflowCallFailsOnEveryAttempt_LeavesTheChampionAndItsTagsAsTheyWere(string move, string call, int skip)
    {
        var store = await CreateStoreAsync();
        var model = $"ctr-{Guid.NewGuid():N}"[..20];
        await ArrangeAsync(store, model);
        var championBefore = (await store.GetVersionByAliasAsync(model, ModelAliases.Champion))!;
        _server.FailNext(call, 503, "TEMPORARILY_UNAVAILABLE", times: 4, skip: skip);
        var countBefore = _server.CountOf(call);

        var moving = () => MoveAsync(Manager(store, model), move);

        var failure = (await moving.Should().ThrowAsync<ModelStoreException>()).Which;
        failure.Message.Should().Contain(call.Split(' ')[1]);
        _server.CountOf(call).Should().BeGreaterThanOrEqualTo(countBefore + skip + 4, "the default three retries were spent");
        (await AssertWholeAsync(store, model, move, championBefore, null, failure)).Should().Be("unchanged");
    }

    [Theory]
    [InlineData("promote", "POST model-versions/set-tag", 0)]
    [InlineData("promote", "POST model-versions/set-tag", 2)]
    [InlineData("promote", "POST registered-models/alias", 0)]
    [InlineData("rollback", "POST model-versions/set-tag", 2)]
    [InlineData("rollback", "POST registered-models/alias", 0)]
    [InlineData("train", "POST registered-models/alias", 0)]
    public async Task Move_WhenAnMLflowWriteCommitsButItsAnswerIsLost_CompletesOnTheRetry(string move, string call, int skip)
    {
        var store = await CreateStoreAsync();
        var model = $"ctr-{Guid.NewGuid():N}"[..20];
        await ArrangeAsync(store, model);
        var championBefore = (await store.GetVersionByAliasAsync(model, ModelAliases.Champion))!;
        _server.FailAfterServingNext(call, 502, "BAD_GATEWAY", skip: skip);

        var change = await MoveAsync(Manager(store, model), move);

        (await AssertWholeAsync(store, model, move, championBefore, change, null)).Should().Be("completed");
    }
}
