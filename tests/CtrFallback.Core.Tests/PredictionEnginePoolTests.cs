using CtrFallback.Serving;
using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace CtrFallback.Tests;

public sealed class PoolInput
{
    public float X { get; set; }
}

public sealed class PoolOutput
{
    public float Score { get; set; }
}

public sealed class PredictionEnginePoolTests(ServingModelFixture fixture) : IClassFixture<ServingModelFixture>, IDisposable
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(30);
    private readonly MLContext _ml = new(seed: 0);
    private readonly TempDirectory _directory = new();

    /// <summary>A model that maps X to X / max (min-max normalization fitted on 0 and max), so each max is a distinguishable model.</summary>
    private ITransformer Divider(float max)
    {
        var data = _ml.Data.LoadFromEnumerable(new[] { new PoolInput { X = 0 }, new PoolInput { X = max } });
        return _ml.Transforms.NormalizeMinMax("Score", "X").Fit(data);
    }

    private string SaveDivider(float max, string path)
    {
        var data = _ml.Data.LoadFromEnumerable(Array.Empty<PoolInput>());
        _ml.Model.Save(Divider(max), data.Schema, path);
        return path;
    }

    private static ServiceProvider Provider(Action<PredictionEnginePoolBuilder<PoolInput, PoolOutput>> configure, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        more?.Invoke(services);
        configure(services.AddPredictionEnginePool<PoolInput, PoolOutput>());
        return services.BuildServiceProvider();
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        // Bounded wait for file-system events; asserts the outcome, not how fast it came.
        var deadline = DateTime.UtcNow + Bounded;
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"waited for {what}");
            await Task.Delay(25);
        }
    }

    [Fact]
    public void Predict_RentsAnEnginePredictsAndReturnsIt()
    {
        var loader = new SwitchableLoader(Divider(10));
        using var provider = Provider(b => b.Services.Configure<PredictionEnginePoolOptions<PoolInput, PoolOutput>>(string.Empty, o => o.ModelLoader = loader));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();

        pool.Predict(new PoolInput { X = 5 }).Score.Should().BeApproximately(0.5f, 1e-6f);
        pool.Predict(new PoolInput { X = 2 }).Score.Should().BeApproximately(0.2f, 1e-6f);
        pool.LiveEngineCount(string.Empty).Should().Be(1, "one engine, rented and returned twice");
        pool.GetModel().Should().BeSameAs(loader.GetModel());
    }

    [Fact]
    public void Reload_DisposesTheOldEngines_AndAnEngineRentedBeforeTheSwapNeverJoinsTheNewPool()
    {
        var loader = new SwitchableLoader(Divider(10));
        using var provider = Provider(b => b.Services.Configure<PredictionEnginePoolOptions<PoolInput, PoolOutput>>("m", o => o.ModelLoader = loader));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();
        var first = pool.GetPredictionEngine("m");
        var second = pool.GetPredictionEngine("m");
        var heldAcrossTheSwap = pool.GetPredictionEngine("m");
        pool.ReturnPredictionEngine("m", first);
        pool.ReturnPredictionEngine("m", second);
        pool.LiveEngineCount("m").Should().Be(3);

        loader.Set(Divider(100));

        pool.GenerationOf("m").Should().Be(2);
        pool.LiveEngineCount("m").Should().Be(1, "the idle engines of the old model are disposed at the swap; one is still rented");
        heldAcrossTheSwap.Predict(new PoolInput { X = 5 }).Score.Should().BeApproximately(0.5f, 1e-6f, "an in-flight engine finishes on its old model");
        pool.ReturnPredictionEngine("m", heldAcrossTheSwap);
        pool.LiveEngineCount("m").Should().Be(0, "an engine of a replaced model is disposed on return");

        var fresh = pool.GetPredictionEngine("m");
        fresh.Should().NotBeSameAs(heldAcrossTheSwap).And.NotBeSameAs(first).And.NotBeSameAs(second);
        fresh.Predict(new PoolInput { X = 5 }).Score.Should().BeApproximately(0.05f, 1e-6f, "the new pool serves the new model");
        pool.ReturnPredictionEngine("m", fresh);

        for (var reload = 0; reload < 20; reload++)
        {
            var a = pool.GetPredictionEngine("m");
            var b = pool.GetPredictionEngine("m");
            loader.Set(Divider(100 + reload));
            pool.ReturnPredictionEngine("m", a);
            pool.ReturnPredictionEngine("m", b);
            pool.Predict("m", new PoolInput { X = 1 });
        }

        pool.LiveEngineCount("m").Should().Be(1, "twenty reloads leave only the current model's one idle engine");
    }

    [Fact]
    public void Reload_DoesNotDisposeTheSharedModel()
    {
        var model = Divider(10);
        var loader = new SwitchableLoader(model);
        using var provider = Provider(b => b.Services.Configure<PredictionEnginePoolOptions<PoolInput, PoolOutput>>(string.Empty, o => o.ModelLoader = loader));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();
        var engine = pool.GetPredictionEngine();
        pool.ReturnPredictionEngine(engine);

        loader.Set(Divider(20));
        loader.Set(model);

        pool.Predict(new PoolInput { X = 5 }).Score.Should().BeApproximately(0.5f, 1e-6f, "disposing engines must leave their model usable");
    }

    [Fact]
    public async Task NamedPools_FirstUsedConcurrently_CreateOneLoaderEach()
    {
        var created = 0;
        var model = Divider(10);
        using var provider = Provider(b => b.Services.AddOptions<PredictionEnginePoolOptions<PoolInput, PoolOutput>>("a").Configure(o =>
        {
            Interlocked.Increment(ref created);
            Thread.Sleep(50);
            o.ModelLoader = new SwitchableLoader(model);
        }));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();
        using var start = new Barrier(8);

        var scores = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return pool.Predict("a", new PoolInput { X = 1 }).Score;
        })));

        created.Should().Be(1);
        scores.Should().AllSatisfy(s => s.Should().BeApproximately(0.1f, 1e-6f));
        pool.Invoking(p => p.GetModel("unknown")).Should().Throw<InvalidOperationException>().WithMessage("*unknown*");
    }

    [Fact]
    public async Task FromFile_WhenANewFileIsRenamedOverTheModel_Reloads()
    {
        var path = SaveDivider(10, _directory.File("model.zip"));
        using var provider = Provider(b => b.FromFile("m", path));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();
        pool.Predict("m", new PoolInput { X = 5 }).Score.Should().BeApproximately(0.5f, 1e-6f);

        // The atomic way to publish a file: write beside it, then rename over it (no Changed event on the target).
        var staged = SaveDivider(100, _directory.File(".model.zip.tmp"));
        File.Move(staged, path, overwrite: true);

        await Until(() => Math.Abs(pool.Predict("m", new PoolInput { X = 5 }).Score - 0.05f) < 1e-6f, "the renamed-over file to be loaded");
    }

    [Fact]
    public async Task FromFile_WhenAConfigMapStyleSymlinkIsSwapped_Reloads()
    {
        // Kubernetes ConfigMap layout: model.zip -> ..data/model.zip, ..data -> ..2026_a; an update swaps ..data.
        var root = _directory.Path;
        Directory.CreateDirectory(Path.Combine(root, "..2026_a"));
        Directory.CreateDirectory(Path.Combine(root, "..2026_b"));
        SaveDivider(10, Path.Combine(root, "..2026_a", "model.zip"));
        SaveDivider(100, Path.Combine(root, "..2026_b", "model.zip"));
        File.CreateSymbolicLink(Path.Combine(root, "..data"), "..2026_a");
        File.CreateSymbolicLink(Path.Combine(root, "model.zip"), Path.Combine("..data", "model.zip"));
        using var provider = Provider(b => b.FromFile(Path.Combine(root, "model.zip")));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();
        pool.Predict(new PoolInput { X = 5 }).Score.Should().BeApproximately(0.5f, 1e-6f);

        File.CreateSymbolicLink(Path.Combine(root, "..data_tmp"), "..2026_b");
        RenameOver(Path.Combine(root, "..data_tmp"), Path.Combine(root, "..data"));

        await Until(() => Math.Abs(pool.Predict(new PoolInput { X = 5 }).Score - 0.05f) < 1e-6f, "the swapped symlink to be followed");
    }

    [Fact]
    public async Task ReloadAsync_OnDemand_LoadsTheFileEvenWhenNotWatching()
    {
        var path = SaveDivider(10, _directory.File("model.zip"));
        using var provider = Provider(b => b.FromFile(path, watchForChanges: false));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();
        pool.Predict(new PoolInput { X = 5 }).Score.Should().BeApproximately(0.5f, 1e-6f);
        SaveDivider(100, path);

        await pool.ReloadAsync();

        pool.Predict(new PoolInput { X = 5 }).Score.Should().BeApproximately(0.05f, 1e-6f);
    }

    [Fact]
    public async Task FromModelStore_FollowsTheAlias_OnDemand()
    {
        var store = new InMemoryModelStore();
        var (provider, pool, first) = await FollowingStoreAsync(store);
        using var owned = provider;
        await store.RegisterAsync("ctr", fixture.Second);
        await pool.ReloadAsync("ctr");
        var second = pool.GetModel("ctr");
        await pool.ReloadAsync("ctr");

        second.Should().NotBeSameAs(first);
        pool.GetModel("ctr").Should().BeSameAs(second, "an unmoved alias is not downloaded again");
        store.Downloads.Should().Be(2);
        provider.GetRequiredService<IOptions<MLOptions>>().Value.MLContext.Should().BeSameAs(provider.GetRequiredService<IOptions<MLOptions>>().Value.MLContext);
    }

    [Fact]
    public async Task FromModelStore_WhenTheNewVersionIsCorrupt_KeepsServingTheOldOneAndDoesNotRetryIt()
    {
        // The pool follows through the same follower as ICtrPredictor: a version that cannot be loaded never replaces
        // a sound one, and is not downloaded again at every poll.
        var store = new InMemoryModelStore();
        var (provider, pool, first) = await FollowingStoreAsync(store);
        using var owned = provider;

        await store.RegisterAsync("ctr", "not a model artifact"u8.ToArray());
        await pool.ReloadAsync("ctr");
        await pool.ReloadAsync("ctr");

        pool.GetModel("ctr").Should().BeSameAs(first);
        store.Downloads.Should().Be(2, "the corrupt version is remembered as rejected");
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>A pool whose "ctr" model follows the store's champion (checked only on demand), loaded with the fixture's first model.</summary>
    private async Task<(ServiceProvider Provider, PredictionEnginePool<PoolInput, PoolOutput> Pool, ITransformer First)> FollowingStoreAsync(InMemoryModelStore store)
    {
        await store.RegisterAsync("ctr", fixture.First);
        var provider = Provider(b => b.FromModelStore("ctr", period: TimeSpan.FromHours(1)), s => s.AddSingleton<IModelStore>(store));
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();
        await pool.ReloadAsync("ctr");
        return (provider, pool, pool.GetModel("ctr"));
    }

    /// <summary>rename(2) of a symlink over another, as kubelet does (File.Move follows the link and refuses directories).</summary>
    private static void RenameOver(string source, string target)
    {
        using var mv = System.Diagnostics.Process.Start("mv", ["-Tf", source, target])!;
        mv.WaitForExit(10_000).Should().BeTrue();
        mv.ExitCode.Should().Be(0);
    }

    /// <summary>A loader whose model the test sets; each set fires the reload token.</summary>
    private sealed class SwitchableLoader(ITransformer model) : ModelLoader
    {
        private CancellationTokenSource _changed = new();
        private ITransformer _model = model;

        public override IChangeToken GetReloadToken() => new CancellationChangeToken(_changed.Token);

        public override ITransformer GetModel() => _model;

        public void Set(ITransformer model)
        {
            _model = model;
            var fired = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
            fired.Cancel();
        }
    }
}

