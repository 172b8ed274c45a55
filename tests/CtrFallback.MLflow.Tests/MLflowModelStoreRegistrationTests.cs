using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests;

/// <summary>How <c>UseMLflowModelStore</c> registers the store and its options.</summary>
public sealed class MLflowModelStoreRegistrationTests
{
    [Fact]
    public void UseMLflowModelStore_ReplacesAStoreRegisteredBefore()
    {
        var services = new ServiceCollection();
        services.TryAddSingleton<IModelStore, UnusedModelStore>();

        new TestCtrFallbackBuilder(services).UseMLflowModelStore(o => o.TrackingUri = new Uri("http://127.0.0.1:5000"));
        services.TryAddSingleton<IModelStore, UnusedModelStore>();
        using var provider = services.BuildServiceProvider();

        provider.GetServices<IModelStore>().Should().ContainSingle().Which.GetType().Name.Should().Be("MLflowModelStore");
    }

    [Fact]
    public void UseMLflowModelStore_BindsOptionsFromTheConfigurationSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CtrFallback:MLflow:TrackingUri"] = "https://mlflow.example.com/",
            ["CtrFallback:MLflow:ExperimentName"] = "ctr-prod",
            ["CtrFallback:MLflow:Token"] = "abc",
            ["CtrFallback:MLflow:Timeout"] = "00:00:05",
            ["CtrFallback:MLflow:RetryCount"] = "5",
        }).Build();
        var services = new ServiceCollection();

        new TestCtrFallbackBuilder(services).UseMLflowModelStore(configuration.GetSection(MLflowModelStoreOptions.SectionName));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<MLflowModelStoreOptions>>().Value;

        options.TrackingUri.Should().Be(new Uri("https://mlflow.example.com/"));
        options.ExperimentName.Should().Be("ctr-prod");
        options.Token.Should().Be("abc");
        options.Timeout.Should().Be(TimeSpan.FromSeconds(5));
        options.RetryCount.Should().Be(5);
    }

    [Fact]
    public void UseMLflowModelStore_DefaultsTheExperimentNameToCtrfallback()
    {
        var services = new ServiceCollection();

        new TestCtrFallbackBuilder(services).UseMLflowModelStore(o => o.TrackingUri = new Uri("http://127.0.0.1:5000"));
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<MLflowModelStoreOptions>>().Value.ExperimentName.Should().Be("ctrfallback");
    }

    [Fact]
    public async Task StartupValidation_FailsWithAClearMessage_WhenOptionsAreInvalid()
    {
        var services = new ServiceCollection();
        new TestCtrFallbackBuilder(services).UseMLflowModelStore(o =>
        {
            o.TrackingUri = new Uri("ftp://mlflow/");
            o.Username = "ada";
        });
        using var provider = services.BuildServiceProvider();

        var validate = () => provider.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);

        (await validate.Should().ThrowAsync<OptionsValidationException>())
            .Which.Failures.Should().Contain(f => f.Contains("http or https", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("Username and Password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartupValidation_RejectsANegativeRetryCount()
    {
        var services = new ServiceCollection();
        new TestCtrFallbackBuilder(services).UseMLflowModelStore(o => (o.TrackingUri, o.RetryCount) = (new Uri("http://127.0.0.1:5000"), -1));
        using var provider = services.BuildServiceProvider();

        var validate = () => provider.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);

        await validate.Should().ThrowAsync<OptionsValidationException>().WithMessage("*RetryCount*");
    }

    [SkippableFact]
    public async Task StartupValidation_RequiresATrackingUri_WhenNeitherOptionsNorEnvironmentSetOne()
    {
        Skip.If(Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI") is { Length: > 0 }, "MLFLOW_TRACKING_URI is set in this environment.");
        var services = new ServiceCollection();
        new TestCtrFallbackBuilder(services).UseMLflowModelStore();
        using var provider = services.BuildServiceProvider();

        var validate = () => provider.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);

        await validate.Should().ThrowAsync<OptionsValidationException>().WithMessage("*TrackingUri is required*MLFLOW_TRACKING_URI*");
    }

    private sealed class UnusedModelStore : IModelStore
    {
        public Task<ModelVersion> RegisterAsync(ModelRegistration registration, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ModelVersion?> GetVersionByAliasAsync(string modelName, string alias, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string modelName, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task SetAliasAsync(string modelName, string alias, int version, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task SetVersionTagAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<byte[]> DownloadArtifactAsync(string modelName, int version, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<byte[]?> DownloadAttachmentAsync(string modelName, int version, string fileName, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
