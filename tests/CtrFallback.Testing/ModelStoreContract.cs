using System.Security.Cryptography;
using System.Text;

namespace CtrFallback.Testing;

/// <summary>
/// The behaviour every <see cref="IModelStore"/> promises, as tests. Derive once per implementation, create the store
/// in <see cref="CreateStoreAsync"/> and corrupt a stored artifact in <see cref="CorruptArtifactAsync"/>.
/// </summary>
/// <remarks>
/// Facts are <see cref="SkippableFactAttribute"/>s so that a subclass whose backing service is absent (a real MLflow
/// server) can call <c>Skip.If</c> in <see cref="CreateStoreAsync"/> and show as skipped. Every test uses its own
/// fresh model name, so a shared backend (a real server) needs no cleanup between tests.
/// </remarks>
public abstract class ModelStoreContract
{
    /// <summary>Creates the store under test (the same backend for every call within one test).</summary>
    protected abstract Task<IModelStore> CreateStoreAsync();

    /// <summary>Changes the stored bytes of a version's artifact without touching its recorded SHA-256.</summary>
    protected abstract Task CorruptArtifactAsync(IModelStore store, string modelName, int version);

    /// <summary>A model name no other test uses.</summary>
    protected virtual string NewModelName() => $"ctr-contract-{Guid.NewGuid():N}"[..28];

    /// <summary>
    /// Why the backend under test cannot show concurrent writers claiming version numbers (a test double whose renames
    /// are not atomic), or <see langword="null"/> when it can: the concurrent-registration test then skips, saying so.
    /// </summary>
    protected virtual string? ConcurrentRegistrationUnsupported => null;

