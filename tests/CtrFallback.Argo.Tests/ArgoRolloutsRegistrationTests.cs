using CtrFallback.Argo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CtrFallback.Tests;

public sealed class ArgoRolloutsRegistrationTests : IAsyncLifetime
{
    private LoopbackKubernetesApiServer _server = null!;
    private TempKubeconfig _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _server = await LoopbackKubernetesApiServer.StartAsync();
        _kubeconfig = new TempKubeconfig(_server.BaseAddress, _server.Token, _server.Namespace);
    }

    public async Task DisposeAsync()
    {
        _kubeconfig.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public void UseArgoRolloutsTrigger_ReplacesTheTriggerRegisteredBefore()
    {
        var services = new ServiceCollection();
        services.TryAddSingleton<IDeploymentTrigger, NoOpTrigger>(); // what Core does
        new Builder(services).UseArgoRolloutsTrigger(Configure);
        services.TryAddSingleton<IDeploymentTrigger, NoOpTrigger>(); // Core called again is harmless

        using var provider = services.BuildServiceProvider(validateScopes: true);

        services.Where(d => d.ServiceType == typeof(IDeploymentTrigger)).Should().ContainSingle();
        provider.GetRequiredService<IDeploymentTrigger>().Should().BeOfType<ArgoRolloutsTrigger>();
        provider.GetServices<IDeploymentTrigger>().Should().ContainSingle();
    }

    [Fact]
    public void UseArgoRolloutsTrigger_KeepsATimeProviderTheApplicationRegistered()
    {
        var services = new ServiceCollection();
        var time = new FakeTimeProvider();
        services.AddSingleton<TimeProvider>(time);
        new Builder(services).UseArgoRolloutsTrigger(Configure);

        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<TimeProvider>().Should().BeSameAs(time);
    }

    [Fact]
    public async Task UseArgoRolloutsTrigger_FromConfiguration_BindsTheKeysTheCliWrites()
    {
        // What `--argo-rollout ctr-inference --argo-namespace ads --kubeconfig F --argo-context loopback
        // --argo-timeout 00:10:00 --no-wait` becomes.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["CtrFallback:Argo:RolloutName"] = "ctr-inference",
                ["CtrFallback:Argo:Namespace"] = "ads",
                ["CtrFallback:Argo:KubeconfigPath"] = _kubeconfig.Path,
                ["CtrFallback:Argo:Context"] = "loopback",
                ["CtrFallback:Argo:Timeout"] = "00:10:00",
                ["CtrFallback:Argo:WaitForCompletion"] = "false",
            })
            .Build();
        var services = new ServiceCollection();
        new Builder(services).UseArgoRolloutsTrigger(configuration.GetSection(ArgoRolloutsOptions.SectionName));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IAsyncStartupValidator>().ValidateAsync();
        var options = provider.GetRequiredService<IOptions<ArgoRolloutsOptions>>().Value;
        var result = await provider.GetRequiredService<IDeploymentTrigger>().TriggerAsync(new DeploymentRequest("ctr", 2, "champion"));

        options.Should().BeEquivalentTo(new
        {
            RolloutName = "ctr-inference",
            Namespace = "ads",
            KubeconfigPath = _kubeconfig.Path,
            Context = "loopback",
            Timeout = TimeSpan.FromMinutes(10),
            WaitForCompletion = false,
        });
        result.Status.Should().Be(DeploymentStatus.Requested, result.Message);
        _server.Requests.Should().ContainSingle().Which.Method.Should().Be("PATCH");
    }

    [Fact]
    public void UseArgoRolloutsTrigger_FromEnvironmentStyleKeys_BindsTheSameOptions()
    {
        // Kubernetes manifests set CtrFallback__Argo__Namespace; the environment provider turns __ into ':'.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["CtrFallback__Argo__Namespace".Replace("__", ":", StringComparison.Ordinal)] = "ads",
                ["CtrFallback__Argo__RolloutName".Replace("__", ":", StringComparison.Ordinal)] = "ctr-inference",
                ["CtrFallback:Argo:KubeconfigPath"] = _kubeconfig.Path,
                ["CtrFallback:Argo:PollInterval"] = "00:00:02",
            })
            .Build();
        var services = new ServiceCollection();
        new Builder(services).UseArgoRolloutsTrigger(configuration.GetSection(ArgoRolloutsOptions.SectionName));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ArgoRolloutsOptions>>().Value;

        options.Namespace.Should().Be("ads");
        options.RolloutName.Should().Be("ctr-inference");
        options.PollInterval.Should().Be(TimeSpan.FromSeconds(2));
        options.WaitForCompletion.Should().BeTrue("waiting is the default");
        options.Timeout.Should().Be(TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Options_WithoutNamespaceAndRolloutName_FailAtStartup()
    {
        var error = await ValidateAtStartupAsync(o =>
        {
            o.KubeconfigPath = _kubeconfig.Path;
        });

        error.Should().Contain("Namespace").And.Contain("RolloutName");
    }

    [Fact]
    public async Task Options_WithAMissingKubeconfigFile_FailAtStartup()
    {
        var error = await ValidateAtStartupAsync(o =>
        {
            Configure(o);
            o.KubeconfigPath = Path.Combine(Path.GetTempPath(), "no-such-dir", "kubeconfig");
        });

        error.Should().Contain("KubeconfigPath").And.Contain("does not exist");
    }

    [Fact]
    public async Task Options_WithAContextTheKubeconfigLacks_FailAtStartup()
    {
        var error = await ValidateAtStartupAsync(o =>
        {
            Configure(o);
            o.Context = "prod-eu";
        });

        error.Should().Contain("context 'prod-eu'");
    }

    [Fact]
    public async Task Options_WithoutKubeconfigOutsideACluster_FailAtStartupAndSayWhatToSet()
    {
        if (k8s.KubernetesClientConfiguration.IsInCluster())
        {
            return; // Inside a pod the service account is a valid choice.
        }

        var error = await ValidateAtStartupAsync(o =>
        {
            o.Namespace = "ads";
            o.RolloutName = "ctr-inference";
        });

        error.Should().Contain("not running in a Kubernetes pod").And.Contain("KubeconfigPath");
    }

    [Fact]
    public async Task Options_WithAPollIntervalLongerThanTheTimeout_FailAtStartup()
    {
        var error = await ValidateAtStartupAsync(o =>
        {
            Configure(o);
            o.Timeout = TimeSpan.FromSeconds(5);
            o.PollInterval = TimeSpan.FromSeconds(10);
        });

        error.Should().Contain("PollInterval").And.Contain("must not exceed Timeout");
    }

    [Fact]
    public void Options_HaveTheDocumentedDefaults()
    {
        var options = new ArgoRolloutsOptions();

        options.WaitForCompletion.Should().BeTrue();
        options.Timeout.Should().Be(TimeSpan.FromMinutes(10));
        options.PollInterval.Should().Be(TimeSpan.FromSeconds(5));
        options.KubeconfigPath.Should().BeNull();
        options.Context.Should().BeNull();
    }

    private void Configure(ArgoRolloutsOptions options)
    {
        options.Namespace = _server.Namespace;
        options.RolloutName = _server.RolloutName;
        options.KubeconfigPath = _kubeconfig.Path;
        options.Context = _kubeconfig.Context;
    }

    private static async Task<string> ValidateAtStartupAsync(Action<ArgoRolloutsOptions> configure)
    {
        var services = new ServiceCollection();
        new Builder(services).UseArgoRolloutsTrigger(configure);
        await using var provider = services.BuildServiceProvider();

        // What the host runs at start-up because of ValidateOnStart.
        var validate = () => provider.GetRequiredService<IAsyncStartupValidator>().ValidateAsync();

        return (await validate.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
    }

    private sealed class Builder(IServiceCollection services) : ICtrFallbackBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    private sealed class NoOpTrigger : IDeploymentTrigger
    {
        public Task<DeploymentResult> TriggerAsync(DeploymentRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult(new DeploymentResult(DeploymentStatus.Skipped, "no-op"));
    }
}
