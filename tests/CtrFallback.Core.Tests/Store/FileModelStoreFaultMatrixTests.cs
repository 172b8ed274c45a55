using System.IO.Abstractions;
using System.Security.Cryptography;
using CtrFallback.Store;

namespace CtrFallback.Tests.Store;

/// <summary>
/// The file-system rows of the fault matrix (docs/fault-matrix.md): every write step of the file store (a registration's
/// staging writes and its commit rename, an alias move, a tag write) and every read (download, list, alias) fails in
/// turn with the error a full disk, a permission denied or a read-only folder raises, injected by a
/// <see cref="FaultingFileSystem"/> over the real disk. Afterwards the call has failed with a
/// <see cref="ModelStoreException"/> that names it and carries the cause, the store's files are byte for byte as they
/// were, no reader sees a half version, the champion has not moved, and the next registration gets the next number.
/// </summary>
public sealed class FileModelStoreFaultMatrixTests : IDisposable
{
    private const string Model = "ctr";
    private const string Attachment = "evaluation.html";
    private readonly TempDirectory _root = new();
    private readonly FaultingFileSystem _fileSystem = new(new FileSystem());
    private Exception? _injected;

    public void Dispose() => _root.Dispose();

    private string StoreRoot => Path.Combine(_root.Path, "store");

    // Where each step touches the disk, as the rules of the FaultingFileSystem see it.
    private static readonly Dictionary<string, Func<FileSystemCall, bool>> Steps = new(StringComparer.Ordinal)
    {
        ["register: writer's lock"] = c => c.Operation == "FileStream.New" && c.Under(FileModelStore.StagingFolder) && c.Path.EndsWith(".lock", StringComparison.Ordinal),
        ["register: staging folder"] = c => c.Operation == "Directory.CreateDirectory" && c.Under(FileModelStore.StagingFolder) && !c.Path.EndsWith(FileModelStore.StagingFolder, StringComparison.Ordinal),
        ["register: artifact write"] = c => c.Operation == "Stream.Write" && c.Under(FileModelStore.StagingFolder) && c.FileName == FileModelStore.ArtifactFileName,
        ["register: attachment write"] = c => c.Operation == "Stream.Write" && c.Under(FileModelStore.StagingFolder) && c.Under(FileModelStore.AttachmentsFolder),
        ["register: tags write"] = c => c.Operation == "Stream.Write" && c.Under(FileModelStore.StagingFolder) && c.FileName == FileModelStore.TagsFileName,
        ["register: metadata fsync"] = c => c.Operation == "Stream.Fsync" && c.Under(FileModelStore.StagingFolder) && c.FileName == FileModelStore.VersionFileName,
        ["register: commit rename"] = c => c.Operation == "Directory.Move" && c.Under(FileModelStore.StagingFolder),
        ["set alias: temporary file"] = c => c.Operation == "FileStream.New" && c.Under(FileModelStore.AliasesFolder),
        ["set alias: write"] = c => c.Operation == "Stream.Write" && c.Under(FileModelStore.AliasesFolder),
        ["set alias: rename"] = c => c.Operation == "File.Move" && c.Under(FileModelStore.AliasesFolder),
        ["set tag: tag lock"] = c => c.Operation == "FileStream.New" && c.Under(FileModelStore.LocksFolder),
        ["set tag: write"] = c => c.Operation == "Stream.Write" && c.Under(FileModelStore.VersionsFolder) && c.FileName.StartsWith(".tags.json", StringComparison.Ordinal),
        ["set tag: rename"] = c => c.Operation == "File.Move" && c.Destination?.EndsWith(FileModelStore.TagsFileName, StringComparison.Ordinal) == true,
        ["download: artifact"] = c => c.Operation == "File.ReadAllBytesAsync" && c.FileName == FileModelStore.ArtifactFileName,
        ["download: attachment"] = c => c.Operation == "File.ReadAllBytesAsync" && c.Under(FileModelStore.AttachmentsFolder),
        ["list: versions folder"] = c => c.Operation == "Directory.EnumerateDirectories" && c.FileName == FileModelStore.VersionsFolder,
        ["list: metadata"] = c => c.Operation == "File.ReadAllBytesAsync" && c.FileName == FileModelStore.VersionFileName,
        ["get by alias: alias file"] = c => c.Operation == "File.ReadAllBytesAsync" && c.Under(FileModelStore.AliasesFolder),
    };

    private static readonly string[] WriteFaults = [nameof(FileSystemFaults.DiskFull), nameof(FileSystemFaults.PermissionDenied), nameof(FileSystemFaults.ReadOnly)];

    private static readonly string[] ReadFaults = [nameof(FileSystemFaults.PermissionDenied), nameof(FileSystemFaults.DeviceError)];

