using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests;

/// <summary>
/// Registry writes that happen once: each create the store sends (experiment, run, registered model, model version,
/// alias) is committed by the loopback server and its reply then lost (a 500 or a reset connection), under the default
/// retry count; afterwards exactly one of the thing exists and the registration returns it.
/// </summary>
public sealed class MLflowCreateOnceTests : IAsyncLifetime
{
    private const string Model = "ctr";
    private LoopbackMlflowServer _server = null!;

    public async Task InitializeAsync() => _server = await LoopbackMlflowServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static ModelRegistration Registration() => new(Model, Encoding.UTF8.GetBytes("model bytes"), Tags: new Dictionary<string, string> { ["team"] = "fallback" });

    /// <summary>The store as an application builds it, retry count left at its default.</summary>
    private static ServiceProvider Build(Uri uri, Action<MLflowModelStoreOptions>? configure = null)
    {
        var services = MLflowStoreHost.Build(uri, configure);
        services.GetRequiredService<IOptions<MLflowModelStoreOptions>>().Value.RetryCount.Should().Be(3, "these tests are about the default retry settings");
        return services;
    }

    [Theory]
    [InlineData("500")]
    [InlineData("reset")]
    public async Task Register_WhenExperimentCreateCommitsAndItsReplyIsLost_FindsThatExperimentInsteadOfCreatingAnother(string fault)
    {
        _server.LoseReplyOfNext("POST experiments/create", fault);
        await using var services = Build(_server.Uri);

        var registered = await services.GetRequiredService<IModelStore>().RegisterAsync(Registration());

        _server.ExperimentNames().Should().Equal("Default", "ctrfallback");
        _server.CountOf("POST experiments/create").Should().Be(1, "the retry looked the experiment up by name first");
        registered.Version.Should().Be(1);
        _server.RunStatuses().Should().Equal("FINISHED");
    }

    [Theory]
    [InlineData("500")]
    [InlineData("reset")]
    public async Task Register_WhenRunCreateCommitsAndItsReplyIsLost_FindsThatRunByItsRegistrationIdAndUsesIt(string fault)
    {
        _server.LoseReplyOfNext("POST runs/create", fault);
        await using var services = Build(_server.Uri);

        var registered = await services.GetRequiredService<IModelStore>().RegisterAsync(Registration());

        _server.RunStatuses().Should().Equal(["FINISHED"], "one run, the one the lost reply created, finished by this registration");
        _server.CountOf("POST runs/create").Should().Be(1);
        _server.CountOf("POST runs/search").Should().Be(1);
        _server.Versions(Model).Should().ContainSingle().Which.Version.Should().Be(registered.Version);
    }

    [Theory]
    [InlineData("500")]
    [InlineData("reset")]
    public async Task Register_WhenRegisteredModelCreateCommitsAndItsReplyIsLost_FindsThatModelInsteadOfCreatingAnother(string fault)
    {
        _server.LoseReplyOfNext("POST registered-models/create", fault);
        await using var services = Build(_server.Uri);

        var registered = await services.GetRequiredService<IModelStore>().RegisterAsync(Registration());

        _server.ModelNames().Should().Equal(Model);
        _server.CountOf("POST registered-models/create").Should().Be(1);
        registered.Version.Should().Be(1);
        _server.VersionCount(Model).Should().Be(1);
    }

    [Theory]
    [InlineData("500")]
    [InlineData("reset")]
    public async Task Register_WhenModelVersionCreateCommitsAndItsReplyIsLost_RegistersExactlyOneVersionAndReturnsIt(string fault)
    {
        _server.LoseReplyOfNext("POST model-versions/create", fault);
        await using var services = Build(_server.Uri);
        var store = services.GetRequiredService<IModelStore>();

        var registered = await store.RegisterAsync(Registration());

        var versions = _server.Versions(Model);
        versions.Should().ContainSingle();
        versions[0].Version.Should().Be(1);
        versions[0].Tags.Should().Contain(ModelTags.ArtifactSha256, registered.ArtifactSha256);
        registered.Version.Should().Be(1);
        registered.Tags.Should().Contain("team", "fallback");
        _server.CountOf("POST model-versions/create").Should().Be(1, "the retry found the committed version by run id and SHA-256");
        _server.CountOf("DELETE model-versions/delete").Should().Be(0);
        _server.RunStatuses().Should().Equal("FINISHED");
        (await store.ListVersionsAsync(Model)).Select(v => v.Version).Should().Equal(1);
    }

    [Fact]
    public async Task Register_WhenModelVersionCreateCommitsAndItsReplyNeverComes_RegistersExactlyOneVersionAfterTheTimeout()
    {
        _server.StallAfterServingNext("POST model-versions/create");
        await using var services = Build(_server.Uri, o => o.Timeout = TimeSpan.FromMilliseconds(500));

        var registered = await services.GetRequiredService<IModelStore>().RegisterAsync(Registration());

        registered.Version.Should().Be(1);
        _server.Versions(Model).Select(v => v.Version).Should().Equal(1);
        _server.CountOf("POST model-versions/create").Should().Be(1);
    }

    [Fact]
    public async Task Register_WhenModelVersionCreateFailsWithoutCommitting_LooksFindsNothingAndCreatesIt()
    {
        await using var services = Build(_server.Uri);
        var store = services.GetRequiredService<IModelStore>();
        _server.FailNext("POST model-versions/create", 503, "TEMPORARILY_UNAVAILABLE");

        var registered = await store.RegisterAsync(Registration());

        registered.Version.Should().Be(1);
        _server.CountOf("POST model-versions/create").Should().Be(2, "nothing was committed, so the retry created it");
        _server.CountOf("GET model-versions/search").Should().Be(1);
        _server.Versions(Model).Should().ContainSingle();
    }

    [Theory]
    [InlineData("500")]
    [InlineData("reset")]
    public async Task SetAlias_WhenItCommitsAndItsReplyIsLost_IsRetriedAndPointsAtTheVersionOnce(string fault)
    {
        await using var services = Build(_server.Uri);
        var store = services.GetRequiredService<IModelStore>();
        await store.RegisterAsync(Registration());
        await store.RegisterAsync(Registration() with { Artifact = "v2"u8.ToArray() });
        await store.SetAliasAsync(Model, ModelAliases.Champion, 1);
        _server.LoseReplyOfNext("POST registered-models/alias", fault);

        await store.SetAliasAsync(Model, ModelAliases.Champion, 2);

        _server.Aliases(Model).Should().Equal(new Dictionary<string, int> { [ModelAliases.Champion] = 2 });
        _server.CountOf("POST registered-models/alias").Should().Be(3, "the first move, the committed attempt and its retry");
        (await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(2);
    }

    [Fact]
    public async Task Register_WhenEveryCreateLosesItsReply_StillCreatesEachThingOnce()
    {
        foreach (var call in new[] { "POST experiments/create", "POST runs/create", "POST registered-models/create", "POST model-versions/create" })
        {
            _server.FailAfterServingNext(call, 502, "BAD_GATEWAY");
        }

        await using var services = Build(_server.Uri);

        var registered = await services.GetRequiredService<IModelStore>().RegisterAsync(Registration());

        registered.Version.Should().Be(1);
        _server.ExperimentNames().Should().Equal("Default", "ctrfallback");
        _server.RunStatuses().Should().Equal("FINISHED");
        _server.ModelNames().Should().Equal(Model);
        _server.Versions(Model).Should().ContainSingle();
    }
}
