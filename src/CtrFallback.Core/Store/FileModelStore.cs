using System.Globalization;
using System.IO.Abstractions;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CtrFallback.Store;

/// <summary>
/// An <see cref="IModelStore"/> in a folder, safe for several processes sharing it (training batches racing, servers
/// reading). Layout under <see cref="FileModelStoreOptions.Path"/>:
/// <code>
/// &lt;model&gt;/versions/&lt;n&gt;/model.ctrfallback    the artifact (immutable)
/// &lt;model&gt;/versions/&lt;n&gt;/version.json         metrics, parameters, tags, gate, fingerprint, SHA-256, created-at (immutable)
/// &lt;model&gt;/versions/&lt;n&gt;/tags.json            the version's current tags (the only mutable file; replaced by rename)
/// &lt;model&gt;/versions/&lt;n&gt;/attachments/&lt;file&gt;
/// &lt;model&gt;/aliases/&lt;alias&gt;                  {"version": n, "setAt": …} (replaced by rename)
/// &lt;model&gt;/.staging/&lt;id&gt;/ and &lt;id&gt;.lock      a registration being written, and its writer's lock
/// &lt;model&gt;/.locks/tags-&lt;n&gt;.lock              serializes tag writers of version n
/// </code>
/// </summary>
/// <remarks>
/// <para>Completeness: a registration writes and flushes every file in its own staging folder, then renames that folder
/// to <c>versions/&lt;n&gt;</c>. Readers only look under <c>versions/</c>, so they see a version whole or not at all.</para>
/// <para>Numbering: the rename itself claims the number. rename(2) never replaces a non-empty folder, so of two writers
/// (threads or processes) renaming to the same <c>versions/&lt;n&gt;</c> exactly one succeeds; the other rescans and tries
/// the next number.</para>
/// <para>Crash leftovers: a staging folder's writer holds <c>&lt;id&gt;.lock</c> open with <see cref="FileShare.None"/> (an
/// advisory <c>flock</c> on Unix, released by the kernel when the process dies). The next registration removes only
/// staging folders whose lock it can take, so it never removes a live writer's folder, in another process or in this one
/// (a <c>flock</c> belongs to the open file, not to the process; Windows share modes likewise). This relies on .NET's
/// file locking, so <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> must not be set.</para>
/// <para>Durability: files are flushed to disk (fsync) before the rename; the folder entry created by the rename is not
/// fsynced (.NET has no API for a folder's fsync), so after a power loss the newest version may be missing, never partial.</para>
/// </remarks>
internal sealed class FileModelStore : IModelStore
{
    internal const string VersionsFolder = "versions";
    internal const string AliasesFolder = "aliases";
    internal const string StagingFolder = ".staging";
    internal const string LocksFolder = ".locks";
    internal const string ArtifactFileName = "model.ctrfallback";
    internal const string VersionFileName = "version.json";
    internal const string TagsFileName = "tags.json";
    internal const string AttachmentsFolder = "attachments";

    private const int FormatVersion = 1;
    private const int MaxNameLength = 200;

    // About 30 s of waiting for a tag lock held by another writer, polled every 10 ms (an I/O back-off, not a business
    // clock, so it does not go through TimeProvider).
    private const int LockAttempts = 3000;
    private static readonly TimeSpan LockPollInterval = TimeSpan.FromMilliseconds(10);

    private readonly IFileSystem _fileSystem;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public FileModelStore(
        IFileSystem fileSystem,
        IOptions<FileModelStoreOptions> options,
        TimeProvider timeProvider,
        ILogger<FileModelStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _fileSystem = fileSystem;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger<FileModelStore>.Instance;
        RootPath = fileSystem.Path.GetFullPath(options.Value.Path);
    }

    /// <summary>The store's root folder, as an absolute path.</summary>
    public string RootPath { get; }

    /// <inheritdoc />
    public Task<ModelVersion> RegisterAsync(ModelRegistration registration, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => RegisterCoreAsync(registration, cancellationToken), nameof(RegisterAsync), registration?.ModelName);

