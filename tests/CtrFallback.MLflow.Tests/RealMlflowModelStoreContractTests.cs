using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Tests;

/// <summary>
/// The <see cref="IModelStore"/> contract against a real MLflow tracking server (2.3 or later, started with
/// <c>--serve-artifacts</c>) at <c>CTRFALLBACK_MLFLOW_URI</c>; every test is skipped, visibly, when it is not set.
/// </summary>
public sealed class RealMlflowModelStoreContractTests : ModelStoreContract, IAsyncDisposable
{
    private static readonly string? TrackingUri = Environment.GetEnvironmentVariable("CTRFALLBACK_MLFLOW_URI");
    private ServiceProvider? _services;

    protected override Task<IModelStore> CreateStoreAsync()
    {
        Skip.If(string.IsNullOrWhiteSpace(TrackingUri), "CTRFALLBACK_MLFLOW_URI is not set: no real MLflow server to run the contract against.");
        _services = MLflowStoreHost.Build(new Uri(TrackingUri!), o => o.ExperimentName = "ctrfallback-contract-tests");
        return Task.FromResult(_services.GetRequiredService<IModelStore>());
    }

    protected override Task CorruptArtifactAsync(IModelStore store, string modelName, int version) =>
        MLflowStoreHost.CorruptArtifactAsync(new Uri(TrackingUri!), modelName, version);

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }
}
