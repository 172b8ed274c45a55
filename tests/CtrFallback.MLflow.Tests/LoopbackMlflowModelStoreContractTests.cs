using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Tests;

/// <summary>The <see cref="IModelStore"/> contract, run against the MLflow store talking to <see cref="LoopbackMlflowServer"/>.</summary>
public sealed class LoopbackMlflowModelStoreContractTests : ModelStoreContract, IAsyncLifetime
{
    private LoopbackMlflowServer _server = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _server = await LoopbackMlflowServer.StartAsync();
        _services = MLflowStoreHost.Build(_server.Uri);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _server.DisposeAsync();
    }

    protected override Task<IModelStore> CreateStoreAsync() => Task.FromResult(_services.GetRequiredService<IModelStore>());

    protected override Task CorruptArtifactAsync(IModelStore store, string modelName, int version) =>
        MLflowStoreHost.CorruptArtifactAsync(_server.Uri, modelName, version);
}
