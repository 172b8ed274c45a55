using CtrFallback.Testing;

namespace CtrFallback.Tests;

/// <summary>The serving tests' store double keeps the same promises as the real stores.</summary>
public sealed class InMemoryModelStoreContractTests : ModelStoreContract
{
    private readonly InMemoryModelStore _store = new();

    protected override Task<IModelStore> CreateStoreAsync() => Task.FromResult<IModelStore>(_store);

    protected override Task CorruptArtifactAsync(IModelStore store, string modelName, int version)
    {
        ((InMemoryModelStore)store).CorruptArtifact(modelName, version);
        return Task.CompletedTask;
    }
}
