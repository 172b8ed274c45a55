using System.IO.Abstractions.TestingHelpers;
using CtrFallback.Store;
using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Tests.Store;

/// <summary>The <see cref="IModelStore"/> contract, run against the file store on a real temporary folder.</summary>
public sealed class FileModelStoreContractTests : ModelStoreContract, IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly ServiceProvider _services;

    public FileModelStoreContractTests() => _services = FileStoreHost.Build(_root.Path);

    public void Dispose()
    {
        _services.Dispose();
        _root.Dispose();
    }

    protected override Task<IModelStore> CreateStoreAsync() => Task.FromResult(_services.GetRequiredService<IModelStore>());

    protected override Task CorruptArtifactAsync(IModelStore store, string modelName, int version) =>
        File.WriteAllBytesAsync(FileStoreHost.ArtifactPath(_root.Path, modelName, version), "tampered bytes"u8.ToArray());
}

/// <summary>The <see cref="IModelStore"/> contract, run against the file store on TestableIO's in-memory file system.</summary>
public sealed class MockFileSystemFileModelStoreContractTests : ModelStoreContract, IDisposable
{
    private readonly MockFileSystem _fileSystem = new();
    private readonly ServiceProvider _services;

    public MockFileSystemFileModelStoreContractTests() => _services = FileStoreHost.Build("ctrfallback-store", _fileSystem);

    public void Dispose() => _services.Dispose();

    // TestableIO's Directory.Move checks that the target is absent and then moves, two steps another writer can come
    // between, where rename(2) is one: two registrations could both claim a number (seen once in CI). The store claims
    // numbers by that rename; FileModelStoreContractTests runs this test on a real folder.
    protected override string? ConcurrentRegistrationUnsupported =>
        "MockFileSystem's Directory.Move is not atomic; the real-folder contract tests run concurrent registration";

    protected override Task<IModelStore> CreateStoreAsync() => Task.FromResult(_services.GetRequiredService<IModelStore>());

    protected override Task CorruptArtifactAsync(IModelStore store, string modelName, int version)
    {
        var root = ((FileModelStore)store).RootPath;
        _fileSystem.File.WriteAllBytes(
            _fileSystem.Path.Combine(root, modelName, FileModelStore.VersionsFolder, version.ToString(System.Globalization.CultureInfo.InvariantCulture), FileModelStore.ArtifactFileName),
            "tampered bytes"u8.ToArray());
        return Task.CompletedTask;
    }
}