    public static TheoryData<string, string> RegisterCells => Cells("register:", WriteFaults);

    public static TheoryData<string, string> SetAliasCells => Cells("set alias:", WriteFaults);

    public static TheoryData<string, string> SetTagCells => Cells("set tag:", WriteFaults);

    public static TheoryData<string, string> ReadCells => Cells(["download:", "list:", "get by alias:"], ReadFaults);

    [Theory]
    [MemberData(nameof(RegisterCells))]
    public async Task Register_WhenAStepFails_ThrowsNamingTheCause_LeavesTheStoreAsItWas_AndTheNextRegistrationGetsTheNextNumber(string step, string fault)
    {
        var store = await ArrangeAsync();
        var before = Snapshot();
        Inject(step, fault);

        var register = () => store.RegisterAsync(new ModelRegistration(
            Model,
            "candidate"u8.ToArray(),
            Attachments: new Dictionary<string, ReadOnlyMemory<byte>> { [Attachment] = "<html>candidate</html>"u8.ToArray() }));

        var thrown = (await register.Should().ThrowAsync<ModelStoreException>()).Which;
        AssertNamesTheCause(thrown, nameof(IModelStore.RegisterAsync));
        _fileSystem.Heal();
        Snapshot().Should().Equal(before, "no half version, no staging leftover: the store's files are as they were");
        await AssertUnchangedAsync();
        var next = await store.RegisterAsync(new ModelRegistration(Model, "next"u8.ToArray()));
        next.Version.Should().Be(3);
        (await store.DownloadArtifactAsync(Model, 3)).Should().Equal("next"u8.ToArray());
    }

