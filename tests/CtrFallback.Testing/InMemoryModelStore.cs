using System.Security.Cryptography;

namespace CtrFallback.Testing;

/// <summary>
/// An <see cref="IModelStore"/> held in memory, for tests of code that reads a store (serving, the follower). It keeps
/// the store's promises: immutable versions, atomic alias moves, SHA-256 verified on every download. It can also be
/// made to misbehave (<see cref="CorruptArtifact"/>, <see cref="FailNextCalls"/>) to test failure handling.
/// </summary>
public sealed class InMemoryModelStore : IModelStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Entry>> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, string Alias), int> _aliases = new();
    private readonly TimeProvider _time;
    private int _failures;

    /// <summary>Creates an empty store.</summary>
    /// <param name="time">The clock for creation times; the system clock when omitted.</param>
    public InMemoryModelStore(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>How many times <see cref="DownloadArtifactAsync"/> was called.</summary>
    public int Downloads { get; private set; }

    /// <summary>Registers a version and points an alias at it, in one step (test convenience).</summary>
    /// <param name="modelName">The model.</param>
    /// <param name="artifact">The artifact bytes.</param>
    /// <param name="alias">The alias to point at it, or null.</param>
    /// <returns>The version.</returns>
    public async Task<ModelVersion> RegisterAsync(string modelName, byte[] artifact, string? alias = ModelAliases.Champion)
    {
        var version = await RegisterAsync(new ModelRegistration(modelName, artifact));
        if (alias is not null)
        {
            await SetAliasAsync(modelName, alias, version.Version);
        }

        return version;
    }

    /// <summary>Changes a version's stored bytes without touching its recorded SHA-256, so downloads fail verification.</summary>
    /// <param name="modelName">The model.</param>
    /// <param name="version">The version.</param>
    public void CorruptArtifact(string modelName, int version)
    {
        lock (_lock)
        {
            var entry = Find(modelName, version) ?? throw new ModelStoreException($"{modelName}/{version} does not exist.");
            var bytes = entry.Artifact.ToArray();
            bytes[bytes.Length / 2] ^= 0xFF;
            entry.Artifact = bytes;
        }
    }

    /// <summary>Makes the next <paramref name="count"/> calls throw <see cref="ModelStoreException"/>, as an unreachable store would.</summary>
    /// <param name="count">How many calls fail.</param>
    public void FailNextCalls(int count) => Interlocked.Exchange(ref _failures, count);

    /// <inheritdoc />
    public Task<ModelVersion> RegisterAsync(ModelRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        cancellationToken.ThrowIfCancellationRequested();
        MaybeFail();
        lock (_lock)
        {
            if (!_models.TryGetValue(registration.ModelName, out var versions))
            {
                _models[registration.ModelName] = versions = [];
            }

            var entry = new Entry(versions.Count + 1, registration, registration.Artifact.ToArray(), _time.GetUtcNow());
            if (registration.Gate is { } gate)
            {
                entry.Tags[ModelTags.GatePassed] = gate.Passed ? "true" : "false";
                entry.Tags[ModelTags.GateReasons] = string.Join("\n", gate.Reasons);
            }

            versions.Add(entry);
            return Task.FromResult(ToVersion(registration.ModelName, entry));
        }
    }

    /// <inheritdoc />
    public Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default)
    {
        MaybeFail();
        lock (_lock)
        {
            return Task.FromResult(Find(modelName, version) is { } entry ? ToVersion(modelName, entry) : null);
        }
    }

    /// <inheritdoc />
    public Task<ModelVersion?> GetVersionByAliasAsync(string modelName, string alias, CancellationToken cancellationToken = default)
    {
        MaybeFail();
        lock (_lock)
        {
            return Task.FromResult(_aliases.TryGetValue((modelName, alias), out var v) && Find(modelName, v) is { } entry ? ToVersion(modelName, entry) : null);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string modelName, CancellationToken cancellationToken = default)
    {
        MaybeFail();
        lock (_lock)
        {
            IReadOnlyList<ModelVersion> list = _models.TryGetValue(modelName, out var versions) ? versions.Select(e => ToVersion(modelName, e)).ToArray() : [];
            return Task.FromResult(list);
        }
    }

    /// <inheritdoc />
    public Task SetAliasAsync(string modelName, string alias, int version, CancellationToken cancellationToken = default)
    {
        MaybeFail();
        lock (_lock)
        {
            if (Find(modelName, version) is null)
            {
                throw new ModelStoreException($"Cannot point alias {alias} at {modelName}/{version}: no such version.");
            }

            _aliases[(modelName, alias)] = version;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task SetVersionTagAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken = default)
    {
        MaybeFail();
        lock (_lock)
        {
            var entry = Find(modelName, version) ?? throw new ModelStoreException($"{modelName}/{version} does not exist.");
            entry.Tags[key] = value;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<byte[]> DownloadArtifactAsync(string modelName, int version, CancellationToken cancellationToken = default)
    {
        MaybeFail();
        lock (_lock)
        {
            Downloads++;
            var entry = Find(modelName, version) ?? throw new ModelStoreException($"{modelName}/{version} does not exist.");
            var bytes = entry.Artifact.ToArray();
            var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (actual != entry.Sha256)
            {
                throw new ModelArtifactIntegrityException($"{modelName}/{version}: artifact SHA-256 {actual} does not match the recorded {entry.Sha256}.");
            }

            return Task.FromResult(bytes);
        }
    }

    /// <inheritdoc />
    public Task<byte[]?> DownloadAttachmentAsync(string modelName, int version, string fileName, CancellationToken cancellationToken = default)
    {
        MaybeFail();
        lock (_lock)
        {
            var entry = Find(modelName, version);
            return Task.FromResult(entry?.Registration.Attachments is { } files && files.TryGetValue(fileName, out var file) ? file.ToArray() : null);
        }
    }

    private void MaybeFail()
    {
        if (Volatile.Read(ref _failures) > 0 && Interlocked.Decrement(ref _failures) >= 0)
        {
            throw new ModelStoreException("The in-memory store was told to fail this call.");
        }
    }

    private Entry? Find(string modelName, int version) =>
        _models.TryGetValue(modelName, out var versions) && version >= 1 && version <= versions.Count ? versions[version - 1] : null;

    private ModelVersion ToVersion(string modelName, Entry entry) => new(
        modelName,
        entry.Version,
        entry.CreatedAt,
        entry.Sha256,
        entry.Registration.Metrics?.ToDictionary() ?? new Dictionary<string, double>(),
        entry.Registration.Parameters ?? new Dictionary<string, string>(),
        new Dictionary<string, string>(entry.Tags),
        _aliases.Where(a => a.Key.Model == modelName && a.Value == entry.Version).Select(a => a.Key.Alias).OrderBy(a => a, StringComparer.Ordinal).ToArray(),
        entry.Registration.Gate,
        entry.Registration.DataFingerprint);

    private sealed class Entry(int version, ModelRegistration registration, byte[] artifact, DateTimeOffset createdAt)
    {
        public int Version { get; } = version;

        public ModelRegistration Registration { get; } = registration;

        public byte[] Artifact { get; set; } = artifact;

        public string Sha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(artifact));

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public Dictionary<string, string> Tags { get; } = new(registration.Tags ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ModelTags.ArtifactSha256] = Convert.ToHexStringLower(SHA256.HashData(artifact)),
        };
    }
}
