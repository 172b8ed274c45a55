using System.Security.Cryptography;
using System.Text;
using CtrFallback.MLflow;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests;

/// <summary>
/// Registry writes that happen once, against the real MLflow at <c>CTRFALLBACK_MLFLOW_URI</c> (every test skipped,
/// visibly, when it is not set): the store talks to it through <see cref="MlflowFaultProxy"/>, which forwards each
/// create (so MLflow commits it) and then loses the reply (a proxy's 502 page, or a reset connection); the store runs
/// with the default retry settings. Afterwards the real server, asked directly, holds exactly one of the thing.
/// <see cref="MLflowCreateOnceTests"/> is the same idea against the loopback server, in CI.
/// </summary>
public sealed class RealMlflowCreateOnceTests
{
    private static readonly MLflowModelStoreOptions Defaults = new();

    // Unique per test: the real server keeps what earlier runs of these tests left.
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];

    private string Model => $"ctr-create-once-{_suffix}";

    private string Experiment => $"ctrfallback-create-once-{_suffix}";

    [SkippableTheory]
    [InlineData("502")]
    [InlineData("reset")]
    public async Task Register_WhenTheProxyLosesTheReplyOfTheFirstModelVersionCreate_RealMlflowHoldsExactlyOneCompleteVersionAndTheAliasPointsAtIt(string fault)
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment);
        setup.Proxy.LoseReplyOfNext("POST model-versions/create", fault);
        var registration = Registration();

        var registered = await setup.Store.RegisterAsync(registration);
        await setup.Store.SetAliasAsync(Model, ModelAliases.Champion, registered.Version);

        var versions = await setup.Mlflow.VersionsAsync($"name='{Model}'");
        var version = versions.Should().ContainSingle("one registration is one version").Subject;
        version.Number.Should().Be(registered.Version);
        version.Status.Should().Be("READY");
        (await setup.Mlflow.VersionsAsync($"run_id='{version.RunId}'")).Should().ContainSingle("no orphan version of the same run");
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(registration.Artifact.Span));
        version.Tags.Should().Contain(ModelTags.ArtifactSha256, sha256);
        registered.ArtifactSha256.Should().Be(sha256);
        (await setup.Mlflow.ArtifactAsync($"{version.Source}/{MLflowModelStore.ArtifactFileName}")).Should().Equal(registration.Artifact.ToArray());
        (await setup.Mlflow.AliasAsync(Model, ModelAliases.Champion)).Should().Be(version.Number);
        await ShouldHoldOneFinishedRunAsync(setup, version.RunId);
        setup.Proxy.CountOf("GET model-versions/search").Should().Be(1, "the reply was lost, so the retry looked for what MLflow had committed");
        setup.Proxy.CountOf("POST model-versions/create").Should().Be(1, "the retry found the committed version by run id and SHA-256 instead of creating it again");
    }

    [SkippableTheory]
    [InlineData("502")]
    [InlineData("reset")]
    public async Task Register_WhenTheProxyLosesTheReplyOfTheExperimentCreate_RealMlflowHoldsThatOneExperiment(string fault)
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment);
        setup.Proxy.LoseReplyOfNext("POST experiments/create", fault);

        var registered = await setup.Store.RegisterAsync(Registration());

        (await setup.Mlflow.ExperimentsNamedAsync(Experiment)).Should().ContainSingle();
        var version = (await setup.Mlflow.VersionsAsync($"name='{Model}'")).Should().ContainSingle().Subject;
        version.Number.Should().Be(registered.Version);
        await ShouldHoldOneFinishedRunAsync(setup, version.RunId);

        // MLflow refuses a second experiment of the same name, so only the calls show whether the store created it twice.
        setup.Proxy.CountOf("GET experiments/get-by-name").Should().Be(2, "the first look-up found nothing; the retry looked again and found what the lost create committed");
        setup.Proxy.CountOf("POST experiments/create").Should().Be(1, "the retry looked the experiment up by name first");
    }

    [SkippableTheory]
    [InlineData("502")]
    [InlineData("reset")]
    public async Task Register_WhenTheProxyLosesTheReplyOfTheRunCreate_RealMlflowHoldsOneRunFoundByItsRegistrationIdTag(string fault)
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment);
        setup.Proxy.LoseReplyOfNext("POST runs/create", fault);

        var registered = await setup.Store.RegisterAsync(Registration());

        var version = (await setup.Mlflow.VersionsAsync($"name='{Model}'")).Should().ContainSingle().Subject;
        version.Number.Should().Be(registered.Version);
        await ShouldHoldOneFinishedRunAsync(setup, version.RunId);
        setup.Proxy.CountOf("POST runs/create").Should().Be(1);
        setup.Proxy.CountOf("POST runs/search").Should().Be(1, "the retry searched by the registration id tag (a backtick filter) and found the run");
    }

    [SkippableTheory]
    [InlineData("502")]
    [InlineData("reset")]
    public async Task Register_WhenTheProxyLosesTheReplyOfTheRegisteredModelCreate_RealMlflowHoldsThatOneModelWithOneVersion(string fault)
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment);
        setup.Proxy.LoseReplyOfNext("POST registered-models/create", fault);

        var registered = await setup.Store.RegisterAsync(Registration());

        (await setup.Mlflow.RegisteredModelsNamedAsync(Model)).Should().ContainSingle();
        (await setup.Mlflow.VersionsAsync($"name='{Model}'")).Select(v => v.Number).Should().Equal(registered.Version);

        // MLflow refuses a second model of the same name, so only the calls show whether the store created it twice.
        setup.Proxy.CountOf("GET registered-models/get").Should().Be(2, "the first look-up found nothing; the retry found what the lost create committed");
        setup.Proxy.CountOf("POST registered-models/create").Should().Be(1);
    }

    [SkippableTheory]
    [InlineData("502")]
    [InlineData("reset")]
    public async Task SetAlias_WhenTheProxyLosesItsReply_RealMlflowPointsTheAliasAtTheNewVersion(string fault)
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment);
        var first = await setup.Store.RegisterAsync(Registration());
        var second = await setup.Store.RegisterAsync(Registration());
        await setup.Store.SetAliasAsync(Model, ModelAliases.Champion, first.Version);
        setup.Proxy.LoseReplyOfNext("POST registered-models/alias", fault);

        await setup.Store.SetAliasAsync(Model, ModelAliases.Champion, second.Version);

        setup.Proxy.CountOf("POST registered-models/alias").Should().Be(3, "the first move, the committed attempt and its retry");
        (await setup.Mlflow.AliasAsync(Model, ModelAliases.Champion)).Should().Be(second.Version);
        (await setup.Mlflow.VersionsAsync($"name='{Model}'")).Select(v => v.Number).Should().Equal(first.Version, second.Version);
    }

    [SkippableFact]
    public async Task Register_WhenTheProxyNeverAnswersTheFirstModelVersionCreate_RealMlflowHoldsExactlyOneVersionAfterTheTimeout()
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment, timeout: TimeSpan.FromSeconds(3));
        setup.Proxy.StallAfterServingNext("POST model-versions/create");

        var registered = await setup.Store.RegisterAsync(Registration());

        var version = (await setup.Mlflow.VersionsAsync($"name='{Model}'")).Should().ContainSingle().Subject;
        version.Number.Should().Be(registered.Version);
        await ShouldHoldOneFinishedRunAsync(setup, version.RunId);
        setup.Proxy.CountOf("POST model-versions/create").Should().Be(1);
    }

    [SkippableFact]
    public async Task Register_WhenEveryCreateLosesItsReplyBehindTheProxy_RealMlflowHoldsEachThingOnce()
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment);
        foreach (var call in new[] { "POST experiments/create", "POST runs/create", "POST registered-models/create", "POST model-versions/create" })
        {
            setup.Proxy.LoseReplyOfNext(call, "502");
        }

        var registered = await setup.Store.RegisterAsync(Registration());

        (await setup.Mlflow.ExperimentsNamedAsync(Experiment)).Should().ContainSingle();
        (await setup.Mlflow.RegisteredModelsNamedAsync(Model)).Should().ContainSingle();
        var version = (await setup.Mlflow.VersionsAsync($"name='{Model}'")).Should().ContainSingle().Subject;
        version.Number.Should().Be(registered.Version);
        version.Tags.Should().Contain(ModelTags.ArtifactSha256, registered.ArtifactSha256);
        await ShouldHoldOneFinishedRunAsync(setup, version.RunId);
    }

    /// <summary>
    /// The run lookup's filter (a tag key with dots, quoted in backticks) as MLflow's own parser takes it: a server that
    /// rejected the syntax would answer 400 and the lost-reply retry of <c>runs/create</c> would fail the registration.
    /// </summary>
    [SkippableFact]
    public async Task RunSearch_TheRegistrationIdFilterTheStoreSends_IsAcceptedByRealMlflowAndMatchesOnlyThatRun()
    {
        await using var setup = await ProxiedStore.StartAsync(Experiment);
        await setup.Store.RegisterAsync(Registration());
        await setup.Store.RegisterAsync(Registration());
        var experimentId = (await setup.Mlflow.ExperimentsNamedAsync(Experiment)).Single()["experiment_id"]!.GetValue<string>();
        var runs = await setup.Mlflow.RunsOfAsync(experimentId);
        runs.Should().HaveCount(2);
        var run = runs[0];
        var registrationId = run["data"]!["tags"]!.AsArray().Single(t => t!["key"]!.GetValue<string>() == MLflowModelStore.RegistrationIdTag)!["value"]!.GetValue<string>();

        var found = await setup.Mlflow.SearchRunsAsync(experimentId, MLflowModelStore.RegistrationIdFilter(registrationId));
        var none = await setup.Mlflow.SearchRunsAsync(experimentId, MLflowModelStore.RegistrationIdFilter(Guid.NewGuid().ToString("N")));

        found.Select(r => r["info"]!["run_id"]!.GetValue<string>()).Should().Equal(run["info"]!["run_id"]!.GetValue<string>());
        none.Should().BeEmpty();
    }

    private ModelRegistration Registration() =>
        new(Model, Encoding.UTF8.GetBytes($"model bytes {Guid.NewGuid():N}"), Tags: new Dictionary<string, string> { ["team"] = "fallback" });

    private async Task ShouldHoldOneFinishedRunAsync(ProxiedStore setup, string runId)
    {
        var experiment = (await setup.Mlflow.ExperimentsNamedAsync(Experiment)).Should().ContainSingle().Subject;
        var runs = await setup.Mlflow.RunsOfAsync(experiment["experiment_id"]!.GetValue<string>());
        var run = runs.Should().ContainSingle("one registration is one run").Subject;
        run["info"]!["run_id"]!.GetValue<string>().Should().Be(runId);
        run["info"]!["status"]!.GetValue<string>().Should().Be("FINISHED");
    }

    /// <summary>The real server, the proxy in front of it, and the store (default retry settings) talking to the proxy.</summary>
    private sealed class ProxiedStore : IAsyncDisposable
    {
        private readonly ServiceProvider _services;

        private ProxiedStore(MlflowFaultProxy proxy, ServiceProvider services, RealMlflow mlflow)
        {
            Proxy = proxy;
            _services = services;
            Mlflow = mlflow;
            Store = services.GetRequiredService<IModelStore>();
        }

        public MlflowFaultProxy Proxy { get; }

        public IModelStore Store { get; }

        /// <summary>The real server, asked directly.</summary>
        public RealMlflow Mlflow { get; }

        /// <param name="experiment">The store's experiment name.</param>
        /// <param name="timeout">The per-attempt timeout, when a test waits for it; the default otherwise.</param>
        public static async Task<ProxiedStore> StartAsync(string experiment, TimeSpan? timeout = null)
        {
            var trackingUri = RealMlflow.RequireTrackingUri();
            var proxy = await MlflowFaultProxy.StartAsync(trackingUri);
            var services = MLflowStoreHost.Build(proxy.Uri, o =>
            {
                o.ExperimentName = experiment;
                o.RetryDelay = Defaults.RetryDelay;
                o.Timeout = timeout ?? Defaults.Timeout;
            });
            var options = services.GetRequiredService<IOptions<MLflowModelStoreOptions>>().Value;
            (options.RetryCount, options.RetryDelay).Should().Be((Defaults.RetryCount, Defaults.RetryDelay), "these tests are about the default retry settings");
            return new ProxiedStore(proxy, services, new RealMlflow(trackingUri));
        }

        public async ValueTask DisposeAsync()
        {
            await _services.DisposeAsync();
            await Proxy.DisposeAsync();
            Mlflow.Dispose();
        }
    }
}