public sealed class UriModelLoaderTests : IDisposable
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(30);
    private readonly MLContext _ml = new(seed: 0);

    private byte[] DividerBytes(float max)
    {
        var data = _ml.Data.LoadFromEnumerable(new[] { new PoolInput { X = 0 }, new PoolInput { X = max } });
        using var stream = new MemoryStream();
        _ml.Model.Save(_ml.Transforms.NormalizeMinMax("Score", "X").Fit(data), data.Schema, stream);
        return stream.ToArray();
    }

    [Fact]
    public async Task FromUri_WithoutETags_KeepsPollingOnTheTimer_AndReloadsWhenTheBytesChange()
    {
        var server = new ModelServingHandler { Model = DividerBytes(10) };
        var time = new TimerWatchingTimeProvider();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddPredictionEnginePool<PoolInput, PoolOutput>().FromUri("m", new Uri("http://models.test/ctr.zip"), TimeSpan.FromMinutes(5));
        services.AddHttpClient("CtrFallback.ModelLoader").ConfigurePrimaryHttpMessageHandler(() => server);
        using var provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<PoolInput, PoolOutput>>();

        await pool.ReloadAsync("m");
        pool.Predict("m", new PoolInput { X = 5 }).Score.Should().BeApproximately(0.5f, 1e-6f);
        await Until(() => time.TimersCreated >= 1 && server.Requests >= 1);
        var requests = server.Requests;

        server.Model = DividerBytes(100);
        time.Advance(TimeSpan.FromMinutes(5));
        await Until(() => Math.Abs(pool.Predict("m", new PoolInput { X = 5 }).Score - 0.05f) < 1e-6f);
        server.Requests.Should().BeGreaterThan(requests, "a server without ETags is still polled");
        server.SawConditionalRequest.Should().BeFalse("there was no ETag to send back");
    }

    public void Dispose()
    {
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bounded;
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline);
            await Task.Delay(20);
        }
    }

    /// <summary>Answers every GET with the current model bytes and no ETag, like a plain static file server without caching headers.</summary>
    private sealed class ModelServingHandler : HttpMessageHandler
    {
        private int _requests;

        public volatile byte[] Model = [];

        public volatile bool SawConditionalRequest;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            SawConditionalRequest |= request.Headers.IfNoneMatch.Count > 0;
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(Model) });
        }
    }
}