    [Theory]
    [MemberData(nameof(SetAliasCells))]
    public async Task SetAlias_WhenAStepFails_ThrowsNamingTheCause_AndTheChampionStaysWhereItWas(string step, string fault)
    {
        var store = await ArrangeAsync();
        var before = Snapshot();
        Inject(step, fault);

        var setAlias = () => store.SetAliasAsync(Model, ModelAliases.Champion, 2);

        var thrown = (await setAlias.Should().ThrowAsync<ModelStoreException>()).Which;
        AssertNamesTheCause(thrown, nameof(IModelStore.SetAliasAsync));
        _fileSystem.Heal();
        Snapshot().Should().Equal(before, "the alias file is the old one and no temporary file is left beside it");
        await AssertUnchangedAsync();
        await store.SetAliasAsync(Model, ModelAliases.Champion, 2);
        (await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(2, "once healed, the move goes through");
    }

    [Theory]
    [MemberData(nameof(SetTagCells))]
    public async Task SetVersionTag_WhenAStepFails_ThrowsNamingTheCauseAtOnce_AndTheTagsStayAsTheyWere(string step, string fault)
    {
        var store = await ArrangeAsync();
        var before = Snapshot();
        Inject(step, fault);

        var setTag = () => store.SetVersionTagAsync(Model, 2, ModelTags.PromotedAt, "2026-01-01T00:00:00Z");

        var thrown = (await setTag.Should().ThrowAsync<ModelStoreException>()).Which;
        AssertNamesTheCause(thrown, nameof(IModelStore.SetVersionTagAsync));
        thrown.Message.Should().NotContain("timed out waiting for the lock", "a full disk or a read-only folder is not a lock held by another writer");
        _fileSystem.Heal();
        Snapshot().Should().Equal(before);
        await AssertUnchangedAsync();
    }

    [Theory]
    [MemberData(nameof(ReadCells))]
    public async Task Read_WhenTheDiskFailsIt_ThrowsNamingTheCause_AndChangesNothing(string step, string fault)
    {
        var store = await ArrangeAsync();
        var before = Snapshot();
        Inject(step, fault);
        Func<Task> read = step switch
        {
            "download: artifact" => () => store.DownloadArtifactAsync(Model, 1),
            "download: attachment" => () => store.DownloadAttachmentAsync(Model, 1, Attachment),
            "list: versions folder" or "list: metadata" => () => store.ListVersionsAsync(Model),
            _ => () => store.GetVersionByAliasAsync(Model, ModelAliases.Champion),
        };
        var call = step switch
        {
            "download: artifact" => nameof(IModelStore.DownloadArtifactAsync),
            "download: attachment" => nameof(IModelStore.DownloadAttachmentAsync),
            "list: versions folder" or "list: metadata" => nameof(IModelStore.ListVersionsAsync),
            _ => nameof(IModelStore.GetVersionByAliasAsync),
        };

        var thrown = (await read.Should().ThrowAsync<ModelStoreException>()).Which;
        AssertNamesTheCause(thrown, call);
        _fileSystem.Heal();
        Snapshot().Should().Equal(before);
        await AssertUnchangedAsync();
        (await store.DownloadAttachmentAsync(Model, 1, Attachment)).Should().Equal("<html>one</html>"u8.ToArray());
    }

    [Fact]
    public async Task Register_WhenAWriteAndThenItsCleanupFail_LeavesAStagingFolderNoReaderSees_AndTheNextRegistrationRemovesIt()
    {
        var store = await ArrangeAsync();
        Inject("register: artifact write", nameof(FileSystemFaults.DiskFull));
        _fileSystem.Fail(c => c.Operation == "Directory.Delete" && c.Under(FileModelStore.StagingFolder), c => FileSystemFaults.PermissionDenied(c.Path));

        var register = () => store.RegisterAsync(new ModelRegistration(Model, "candidate"u8.ToArray()));

        await register.Should().ThrowAsync<ModelStoreException>();
        _fileSystem.Heal();
        var staging = Path.Combine(StoreRoot, Model, FileModelStore.StagingFolder);
        Directory.EnumerateDirectories(staging).Should().ContainSingle("the failed cleanup left the half-written folder");
        await AssertUnchangedAsync();
        (await store.GetVersionAsync(Model, 3)).Should().BeNull();

        (await store.RegisterAsync(new ModelRegistration(Model, "next"u8.ToArray()))).Version.Should().Be(3);
        Directory.EnumerateFileSystemEntries(staging).Should().BeEmpty("its writer is gone, so the next registration removed it");
    }

    /// <summary>Versions 1 (champion, with an attachment) and 2, through a store on the faulting file system.</summary>
    private async Task<FileModelStore> ArrangeAsync()
    {
        var store = FileStoreHost.Create(StoreRoot, fileSystem: _fileSystem);
        await store.RegisterAsync(new ModelRegistration(
            Model,
            "one"u8.ToArray(),
            Tags: new Dictionary<string, string> { ["team"] = "fallback" },
            Attachments: new Dictionary<string, ReadOnlyMemory<byte>> { [Attachment] = "<html>one</html>"u8.ToArray() }));
        await store.RegisterAsync(new ModelRegistration(Model, "two"u8.ToArray()));
        await store.SetAliasAsync(Model, ModelAliases.Champion, 1);
        await store.SetVersionTagAsync(Model, 1, ModelTags.PromotedAt, "2025-12-31T00:00:00Z");
        return store;
    }

    /// <summary>Makes the step fail with the fault; the exception raised is kept in <see cref="_injected"/>.</summary>
    private void Inject(string step, string fault) =>
        _fileSystem.Fail(Steps[step], call =>
        {
            var raised = FileSystemFaults.Named(fault, call.Path);
            _injected = raised;
            return raised;
        });

    private void AssertNamesTheCause(ModelStoreException thrown, string call)
    {
        _injected.Should().NotBeNull("the step under test was reached");
        thrown.InnerException.Should().BeSameAs(_injected, "the cause is kept");
        thrown.Message.Should().Contain(call).And.Contain($"model {Model}").And.Contain(_injected!.Message, "the message says what the disk said");
    }

    /// <summary>Read through a store on the plain disk: versions 1 and 2 whole, the champion 1, the tags as arranged.</summary>
    private async Task AssertUnchangedAsync()
    {
        var reader = FileStoreHost.Create(StoreRoot);
        var versions = await reader.ListVersionsAsync(Model);
        versions.Select(v => v.Version).Should().Equal(1, 2);
        (await reader.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(1);
        versions[0].Tags.Should().Contain("team", "fallback").And.Contain(ModelTags.PromotedAt, "2025-12-31T00:00:00Z");
        versions[1].Tags.Should().NotContainKey(ModelTags.PromotedAt);
        (await reader.DownloadArtifactAsync(Model, 1)).Should().Equal("one"u8.ToArray());
        (await reader.DownloadArtifactAsync(Model, 2)).Should().Equal("two"u8.ToArray());
    }

    /// <summary>Every file of the store with its SHA-256, except the tag lock files (kept on purpose, empty).</summary>
    private List<string> Snapshot() =>
        [.. Directory.EnumerateFiles(StoreRoot, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}{FileModelStore.LocksFolder}{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => $"{Path.GetRelativePath(StoreRoot, f)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))}")
            .Order(StringComparer.Ordinal)];

    private static TheoryData<string, string> Cells(string prefix, string[] faults) => Cells([prefix], faults);

    private static TheoryData<string, string> Cells(string[] prefixes, string[] faults)
    {
        var data = new TheoryData<string, string>();
        foreach (var step in Steps.Keys.Where(s => prefixes.Any(p => s.StartsWith(p, StringComparison.Ordinal))))
        {
            foreach (var fault in faults)
            {
                data.Add(step, fault);
            }
        }

        return data;
    }
}
