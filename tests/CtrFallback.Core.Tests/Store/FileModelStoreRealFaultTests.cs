using CtrFallback.Store;

namespace CtrFallback.Tests.Store;

/// <summary>
/// File-system rows of the fault matrix produced for real, not injected: a store folder made read-only (chmod, or
/// chattr +i where the tests run as root), and an artifact nobody may read (chmod 000, which root ignores: skipped,
/// visibly, there). The store root being a file is FileModelStoreTests.Calls_WhenTheDiskFails_….
/// </summary>
public sealed class FileModelStoreRealFaultTests : IDisposable
{
    private const string Model = "ctr";
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private string StoreRoot => Path.Combine(_root.Path, "store");

    [SkippableFact]
    public async Task ReadOnlyStoreFolder_RefusesEveryWriteNamingTheCall_StillServesReads_AndIsUnchangedAfterwards()
    {
        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));
        await store.RegisterAsync(new ModelRegistration(Model, "two"u8.ToArray()));
        await store.SetAliasAsync(Model, ModelAliases.Champion, 1);
        await store.SetVersionTagAsync(Model, 1, ModelTags.PromotedAt, "2025-12-31T00:00:00Z");

        using (var readOnly = ReadOnlyFolder.TryMake(StoreRoot, out var whyNot))
        {
            Skip.If(readOnly is null, $"No real read-only folder on this machine: {whyNot}.");

            var register = () => store.RegisterAsync(new ModelRegistration(Model, "three"u8.ToArray()));
            var setAlias = () => store.SetAliasAsync(Model, ModelAliases.Champion, 2);
            var setTag = () => store.SetVersionTagAsync(Model, 2, ModelTags.PromotedAt, "2026-01-01T00:00:00Z");

            (await register.Should().ThrowAsync<ModelStoreException>()).Which.Message.Should().Contain(nameof(IModelStore.RegisterAsync)).And.Contain("denied", readOnly!.How);
            (await setAlias.Should().ThrowAsync<ModelStoreException>()).Which.Message.Should().Contain(nameof(IModelStore.SetAliasAsync)).And.Contain("denied");
            (await setTag.Should().ThrowAsync<ModelStoreException>()).Which.Message.Should().Contain(nameof(IModelStore.SetVersionTagAsync)).And.Contain("denied");
            (await store.ListVersionsAsync(Model)).Select(v => v.Version).Should().Equal(1, 2);
            (await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(1);
            (await store.DownloadArtifactAsync(Model, 2)).Should().Equal("two"u8.ToArray());
        }

        var versions = await store.ListVersionsAsync(Model);
        versions.Select(v => v.Version).Should().Equal(1, 2);
        versions[1].Tags.Should().NotContainKey(ModelTags.PromotedAt);
        (await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(1);
        Directory.EnumerateFileSystemEntries(Path.Combine(StoreRoot, Model, FileModelStore.StagingFolder)).Should().BeEmpty();
        (await store.RegisterAsync(new ModelRegistration(Model, "three"u8.ToArray()))).Version.Should().Be(3);
    }

    [SkippableFact]
    public async Task DownloadArtifact_WhenTheArtifactFileMayNotBeRead_ThrowsModelStoreExceptionSayingAccessIsDenied()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new SkipException("chmod is POSIX.");
        }

        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));
        var artifact = FileStoreHost.ArtifactPath(StoreRoot, Model, 1);
        File.SetUnixFileMode(artifact, UnixFileMode.None);
        try
        {
            Skip.If(CanRead(artifact), "The tests run as root here, and root reads a file whatever its permission bits say.");

            var download = () => store.DownloadArtifactAsync(Model, 1);

            var thrown = (await download.Should().ThrowAsync<ModelStoreException>()).Which;
            thrown.Message.Should().Contain(nameof(IModelStore.DownloadArtifactAsync)).And.Contain("denied");
            thrown.InnerException.Should().BeOfType<UnauthorizedAccessException>();
        }
        finally
        {
            File.SetUnixFileMode(artifact, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        (await store.DownloadArtifactAsync(Model, 1)).Should().Equal("one"u8.ToArray());
    }

    private static bool CanRead(string path)
    {
        try
        {
            File.ReadAllBytes(path);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
