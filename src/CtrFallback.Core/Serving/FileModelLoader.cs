using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace CtrFallback.Serving;

/// <summary>
/// Loads a model from a file and, when watching, reloads it when the file's identity changes: the directory is watched
/// for every kind of event (so an atomic rename or a Kubernetes ConfigMap <c>..data</c> symlink swap is noticed, not
/// only in-place writes), and the identity (resolved path, size, write time) is also polled as a backstop.
/// </summary>
internal sealed class FileModelLoader : ModelLoader, IDisposable
{
    private readonly MLContext _ml;
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer? _poll;
    private CancellationTokenSource _changed = new();
    private volatile ITransformer? _model;
    private FileIdentity? _loaded;

    public FileModelLoader(MLContext ml, string path, bool watchForChanges, TimeProvider time, TimeSpan pollInterval, ILogger logger)
    {
        _ml = ml;
        _path = Path.GetFullPath(path);
        _logger = logger;
        Check(force: true);
        if (watchForChanges)
        {
            var directory = Path.GetDirectoryName(_path)!;
            _watcher = new FileSystemWatcher(directory)
            {
                // No filter: a ConfigMap swap renames '..data', not the file itself.
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            _watcher.Changed += (_, _) => Check(force: false);
            _watcher.Created += (_, _) => Check(force: false);
            _watcher.Deleted += (_, _) => Check(force: false);
            _watcher.Renamed += (_, _) => Check(force: false);
            _watcher.Error += (_, _) => Check(force: false);
            _watcher.EnableRaisingEvents = true;
            _poll = time.CreateTimer(_ => Check(force: false), null, pollInterval, pollInterval);
        }
    }

    public override IChangeToken GetReloadToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public override ITransformer GetModel() => _model ?? throw new ModelNotReadyException($"The model file '{_path}' has not been loaded (missing or unreadable).");

    public override Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        Check(force: true);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _poll?.Dispose();
        _changed.Dispose();
    }

    private void Check(bool force)
    {
        CancellationTokenSource fired;
        lock (_lock)
        {
            var identity = FileIdentity.Read(_path);
            if (identity is null || (!force && identity == _loaded))
            {
                return;
            }

            try
            {
                var model = ArtifactTransformer.Load(_ml, File.ReadAllBytes(_path));
                _model = model;
                _loaded = identity;
                ServingLog.LoaderLoaded(_logger, _path, identity.ToString()!);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or FormatException)
            {
                // Possibly half-written: keep the old model; the next event or poll tries again.
                ServingLog.LoaderFailed(_logger, _path, ex);
                return;
            }

            fired = _changed;
            _changed = new CancellationTokenSource();
        }

        fired.Cancel();
        fired.Dispose();
    }

    /// <summary>What makes a file "another file": its path with every symlink resolved, its size and its write time.</summary>
    private sealed record FileIdentity(string RealPath, long Length, DateTime LastWriteUtc)
    {
        public static FileIdentity? Read(string path)
        {
            try
            {
                var real = Resolve(path);
                var info = new FileInfo(real);
                return info.Exists ? new FileIdentity(real, info.Length, info.LastWriteTimeUtc) : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        /// <summary>Resolves symlinks in every component (File.ResolveLinkTarget only follows the last one), at most 40 hops.</summary>
        private static string Resolve(string path)
        {
            var current = Path.GetFullPath(path);
            for (var hops = 0; hops < 40; hops++)
            {
                var resolved = ResolveOnce(current);
                if (resolved == current)
                {
                    return current;
                }

                current = resolved;
            }

            return current;
        }

        private static string ResolveOnce(string path)
        {
            var root = Path.GetPathRoot(path)!;
            var parts = path[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var prefix = root;
            for (var i = 0; i < parts.Length; i++)
            {
                var next = Path.Combine(prefix, parts[i]);
                var target = new FileInfo(next).LinkTarget;
                if (target is not null)
                {
                    var absolute = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(prefix, target));
                    return Path.Combine([absolute, .. parts[(i + 1)..]]);
                }

                prefix = next;
            }

            return path;
        }
    }
}