    /// <summary>A registration with metrics, parameters, tags, a gate decision, a fingerprint and attachments.</summary>
    protected static ModelRegistration FullRegistration(string modelName, string artifactText = "model bytes v1") => new(
        modelName,
        Encoding.UTF8.GetBytes(artifactText),
        new ModelMetrics(Auc: 0.7731, LogLoss: 0.4123, NormalizedEntropy: 0.8912, Calibration: 1.031, Rows: 120_000, Positives: 20_417),
        new Dictionary<string, string> { ["trainer"] = "lightgbm", ["hashBits"] = "20", ["learningRate"] = "0.05" },
        new Dictionary<string, string> { ["team"] = "fallback", ["source"] = "contract test" },
        new GateDecision([
            new GateCriterionResult("min-auc", true, "AUC 0.7731 >= 0.70"),
            new GateCriterionResult("champion-auc", false, "AUC 0.7731 < champion 0.7800 - 0.002"),
        ]),
        "sha256:5f1e0c",
        new Dictionary<string, ReadOnlyMemory<byte>>
        {
            ["evaluation.html"] = Encoding.UTF8.GetBytes("<html>report</html>"),
            ["calibration.png"] = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0x10 },
        });

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [SkippableFact]
    public async Task Register_ThenGetListAndDownload_RoundTripsTheArtifactBytesAndSha256()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        var artifact = RandomNumberGenerator.GetBytes(4096);

        var registered = await store.RegisterAsync(new ModelRegistration(name, artifact));
        var fetched = await store.GetVersionAsync(name, registered.Version);
        var listed = await store.ListVersionsAsync(name);
        var downloaded = await store.DownloadArtifactAsync(name, registered.Version);

        registered.Version.Should().Be(1);
        registered.ArtifactSha256.Should().Be(Sha256(artifact));
        fetched.Should().NotBeNull();
        fetched!.ModelName.Should().Be(name);
        fetched.ArtifactSha256.Should().Be(Sha256(artifact));
        fetched.CreatedAt.Should().BeAfter(DateTimeOffset.UnixEpoch);
        listed.Select(v => v.Version).Should().Equal(1);
        listed[0].ArtifactSha256.Should().Be(Sha256(artifact));
        downloaded.Should().Equal(artifact);
        Sha256(downloaded).Should().Be(registered.ArtifactSha256);
    }

    [SkippableFact]
    public async Task Register_PreservesMetricsParametersTagsGateAndDataFingerprint()
    {
        var store = await CreateStoreAsync();
        var registration = FullRegistration(NewModelName());

        var registered = await store.RegisterAsync(registration);
        var fetched = await store.GetVersionAsync(registration.ModelName, registered.Version);

        foreach (var version in new[] { registered, fetched! })
        {
            version.HoldoutMetrics.Should().Be(registration.Metrics);
            version.Parameters.Should().Equal(registration.Parameters!);
            version.Tags.Should().Contain(registration.Tags!);
            version.Tags.Should().Contain(ModelTags.ArtifactSha256, registered.ArtifactSha256);
            version.Tags.Should().Contain(ModelTags.GatePassed, "false");
            version.Tags[ModelTags.GateReasons].Should().Contain("AUC 0.7731 >= 0.70").And.Contain("champion 0.7800");
            version.Gate.Should().NotBeNull();
            version.Gate!.Passed.Should().BeFalse();
            version.Gate.Criteria.Should().Equal(registration.Gate!.Criteria);
            version.DataFingerprint.Should().Be("sha256:5f1e0c");
        }
    }

    [SkippableFact]
    public async Task Register_Twice_NumbersVersionsUpwardAndListsThemInAscendingOrder()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();

        var first = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));
        var second = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("two")));
        var listed = await store.ListVersionsAsync(name);

        second.Version.Should().BeGreaterThan(first.Version);
        listed.Select(v => v.Version).Should().Equal(first.Version, second.Version);
        (await store.DownloadArtifactAsync(name, first.Version)).Should().Equal(Encoding.UTF8.GetBytes("one"));
        (await store.DownloadArtifactAsync(name, second.Version)).Should().Equal(Encoding.UTF8.GetBytes("two"));
    }

    [SkippableFact]
    public async Task SetAlias_ThenGetByAlias_ReturnsThatVersionCarryingTheAlias()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        var registered = await store.RegisterAsync(FullRegistration(name));

        await store.SetAliasAsync(name, ModelAliases.Champion, registered.Version);
        var champion = await store.GetVersionByAliasAsync(name, ModelAliases.Champion);

        champion.Should().NotBeNull();
        champion!.Version.Should().Be(registered.Version);
        champion.Aliases.Should().Contain(ModelAliases.Champion);
        champion.ArtifactSha256.Should().Be(registered.ArtifactSha256);
        champion.HoldoutMetrics.Should().Be(registered.HoldoutMetrics);
    }

    [SkippableFact]
    public async Task SetAlias_Again_MovesTheAliasToTheNewVersion()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        var v1 = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));
        var v2 = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("two")));

        await store.SetAliasAsync(name, ModelAliases.Champion, v1.Version);
        await store.SetAliasAsync(name, ModelAliases.Champion, v2.Version);
        var champion = await store.GetVersionByAliasAsync(name, ModelAliases.Champion);
        var listed = await store.ListVersionsAsync(name);

        champion!.Version.Should().Be(v2.Version);
        listed.Single(v => v.Version == v1.Version).Aliases.Should().NotContain(ModelAliases.Champion);
        listed.Single(v => v.Version == v2.Version).Aliases.Should().Equal(ModelAliases.Champion);
    }

    [SkippableFact]
    public async Task SetAlias_ByTwoConcurrentWriters_EndsOnOneOfTheTwoVersions()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        var v1 = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));
        var v2 = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("two")));

        var writes = Enumerable.Range(0, 8)
            .Select(i => Task.Run(() => store.SetAliasAsync(name, ModelAliases.Champion, i % 2 == 0 ? v1.Version : v2.Version)))
            .ToArray();
        var outcome = await Task.WhenAll(writes.Select(async w =>
        {
            try
            {
                await w;
                return null;
            }
            catch (ModelStoreException ex)
            {
                return ex;
            }
        }));
        var champion = await store.GetVersionByAliasAsync(name, ModelAliases.Champion);
        var listed = await store.ListVersionsAsync(name);

        // Each writer either succeeded or failed with a store error (never another exception type), and the alias is whole.
        outcome.Should().Contain(e => e == null, "at least one writer must win");
        champion.Should().NotBeNull();
        champion!.Version.Should().BeOneOf(v1.Version, v2.Version);
        listed.Count(v => v.Aliases.Contains(ModelAliases.Champion)).Should().Be(1);
    }

    [SkippableFact]
    public async Task Register_ConcurrentlyForOneModel_GivesDistinctVersions()
    {
        Skip.If(ConcurrentRegistrationUnsupported is not null, ConcurrentRegistrationUnsupported);
        var store = await CreateStoreAsync();
        var name = NewModelName();

        var registered = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(i => Task.Run(() => store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes($"model {i}"))))));
        var listed = await store.ListVersionsAsync(name);

        registered.Select(v => v.Version).Should().OnlyHaveUniqueItems();
        listed.Select(v => v.Version).Should().BeEquivalentTo(registered.Select(v => v.Version));
        listed.Select(v => v.ArtifactSha256).Should().OnlyHaveUniqueItems();
        foreach (var version in registered)
        {
            Sha256(await store.DownloadArtifactAsync(name, version.Version)).Should().Be(version.ArtifactSha256);
        }
    }

    [SkippableFact]
    public async Task GetVersionByAlias_WhenTheModelHasNoSuchAlias_ReturnsNull()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        var registered = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));
        await store.SetAliasAsync(name, "challenger", registered.Version);

        var champion = await store.GetVersionByAliasAsync(name, ModelAliases.Champion);

        champion.Should().BeNull();
    }

    [SkippableFact]
    public async Task Reads_WhenTheModelDoesNotExist_ReturnNullOrEmpty()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();

        (await store.GetVersionByAliasAsync(name, ModelAliases.Champion)).Should().BeNull();
        (await store.GetVersionAsync(name, 1)).Should().BeNull();
        (await store.ListVersionsAsync(name)).Should().BeEmpty();
        (await store.DownloadAttachmentAsync(name, 1, "evaluation.html")).Should().BeNull();
    }

    [SkippableFact]
    public async Task GetVersion_WhenTheVersionDoesNotExist_ReturnsNull()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));

        (await store.GetVersionAsync(name, 2)).Should().BeNull();
    }

    [SkippableFact]
    public async Task DownloadArtifact_WhenTheVersionDoesNotExist_ThrowsModelStoreException()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));

        var download = () => store.DownloadArtifactAsync(name, 7);

        await download.Should().ThrowAsync<ModelStoreException>().WithMessage("*7*");
    }

    [SkippableFact]
    public async Task DownloadArtifact_WhenTheStoredBytesWereChanged_ThrowsModelArtifactIntegrityException()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        var registered = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("honest model")));

        await CorruptArtifactAsync(store, name, registered.Version);
        var download = () => store.DownloadArtifactAsync(name, registered.Version);

        await download.Should().ThrowAsync<ModelArtifactIntegrityException>();
    }

    [SkippableFact]
    public async Task SetAlias_ToAVersionThatDoesNotExist_ThrowsModelStoreException()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));

        var setAlias = () => store.SetAliasAsync(name, ModelAliases.Champion, 9);

        await setAlias.Should().ThrowAsync<ModelStoreException>();
        (await store.GetVersionByAliasAsync(name, ModelAliases.Champion)).Should().BeNull();
    }

    [SkippableFact]
    public async Task SetVersionTag_IsVisibleOnTheVersionAndOverwrites()
    {
        var store = await CreateStoreAsync();
        var name = NewModelName();
        var registered = await store.RegisterAsync(new ModelRegistration(name, Encoding.UTF8.GetBytes("one")));

        await store.SetVersionTagAsync(name, registered.Version, ModelTags.RolledBack, "false");
        await store.SetVersionTagAsync(name, registered.Version, ModelTags.RolledBack, "true");
        var fetched = await store.GetVersionAsync(name, registered.Version);

        fetched!.Tags.Should().Contain(ModelTags.RolledBack, "true");
        fetched.ArtifactSha256.Should().Be(registered.ArtifactSha256);
    }

    [SkippableFact]
    public async Task Attachments_RoundTripByFileName_AndAMissingOneIsNull()
    {
        var store = await CreateStoreAsync();
        var registration = FullRegistration(NewModelName());
        var registered = await store.RegisterAsync(registration);

        foreach (var (fileName, content) in registration.Attachments!)
        {
            var downloaded = await store.DownloadAttachmentAsync(registration.ModelName, registered.Version, fileName);
            downloaded.Should().Equal(content.ToArray(), $"attachment {fileName} must round trip");
        }

        (await store.DownloadAttachmentAsync(registration.ModelName, registered.Version, "missing.txt")).Should().BeNull();
    }
}