    private async Task<ModelVersion> RegisterCoreAsync(ModelRegistration registration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ValidateName(registration.ModelName, "model", nameof(registration));
        foreach (var fileName in registration.Attachments?.Keys ?? [])
        {
            ValidateAttachmentName(fileName, nameof(registration));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var modelName = registration.ModelName;
        var stagingRoot = ModelPath(modelName, StagingFolder);
        var versionsFolder = ModelPath(modelName, VersionsFolder);
        _fileSystem.Directory.CreateDirectory(stagingRoot);
        _fileSystem.Directory.CreateDirectory(versionsFolder);
        RemoveAbandonedStaging(modelName, stagingRoot);

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(registration.Artifact.Span));
        var tags = VersionTags(registration, sha256);
        var stored = new StoredVersion(
            FormatVersion,
            modelName,
            _timeProvider.GetUtcNow(),
            sha256,
            registration.Artifact.Length,
            registration.Metrics is { } metrics ? new Dictionary<string, double>(metrics.ToDictionary(), StringComparer.Ordinal) : [],
            registration.Parameters is { } parameters ? new Dictionary<string, string>(parameters, StringComparer.Ordinal) : [],
            tags,
            registration.Gate is { } gate ? [.. gate.Criteria] : null,
            registration.DataFingerprint,
            [.. (registration.Attachments?.Keys ?? []).Order(StringComparer.Ordinal)]);

        var stagingId = Guid.NewGuid().ToString("N");
        var staging = _fileSystem.Path.Combine(stagingRoot, stagingId);
        var ownerLockPath = staging + ".lock";
        var committed = false;

        // Taken before the staging folder exists and held until it is gone, so a cleaner never takes a live writer's folder.
        var ownerLock = _fileSystem.FileStream.New(ownerLockPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            _fileSystem.Directory.CreateDirectory(staging);
            await WriteDurablyAsync(_fileSystem.Path.Combine(staging, ArtifactFileName), registration.Artifact, cancellationToken).ConfigureAwait(false);
            if (registration.Attachments is { Count: > 0 } attachments)
            {
                var attachmentsFolder = _fileSystem.Path.Combine(staging, AttachmentsFolder);
                _fileSystem.Directory.CreateDirectory(attachmentsFolder);
                foreach (var (fileName, content) in attachments)
                {
                    await WriteDurablyAsync(_fileSystem.Path.Combine(attachmentsFolder, fileName), content, cancellationToken).ConfigureAwait(false);
                }
            }

            await WriteDurablyAsync(
                _fileSystem.Path.Combine(staging, TagsFileName),
                JsonSerializer.SerializeToUtf8Bytes(tags, FileModelStoreJsonContext.Default.DictionaryStringString),
                cancellationToken).ConfigureAwait(false);

            // Written last: a staging folder with version.json has everything.
            await WriteDurablyAsync(
                _fileSystem.Path.Combine(staging, VersionFileName),
                JsonSerializer.SerializeToUtf8Bytes(stored, FileModelStoreJsonContext.Default.StoredVersion),
                cancellationToken).ConfigureAwait(false);

            // The last moment cancellation is honoured: after the rename the version exists.
            cancellationToken.ThrowIfCancellationRequested();
            var version = Commit(modelName, staging, versionsFolder);
            committed = true;
            Log.VersionRegistered(_logger, modelName, version, sha256, RootPath);
            return ToModelVersion(stored, version, tags, []);
        }
        catch (Exception ex)
        {
            Log.RegistrationAbandoned(_logger, modelName, ex);
            throw;
        }
        finally
        {
            if (!committed)
            {
                TryDeleteDirectory(modelName, staging);
            }

            await ownerLock.DisposeAsync().ConfigureAwait(false);
            TryDeleteFile(ownerLockPath);
        }
    }

