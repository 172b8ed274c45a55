using System.IO.Abstractions;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CtrFallback.Store;
using Microsoft.Extensions.Time.Testing;

namespace CtrFallback.Tests.Store;

/// <summary>What the file store promises beyond the shared contract: layout, crash leftovers, atomic files, names.</summary>
public sealed class FileModelStoreTests : IDisposable
{
    private const string Model = "ctr";
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private string StoreRoot => Path.Combine(_root.Path, "store");

    private string StagingRoot => Path.Combine(StoreRoot, Model, FileModelStore.StagingFolder);

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public async Task Register_WritesTheVersionFolderWithArtifactMetadataTagsAndAttachments_StampedByTheTimeProvider()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 3, 4, 5, 6, TimeSpan.Zero));
        var store = FileStoreHost.Create(StoreRoot, clock);
        var artifact = RandomNumberGenerator.GetBytes(1000);
        var gate = new GateDecision([new GateCriterionResult("min-auc", true, "AUC 0.78 >= 0.70"), new GateCriterionResult("champion-auc", false, "AUC 0.78 < 0.79")]);

        var registered = await store.RegisterAsync(new ModelRegistration(
            Model,
            artifact,
            new ModelMetrics(0.78, 0.41, 0.89, double.NaN, 1000, 170),
            Gate: gate,
            DataFingerprint: "sha256:abc",
            Attachments: new Dictionary<string, ReadOnlyMemory<byte>> { ["evaluation.html"] = "<html/>"u8.ToArray() }));

        var folder = FileStoreHost.VersionFolder(StoreRoot, Model, 1);
        registered.Version.Should().Be(1);
        registered.CreatedAt.Should().Be(clock.GetUtcNow());
        File.ReadAllBytes(Path.Combine(folder, FileModelStore.ArtifactFileName)).Should().Equal(artifact);
        File.ReadAllText(Path.Combine(folder, FileModelStore.AttachmentsFolder, "evaluation.html")).Should().Be("<html/>");
        using var metadata = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, FileModelStore.VersionFileName)));
        metadata.RootElement.GetProperty("artifactSha256").GetString().Should().Be(Sha256(artifact));
        metadata.RootElement.GetProperty("createdAt").GetDateTimeOffset().Should().Be(clock.GetUtcNow());
        metadata.RootElement.GetProperty("dataFingerprint").GetString().Should().Be("sha256:abc");
        metadata.RootElement.GetProperty("gate").EnumerateArray().Select(c => c.GetProperty("criterion").GetString()).Should().Equal("min-auc", "champion-auc");
        metadata.RootElement.GetProperty("metrics").GetProperty("calibration").GetString().Should().Be("NaN");
        Directory.EnumerateFileSystemEntries(StagingRoot).Should().BeEmpty("nothing is left in staging after a commit");

        var fetched = await store.GetVersionAsync(Model, 1);
        fetched!.CreatedAt.Should().Be(clock.GetUtcNow());
        fetched.Gate!.Criteria.Should().Equal(gate.Criteria);
        double.IsNaN(fetched.Metrics[ModelMetrics.Names.Calibration]).Should().BeTrue();
    }

    [Fact]
    public async Task ExistingVersions_AreNeverRewrittenByLaterRegistrationsAliasesOrTags()
    {
        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));
        var folder = FileStoreHost.VersionFolder(StoreRoot, Model, 1);
        var artifactPath = Path.Combine(folder, FileModelStore.ArtifactFileName);
        var metadataPath = Path.Combine(folder, FileModelStore.VersionFileName);
        var metadataBefore = File.ReadAllBytes(metadataPath);
        var artifactWrittenAt = File.GetLastWriteTimeUtc(artifactPath);

        await store.RegisterAsync(new ModelRegistration(Model, "two"u8.ToArray()));
        await store.SetAliasAsync(Model, ModelAliases.Champion, 1);
        await store.SetVersionTagAsync(Model, 1, ModelTags.RolledBack, "true");

        File.ReadAllBytes(metadataPath).Should().Equal(metadataBefore);
        File.ReadAllBytes(artifactPath).Should().Equal("one"u8.ToArray());
        File.GetLastWriteTimeUtc(artifactPath).Should().Be(artifactWrittenAt);
        (await store.ListVersionsAsync(Model)).Select(v => v.Version).Should().Equal(1, 2);
    }

    [Fact]
    public async Task StagingFolderLeftByACrash_IsInvisible_AndTheNextRegistrationRemovesItAndTakesTheNextNumber()
    {
        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));

        // A complete-looking version that never got renamed, and the lock file its dead writer no longer holds.
        var leftover = Path.Combine(StagingRoot, "0123456789abcdef0123456789abcdef");
        CopyFolder(FileStoreHost.VersionFolder(StoreRoot, Model, 1), leftover);
        File.WriteAllText(leftover + ".lock", string.Empty);

        (await store.ListVersionsAsync(Model)).Select(v => v.Version).Should().Equal(1);
        (await store.GetVersionAsync(Model, 2)).Should().BeNull();

        var next = await store.RegisterAsync(new ModelRegistration(Model, "two"u8.ToArray()));

        next.Version.Should().Be(2);
        (await store.DownloadArtifactAsync(Model, 2)).Should().Equal("two"u8.ToArray());
        Directory.Exists(leftover).Should().BeFalse("a staging folder whose writer is gone is removed");
        File.Exists(leftover + ".lock").Should().BeFalse();
    }

    [Fact]
    public async Task StagingFolderOfAWriterStillHoldingItsLock_IsNotRemoved()
    {
        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));
        var live = Path.Combine(StagingRoot, "fedcba9876543210fedcba9876543210");
        Directory.CreateDirectory(live);
        File.WriteAllText(Path.Combine(live, FileModelStore.ArtifactFileName), "half written");

        using (new FileStream(live + ".lock", FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            var next = await store.RegisterAsync(new ModelRegistration(Model, "two"u8.ToArray()));

            next.Version.Should().Be(2);
            File.ReadAllText(Path.Combine(live, FileModelStore.ArtifactFileName)).Should().Be("half written");
        }
    }

    [Theory]
    [InlineData("disk")]
    [InlineData("MockFileSystem")]
    public async Task StagingFolderOfARegistrationStillRunningInThisProcess_IsNotRemovedByAnotherStoreInstancesRegistration(string fileSystemKind)
    {
        // Two store instances in one process share nothing but the folder: only the writer's file lock protects its staging.
        IFileSystem disk = fileSystemKind == "disk" ? new FileSystem() : new System.IO.Abstractions.TestingHelpers.MockFileSystem();
        using var parked = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var parking = new FaultingFileSystem(disk).When(
            call => call.Operation == "Directory.Move" && call.Under(FileModelStore.StagingFolder),
            _ =>
            {
                parked.Set();
                release.Wait(TimeSpan.FromMinutes(1));
            },
            times: 1);
        var first = FileStoreHost.Create(StoreRoot, fileSystem: parking);
        var second = FileStoreHost.Create(StoreRoot, fileSystem: disk);

        var pending = Task.Run(() => first.RegisterAsync(new ModelRegistration(Model, "first"u8.ToArray())));
        parked.Wait(TimeSpan.FromMinutes(1)).Should().BeTrue("the first registration reaches its commit");
        var overtaking = await second.RegisterAsync(new ModelRegistration(Model, "second"u8.ToArray()));
        release.Set();
        var parkedOne = await pending;

        overtaking.Version.Should().Be(1);
        parkedOne.Version.Should().Be(2, "its staging folder survived the other registration's cleanup");
        (await second.DownloadArtifactAsync(Model, 2)).Should().Equal("first"u8.ToArray());
        disk.Directory.EnumerateFileSystemEntries(disk.Path.Combine(second.RootPath, Model, FileModelStore.StagingFolder)).Should().BeEmpty();
    }

    [Fact]
    public async Task Register_CancelledRightBeforeTheRename_LeavesNothingVisibleNorStaged()
    {
        using var cancellation = new CancellationTokenSource();
        var stagedArtifactLength = -1L;

        // version.json is written last: cancel as it is flushed to disk, after which only the rename is left.
        var fileSystem = new FaultingFileSystem(new FileSystem()).When(
            call => call.Operation == "Stream.Fsync" && call.Under(FileModelStore.StagingFolder) && call.FileName == FileModelStore.VersionFileName,
            call =>
            {
                stagedArtifactLength = new FileInfo(Path.Combine(Path.GetDirectoryName(call.Path)!, FileModelStore.ArtifactFileName)).Length;
                cancellation.Cancel();
            },
            times: 1);
        var store = FileStoreHost.Create(StoreRoot, fileSystem: fileSystem);

        var register = () => store.RegisterAsync(new ModelRegistration(Model, new byte[4096]), cancellation.Token);

        await register.Should().ThrowAsync<OperationCanceledException>();
        stagedArtifactLength.Should().Be(4096, "the cancellation came after everything was written");
        (await store.ListVersionsAsync(Model)).Should().BeEmpty();
        (await store.GetVersionAsync(Model, 1)).Should().BeNull();
        Directory.EnumerateFileSystemEntries(StagingRoot).Should().BeEmpty();
        (await FileStoreHost.Create(StoreRoot).RegisterAsync(new ModelRegistration(Model, "next"u8.ToArray()))).Version.Should().Be(1);
    }

    [Fact]
    public async Task DownloadArtifact_WhenTheBytesOnDiskChanged_ThrowsNamingModelVersionAndBothHashes()
    {
        var store = FileStoreHost.Create(StoreRoot);
        var registered = await store.RegisterAsync(new ModelRegistration(Model, "honest model"u8.ToArray()));
        var tampered = "tampered model"u8.ToArray();
        File.WriteAllBytes(FileStoreHost.ArtifactPath(StoreRoot, Model, 1), tampered);

        var download = () => store.DownloadArtifactAsync(Model, 1);

        var thrown = await download.Should().ThrowAsync<ModelArtifactIntegrityException>();
        thrown.Which.Message.Should().Contain($"model {Model} version 1")
            .And.Contain(registered.ArtifactSha256)
            .And.Contain(Sha256(tampered));
    }

    [Fact]
    public async Task DownloadArtifact_OfAMissingVersion_ThrowsModelStoreExceptionNamingModelAndVersion()
    {
        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));

        var download = () => store.DownloadArtifactAsync(Model, 3);

        (await download.Should().ThrowAsync<ModelStoreException>()).Which.Message.Should().Contain($"model {Model} version 3 does not exist");
    }

    [Fact]
    public async Task SetVersionTag_OnAMissingVersion_ThrowsModelStoreExceptionNamingIt()
    {
        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));

        var setTag = () => store.SetVersionTagAsync(Model, 5, "k", "v");

        (await setTag.Should().ThrowAsync<ModelStoreException>()).Which.Message.Should().Contain($"model {Model} version 5");
    }

    [Fact]
    public async Task Calls_WhenTheDiskFails_ThrowModelStoreExceptionNamingTheCallAndModel()
    {
        // The store's root is a file, so no folder can be created under it.
        var store = FileStoreHost.Create(_root.Write("not-a-folder", "x"));

        var register = () => store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));

        var thrown = await register.Should().ThrowAsync<ModelStoreException>();
        thrown.Which.Message.Should().Contain(nameof(IModelStore.RegisterAsync)).And.Contain($"model {Model}");
        thrown.Which.InnerException.Should().BeAssignableTo<IOException>();
    }

    [Fact]
    public async Task Alias_MovedTwoHundredTimesWhileReadersHammerIt_IsAlwaysReadWhole()
    {
        var store = FileStoreHost.Create(StoreRoot);
        await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray()));
        await store.RegisterAsync(new ModelRegistration(Model, "two"u8.ToArray()));
        await store.SetAliasAsync(Model, ModelAliases.Champion, 1);
        var aliasFile = Path.Combine(StoreRoot, Model, FileModelStore.AliasesFolder, ModelAliases.Champion);
        using var writerDone = new CancellationTokenSource();

        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                await store.SetAliasAsync(Model, ModelAliases.Champion, i % 2 == 0 ? 2 : 1);
            }

            await writerDone.CancelAsync();
        });
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            var seen = new List<int>();
            do
            {
                // Through the store and straight off the disk: both must always parse.
                seen.Add((await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version);
                using var raw = JsonDocument.Parse(File.ReadAllBytes(aliasFile));
                seen.Add(raw.RootElement.GetProperty("version").GetInt32());
            }
            while (!writerDone.IsCancellationRequested);
            return seen;
        })).ToArray();

        await writer;
        var reads = (await Task.WhenAll(readers)).SelectMany(r => r).ToList();

        reads.Should().NotBeEmpty().And.OnlyContain(v => v == 1 || v == 2);
        (await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(1, "the 200th move pointed it back at version 1");
        Directory.EnumerateFiles(Path.GetDirectoryName(aliasFile)!).Should().Equal(aliasFile);
    }

    [Fact]
    public async Task SetVersionTag_ByConcurrentWriters_KeepsEveryWritersTags()
    {
        var store = FileStoreHost.Create(StoreRoot);
        var registered = await store.RegisterAsync(new ModelRegistration(Model, "one"u8.ToArray(), Tags: new Dictionary<string, string> { ["team"] = "fallback" }));

        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await store.SetVersionTagAsync(Model, 1, $"writer{writer}.tag{i}", $"{writer}:{i}");
            }
        })));
        var fetched = await store.GetVersionAsync(Model, 1);

        fetched!.Tags.Should().HaveCount(82, "80 written concurrently, plus the registered tag and the SHA-256 tag");
        fetched.Tags.Should().Contain("writer7.tag9", "7:9").And.Contain("team", "fallback").And.Contain(ModelTags.ArtifactSha256, registered.ArtifactSha256);
        (await store.DownloadArtifactAsync(Model, 1)).Should().Equal("one"u8.ToArray());
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData(".hidden")]
    [InlineData("with space")]
    [InlineData("/etc")]
    public async Task Names_ThatAreNotPlainLettersDigitsDashUnderscoreDot_AreRejectedBeforeTouchingTheDisk(string name)
    {
        var store = FileStoreHost.Create(StoreRoot);

        var register = () => store.RegisterAsync(new ModelRegistration(name, "x"u8.ToArray()));
        var list = () => store.ListVersionsAsync(name);
        var setAlias = () => store.SetAliasAsync(Model, name, 1);
        var byAlias = () => store.GetVersionByAliasAsync(Model, name);

        (await register.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain($"'{name}'");
        await list.Should().ThrowAsync<ArgumentException>();
        (await setAlias.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("alias name");
        await byAlias.Should().ThrowAsync<ArgumentException>();
        Directory.EnumerateFileSystemEntries(_root.Path).Should().BeEmpty("nothing was created, inside the store or beside it");
    }

    [Fact]
    public async Task Names_WithLettersDigitsDashUnderscoreAndDots_AreAccepted()
    {
        var store = FileStoreHost.Create(StoreRoot);

        var registered = await store.RegisterAsync(new ModelRegistration("ctr-eu_west.v2", "x"u8.ToArray()));
        await store.SetAliasAsync("ctr-eu_west.v2", "canary_1.b", registered.Version);

        (await store.GetVersionByAliasAsync("ctr-eu_west.v2", "canary_1.b"))!.Version.Should().Be(1);
    }

    private static void CopyFolder(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
