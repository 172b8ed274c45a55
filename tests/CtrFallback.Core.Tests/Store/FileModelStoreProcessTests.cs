using System.Globalization;
using System.Security.Cryptography;
using CtrFallback.Store;

namespace CtrFallback.Tests.Store;

/// <summary>The file store shared by separate processes: two training batches racing, and one killed mid-registration.</summary>
public sealed class FileModelStoreProcessTests : IDisposable
{
    private const string Model = "ctr";
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task TwoProcessesRegisteringTheSameModelAtOnce_GetDistinctVersions_AllDownloadableWithTheirSha256()
    {
        const int PerProcess = 20;

        // The probes meet right before every commit, so each pair of renames competes for the same number.
        var barrier = _root.File("barrier");
        Directory.CreateDirectory(barrier);
        using var first = StoreProbe.Start("register", _root.Path, Model, PerProcess.ToString(CultureInfo.InvariantCulture), "65536", barrier, "2");
        using var second = StoreProbe.Start("register", _root.Path, Model, PerProcess.ToString(CultureInfo.InvariantCulture), "65536", barrier, "2");

        var outputs = await Task.WhenAll(first.ReadToEndAsync(), second.ReadToEndAsync());
        var printed = outputs.SelectMany(lines => lines)
            .Where(line => line.StartsWith("VERSION ", StringComparison.Ordinal))
            .Select(line => line.Split(' '))
            .Select(parts => (Version: int.Parse(parts[1], CultureInfo.InvariantCulture), Sha256: parts[2]))
            .ToList();
        var store = FileStoreHost.Create(_root.Path);
        var listed = await store.ListVersionsAsync(Model);

        printed.Should().HaveCount(2 * PerProcess);
        printed.Select(p => p.Version).Should().OnlyHaveUniqueItems();
        listed.Select(v => v.Version).Should().Equal(Enumerable.Range(1, 2 * PerProcess));
        listed.Select(v => v.Tags["probe.pid"]).Distinct().Should().BeEquivalentTo([first.Id.ToString(CultureInfo.InvariantCulture), second.Id.ToString(CultureInfo.InvariantCulture)]);
        foreach (var (version, sha256) in printed)
        {
            listed.Single(v => v.Version == version).ArtifactSha256.Should().Be(sha256);
            Convert.ToHexStringLower(SHA256.HashData(await store.DownloadArtifactAsync(Model, version))).Should().Be(sha256);
        }

        Directory.EnumerateFileSystemEntries(Path.Combine(_root.Path, Model, FileModelStore.StagingFolder)).Should().BeEmpty();
    }

    [Fact]
    public async Task ProcessKilledRightBeforeItsCommit_LeavesNoVersion_KeepsTheAlias_AndTheNextRegistrationSucceeds()
    {
        const int ArtifactBytes = 32 * 1024 * 1024;
        var store = FileStoreHost.Create(_root.Path);
        var champion = await store.RegisterAsync(new ModelRegistration(Model, "champion model"u8.ToArray()));
        await store.SetAliasAsync(Model, ModelAliases.Champion, champion.Version);

        using var probe = StoreProbe.Start("crash", _root.Path, Model, ArtifactBytes.ToString(CultureInfo.InvariantCulture));
        var staging = (await probe.WaitForLineAsync("READY "))["READY ".Length..];

        // The probe is parked between "everything written and flushed" and the rename: kill it there (SIGKILL).
        new FileInfo(Path.Combine(staging, FileModelStore.ArtifactFileName)).Length.Should().Be(ArtifactBytes);
        File.Exists(Path.Combine(staging, FileModelStore.VersionFileName)).Should().BeTrue();
        await probe.KillAsync();

        Directory.Exists(staging).Should().BeTrue("a killed process cleans up nothing");
        (await store.ListVersionsAsync(Model)).Select(v => v.Version).Should().Equal(1);
        (await store.GetVersionAsync(Model, 2)).Should().BeNull();
        (await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(champion.Version);
        (await store.DownloadArtifactAsync(Model, champion.Version)).Should().Equal("champion model"u8.ToArray());

        var next = await store.RegisterAsync(new ModelRegistration(Model, "next model"u8.ToArray()));

        next.Version.Should().Be(2);
        (await store.DownloadArtifactAsync(Model, 2)).Should().Equal("next model"u8.ToArray());
        Directory.Exists(staging).Should().BeFalse("the dead writer's lock was released by the kernel, so its folder is removed");
        (await store.GetVersionByAliasAsync(Model, ModelAliases.Champion))!.Version.Should().Be(champion.Version);
    }
}