    /// <inheritdoc />
    public Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => GetVersionCoreAsync(modelName, version, cancellationToken), nameof(GetVersionAsync), modelName);

    private async Task<ModelVersion?> GetVersionCoreAsync(string modelName, int version, CancellationToken cancellationToken)
    {
        ValidateName(modelName, "model", nameof(modelName));
        if (version < 1)
        {
            return null;
        }

        var aliases = await ReadAliasesAsync(modelName, cancellationToken).ConfigureAwait(false);
        return await ReadVersionAsync(modelName, version, aliases, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<ModelVersion?> GetVersionByAliasAsync(string modelName, string alias, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => GetVersionByAliasCoreAsync(modelName, alias, cancellationToken), nameof(GetVersionByAliasAsync), modelName);

    private async Task<ModelVersion?> GetVersionByAliasCoreAsync(string modelName, string alias, CancellationToken cancellationToken)
    {
        ValidateName(modelName, "model", nameof(modelName));
        ValidateName(alias, "alias", nameof(alias));
        var aliases = await ReadAliasesAsync(modelName, cancellationToken).ConfigureAwait(false);
        return aliases.TryGetValue(alias, out var version)
            ? await ReadVersionAsync(modelName, version, aliases, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string modelName, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => ListVersionsCoreAsync(modelName, cancellationToken), nameof(ListVersionsAsync), modelName);

    private async Task<IReadOnlyList<ModelVersion>> ListVersionsCoreAsync(string modelName, CancellationToken cancellationToken)
    {
        ValidateName(modelName, "model", nameof(modelName));
        var aliases = await ReadAliasesAsync(modelName, cancellationToken).ConfigureAwait(false);
        var versions = new List<ModelVersion>();
        foreach (var number in VersionNumbers(ModelPath(modelName, VersionsFolder)).Order())
        {
            if (await ReadVersionAsync(modelName, number, aliases, cancellationToken).ConfigureAwait(false) is { } version)
            {
                versions.Add(version);
            }
        }

        return versions;
    }

    /// <inheritdoc />
    public Task SetAliasAsync(string modelName, string alias, int version, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => SetAliasCoreAsync(modelName, alias, version, cancellationToken), nameof(SetAliasAsync), modelName);

    private async Task SetAliasCoreAsync(string modelName, string alias, int version, CancellationToken cancellationToken)
    {
        ValidateName(modelName, "model", nameof(modelName));
        ValidateName(alias, "alias", nameof(alias));
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureVersionExists(modelName, version, $"point alias {alias} at it");

        var aliasesFolder = ModelPath(modelName, AliasesFolder);
        _fileSystem.Directory.CreateDirectory(aliasesFolder);
        var content = JsonSerializer.SerializeToUtf8Bytes(new StoredAlias(version, _timeProvider.GetUtcNow()), FileModelStoreJsonContext.Default.StoredAlias);

        // rename(2) over the old file: a reader opens either the old alias or the new one, never a partial file.
        await ReplaceDurablyAsync(_fileSystem.Path.Combine(aliasesFolder, alias), content, cancellationToken).ConfigureAwait(false);
        Log.AliasSet(_logger, modelName, alias, version);
    }

    /// <inheritdoc />
    public Task SetVersionTagAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => SetVersionTagCoreAsync(modelName, version, key, value, cancellationToken), nameof(SetVersionTagAsync), modelName);

    private async Task SetVersionTagCoreAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken)
    {
        ValidateName(modelName, "model", nameof(modelName));
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        var versionFolder = EnsureVersionExists(modelName, version, $"set tag {key} on it");

        var locksFolder = ModelPath(modelName, LocksFolder);
        _fileSystem.Directory.CreateDirectory(locksFolder);
        var lockPath = _fileSystem.Path.Combine(locksFolder, $"tags-{version.ToString(CultureInfo.InvariantCulture)}.lock");

        // Read-modify-write under the lock, so two writers setting different keys both keep theirs; the artifact and
        // version.json are never opened for writing.
        var held = await AcquireLockAsync(lockPath, $"model {modelName} version {version}'s tags", cancellationToken).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            var tagsPath = _fileSystem.Path.Combine(versionFolder, TagsFileName);
            var tags = await ReadTagsAsync(versionFolder, cancellationToken).ConfigureAwait(false)
                ?? (await ReadStoredVersionAsync(modelName, version, cancellationToken).ConfigureAwait(false))!.Tags;
            tags[key] = value;
            await ReplaceDurablyAsync(tagsPath, JsonSerializer.SerializeToUtf8Bytes(tags, FileModelStoreJsonContext.Default.DictionaryStringString), cancellationToken).ConfigureAwait(false);
        }

        Log.VersionTagSet(_logger, modelName, version, key);
    }

    /// <inheritdoc />
    public Task<byte[]> DownloadArtifactAsync(string modelName, int version, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => DownloadArtifactCoreAsync(modelName, version, cancellationToken), nameof(DownloadArtifactAsync), modelName);

    private async Task<byte[]> DownloadArtifactCoreAsync(string modelName, int version, CancellationToken cancellationToken)
    {
        ValidateName(modelName, "model", nameof(modelName));
        var stored = version < 1 ? null : await ReadStoredVersionAsync(modelName, version, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            throw new ModelStoreException($"File model store: model {modelName} version {version} does not exist under {RootPath}.");
        }

        var path = _fileSystem.Path.Combine(VersionPath(modelName, version), ArtifactFileName);
        byte[] bytes;
        try
        {
            bytes = await _fileSystem.File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException ex)
        {
            throw new ModelArtifactIntegrityException(
                $"File model store: model {modelName} version {version} has no artifact file {path}; the store was changed outside CtrFallback.", ex);
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(actual, stored.ArtifactSha256, StringComparison.OrdinalIgnoreCase))
        {
            Log.ArtifactIntegrityFailed(_logger, modelName, version, stored.ArtifactSha256, actual);
            throw new ModelArtifactIntegrityException(
                $"File model store: model {modelName} version {version}: the artifact's SHA-256 {actual} does not match the recorded {stored.ArtifactSha256} ({path}); refusing to load it.");
        }

        return bytes;
    }

    /// <inheritdoc />
    public Task<byte[]?> DownloadAttachmentAsync(string modelName, int version, string fileName, CancellationToken cancellationToken = default) =>
        AsStoreFailureAsync(() => DownloadAttachmentCoreAsync(modelName, version, fileName, cancellationToken), nameof(DownloadAttachmentAsync), modelName);

    private async Task<byte[]?> DownloadAttachmentCoreAsync(string modelName, int version, string fileName, CancellationToken cancellationToken)
    {
        ValidateName(modelName, "model", nameof(modelName));
        ValidateAttachmentName(fileName, nameof(fileName));
        if (version < 1)
        {
            return null;
        }

        var path = _fileSystem.Path.Combine(VersionPath(modelName, version), AttachmentsFolder, fileName);
        try
        {
            return await _fileSystem.File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    // The contract promises ModelStoreException when "the store failed": a disk or permission error is one.
    private async Task<T> AsStoreFailureAsync<T>(Func<Task<T>> call, string name, string? modelName)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelStoreException($"File model store: {name} for model {modelName} under {RootPath} failed: {ex.Message}", ex);
        }
    }

    private Task AsStoreFailureAsync(Func<Task> call, string name, string? modelName) =>
        AsStoreFailureAsync(async () => { await call().ConfigureAwait(false); return true; }, name, modelName);

    /// <summary>
    /// Letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, starting with a letter or digit: a name becomes a folder or
    /// file name, so it must not climb out of the store (<c>..</c>, separators) nor collide with the store's own dot-files.
    /// </summary>
    internal static void ValidateName(string? value, string what, string parameterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value, parameterName);
        var valid = value.Length <= MaxNameLength
            && char.IsAsciiLetterOrDigit(value[0])
            && value.AsSpan().IndexOfAnyExcept(NameCharacters) < 0;
        if (!valid)
        {
            throw new ArgumentException(
                $"The {what} name '{value}' is not valid in the file model store: use up to {MaxNameLength} ASCII letters, digits, '-', '_' or '.', starting with a letter or digit.",
                parameterName);
        }
    }

    private static readonly System.Buffers.SearchValues<char> NameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    private static void ValidateAttachmentName(string? fileName, string parameterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName, parameterName);
        if (fileName is "." or ".." || fileName.IndexOfAny(['/', '\\', '\0']) >= 0)
        {
            throw new ArgumentException($"Attachment name '{fileName}' must be a plain file name (no folders).", parameterName);
        }
    }

    private string ModelPath(string modelName, string child) => _fileSystem.Path.Combine(RootPath, modelName, child);

    private string VersionPath(string modelName, int version) =>
        _fileSystem.Path.Combine(RootPath, modelName, VersionsFolder, version.ToString(CultureInfo.InvariantCulture));

    private int Commit(string modelName, string staging, string versionsFolder)
    {
        while (true)
        {
            var next = VersionNumbers(versionsFolder).DefaultIfEmpty(0).Max() + 1;
            var target = _fileSystem.Path.Combine(versionsFolder, next.ToString(CultureInfo.InvariantCulture));
            try
            {
                _fileSystem.Directory.Move(staging, target);
                return next;
            }
            catch (IOException) when (_fileSystem.Directory.Exists(target) && _fileSystem.Directory.Exists(staging))
            {
                // Another writer claimed this number first; rescan and take the next one.
                Log.VersionNumberTaken(_logger, modelName, next);
            }
        }
    }

    private IEnumerable<int> VersionNumbers(string versionsFolder)
    {
        if (!_fileSystem.Directory.Exists(versionsFolder))
        {
            return [];
        }

        return _fileSystem.Directory.EnumerateDirectories(versionsFolder)
            .Select(d => _fileSystem.Path.GetFileName(d))
            .Select(n => int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
                && n == v.ToString(CultureInfo.InvariantCulture) ? v : 0)
            .Where(v => v > 0)
            .ToList();
    }

    /// <summary>Removes staging folders whose writer is gone (its lock can be taken): leftovers of a crash or a kill.</summary>
    private void RemoveAbandonedStaging(string modelName, string stagingRoot)
    {
        foreach (var folder in _fileSystem.Directory.EnumerateDirectories(stagingRoot).ToList())
        {
            var lockPath = folder + ".lock";
            FileSystemStream held;
            try
            {
                held = _fileSystem.FileStream.New(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                continue; // a live writer holds it
            }

            using (held)
            {
                if (TryDeleteDirectory(modelName, folder))
                {
                    Log.AbandonedStagingRemoved(_logger, modelName, folder);
                }
            }

            TryDeleteFile(lockPath);
        }
    }

    private string EnsureVersionExists(string modelName, int version, string purpose)
    {
        var folder = VersionPath(modelName, version);
        if (!_fileSystem.File.Exists(_fileSystem.Path.Combine(folder, VersionFileName)))
        {
            throw new ModelStoreException(
                $"File model store: model {modelName} version {version} does not exist under {RootPath}; cannot {purpose}.");
        }

        return folder;
    }

    private async Task<ModelVersion?> ReadVersionAsync(string modelName, int version, Dictionary<string, int> aliases, CancellationToken cancellationToken)
    {
        var stored = await ReadStoredVersionAsync(modelName, version, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }

        var tags = await ReadTagsAsync(VersionPath(modelName, version), cancellationToken).ConfigureAwait(false) ?? stored.Tags;
        List<string> pointing = [.. aliases.Where(a => a.Value == version).Select(a => a.Key).Order(StringComparer.Ordinal)];
        return ToModelVersion(stored, version, tags, pointing);
    }

    private async Task<StoredVersion?> ReadStoredVersionAsync(string modelName, int version, CancellationToken cancellationToken)
    {
        var path = _fileSystem.Path.Combine(VersionPath(modelName, version), VersionFileName);
        byte[] json;
        try
        {
            json = await _fileSystem.File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        return Deserialize(json, FileModelStoreJsonContext.Default.StoredVersion, path);
    }

    private async Task<Dictionary<string, string>?> ReadTagsAsync(string versionFolder, CancellationToken cancellationToken)
    {
        var path = _fileSystem.Path.Combine(versionFolder, TagsFileName);
        try
        {
            var json = await _fileSystem.File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            return Deserialize(json, FileModelStoreJsonContext.Default.DictionaryStringString, path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private async Task<Dictionary<string, int>> ReadAliasesAsync(string modelName, CancellationToken cancellationToken)
    {
        var aliases = new Dictionary<string, int>(StringComparer.Ordinal);
        var folder = ModelPath(modelName, AliasesFolder);
        if (!_fileSystem.Directory.Exists(folder))
        {
            // An empty store has no folder yet; a path that is a file is a mistake, not an empty store.
            if (_fileSystem.File.Exists(RootPath))
            {
                throw new IOException($"{RootPath} is a file, not a store folder");
            }

            return aliases;
        }

        foreach (var path in _fileSystem.Directory.EnumerateFiles(folder))
        {
            // Temporary files of a move in progress (or of a crashed one) start with a dot; alias names cannot.
            var alias = _fileSystem.Path.GetFileName(path);
            if (alias.StartsWith('.'))
            {
                continue;
            }

            byte[] json;
            try
            {
                json = await _fileSystem.File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (FileNotFoundException)
            {
                continue;
            }

            aliases[alias] = Deserialize(json, FileModelStoreJsonContext.Default.StoredAlias, path)!.Version;
        }

        return aliases;
    }

    private static T Deserialize<T>(byte[] json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, string path)
    {
        try
        {
            return JsonSerializer.Deserialize(json, typeInfo)
                ?? throw new ModelStoreException($"File model store: {path} holds null.");
        }
        catch (JsonException ex)
        {
            throw new ModelStoreException($"File model store: {path} is not valid JSON ({ex.Message}); the store was changed outside CtrFallback.", ex);
        }
    }

    private static ModelVersion ToModelVersion(StoredVersion stored, int version, Dictionary<string, string> tags, IReadOnlyList<string> aliases)
    {
        // The recorded SHA-256 is the one downloads are checked against, whatever a later tag write said.
        var visibleTags = new Dictionary<string, string>(tags, StringComparer.Ordinal) { [ModelTags.ArtifactSha256] = stored.ArtifactSha256 };
        return new ModelVersion(
            stored.ModelName,
            version,
            stored.CreatedAt,
            stored.ArtifactSha256,
            stored.Metrics,
            stored.Parameters,
            visibleTags,
            aliases,
            stored.Gate is { } criteria ? new GateDecision(criteria) : null,
            stored.DataFingerprint);
    }

    private static Dictionary<string, string> VersionTags(ModelRegistration registration, string sha256)
    {
        var tags = registration.Tags is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(registration.Tags, StringComparer.Ordinal);
        tags[ModelTags.ArtifactSha256] = sha256;
        if (registration.Gate is { } gate)
        {
            tags[ModelTags.GatePassed] = gate.Passed ? "true" : "false";
            tags[ModelTags.GateReasons] = string.Join('\n', gate.Reasons);
        }

        return tags;
    }

    /// <summary>Writes a new file and flushes it to disk (fsync) before returning.</summary>
    private async Task WriteDurablyAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var stream = _fileSystem.FileStream.New(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 81920, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Replaces a file atomically: a flushed temporary file beside it (its name starting with a dot), renamed over it.</summary>
    private async Task ReplaceDurablyAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        var folder = _fileSystem.Path.GetDirectoryName(path)!;
        var temporary = _fileSystem.Path.Combine(folder, $".{_fileSystem.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await WriteDurablyAsync(temporary, content, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            _fileSystem.File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            TryDeleteFile(temporary);
        }
    }

    private async Task<FileSystemStream> AcquireLockAsync(string lockPath, string what, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return _fileSystem.FileStream.New(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex) when (IsHeldByAnotherWriter(ex))
            {
                if (attempt >= LockAttempts)
                {
                    throw new ModelStoreException($"File model store: timed out waiting for the lock {lockPath} on {what}.", ex);
                }
            }

            await Task.Delay(LockPollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A lock another writer holds is a sharing violation: EWOULDBLOCK from <c>flock</c> (11 on Linux, 35 on macOS), or
    /// ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION on Windows. Anything else (a full disk, a read-only folder) will
    /// not pass by waiting, so it fails the call at once.
    /// </summary>
    private static bool IsHeldByAnotherWriter(IOException exception) =>
        exception.GetType() == typeof(IOException)
        && exception.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    private bool TryDeleteDirectory(string modelName, string path)
    {
        try
        {
            if (!_fileSystem.Directory.Exists(path))
            {
                return false;
            }

            _fileSystem.Directory.Delete(path, recursive: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Harmless: staging folders are invisible to readers, and the next registration tries again.
            Log.StagingCleanupFailed(_logger, modelName, path, ex);
            return false;
        }
    }

    private void TryDeleteFile(string path)
    {
        try
        {
            _fileSystem.File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover lock or temporary file is ignored by readers and removed or reused later.
        }
    }
}
