using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Tests;

/// <summary>
/// The <see cref="IModelStore"/> contract against a real MLflow tracking server (2.3 or later, started with
/// <c>--serve-artifacts</c>) at <c>CTRFALLBACK_MLFLOW_URI</c>; every test is skipped, visibly, when it is not set.
/// </summary>
public sealed class RealMlflowModelStoreContractTests : ModelStoreContract, IAsyncDisposable
{
    private Uri? _trackingUri;
    private ServiceProvider? _services;

    protected override Task<IModelStore> CreateStoreAsync()
    {
        _trackingUri = RealMlflow.RequireTrackingUri();
        _services = MLflowStoreHost.Build(_trackingUri, o => o.ExperimentName = "ctrfallback-contract-tests");
        return Task.FromResult(_services.GetRequiredService<IModelStore>());
    }

    protected override Task CorruptArtifactAsync(IModelStore store, string modelName, int version) =>
        MLflowStoreHost.CorruptArtifactAsync(_trackingUri!, modelName, version);

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }
}
