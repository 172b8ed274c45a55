using System.IO.Abstractions;
using System.Reflection;
using System.Runtime.ExceptionServices;

namespace CtrFallback.Testing;

/// <summary>
/// One call made through a <see cref="FaultingFileSystem"/>: <see cref="Operation"/> is <c>File.&lt;method&gt;</c>,
/// <c>Directory.&lt;method&gt;</c>, <c>FileStream.New</c>, or, on a stream it opened, <c>Stream.Write</c>,
/// <c>Stream.Flush</c>, <c>Stream.Fsync</c> (a flush to disk) or <c>Stream.Read</c>.
/// </summary>
/// <param name="Operation">What is called.</param>
/// <param name="Path">The path it is called on (a move's source).</param>
/// <param name="Destination">A move's or copy's destination.</param>
public sealed record FileSystemCall(string Operation, string Path, string? Destination = null)
{
    /// <summary>The last segment of <see cref="Path"/>.</summary>
    public string FileName => System.IO.Path.GetFileName(Path);

    /// <summary>Whether <see cref="Path"/> has a folder (or file) named <paramref name="segment"/> in it.</summary>
    public bool Under(string segment) => Path.Split('/', '\\').Contains(segment, StringComparer.Ordinal);
}

/// <summary>
/// A real (or any) <see cref="IFileSystem"/> with rules in front of it: every call is forwarded to the inner file system,
/// except that a rule matching it runs first, and may throw the error the condition under test raises (see
/// <see cref="FileSystemFaults"/>), park the caller, or cancel a token. A test seam that lives in the tests, injected
/// where the store takes its <see cref="IFileSystem"/>.
/// </summary>
/// <remarks>
/// <see cref="IFile"/> has about a hundred members and <see cref="IDirectory"/> fifty: a <see cref="DispatchProxy"/>
/// forwards them all and shows each call to the rules by name and path, where a hand-written wrapper would repeat them.
/// </remarks>
public sealed class FaultingFileSystem : IFileSystem
{
    private readonly IFileSystem _inner;
    private readonly Lock _gate = new();
    private readonly List<Rule> _rules = [];
    private readonly List<FileSystemCall> _calls = [];

    /// <summary>Wraps <paramref name="inner"/>; with no rule, every call goes straight through.</summary>
    public FaultingFileSystem(IFileSystem inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        File = Intercepting<IFile>.Create(inner.File, "File", this);
        Directory = Intercepting<IDirectory>.Create(inner.Directory, "Directory", this);
        FileStream = Intercepting<IFileStreamFactory>.Create(inner.FileStream, "FileStream", this);
    }

    /// <summary>The calls the rules saw, in order (only calls made while <see cref="Recording"/> is on).</summary>
    public IReadOnlyList<FileSystemCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Whether <see cref="Calls"/> records; off by default (a big registration makes many stream calls).</summary>
    public bool Recording { get; set; }

    /// <summary>How many times a rule's action ran.</summary>
    public int Fired { get; private set; }

    /// <inheritdoc />
    public IFile File { get; }

    /// <inheritdoc />
    public IDirectory Directory { get; }

    /// <inheritdoc />
    public IFileStreamFactory FileStream { get; }

    /// <inheritdoc />
    public IDirectoryInfoFactory DirectoryInfo => _inner.DirectoryInfo;

    /// <inheritdoc />
    public IDriveInfoFactory DriveInfo => _inner.DriveInfo;

    /// <inheritdoc />
    public IFileInfoFactory FileInfo => _inner.FileInfo;

    /// <inheritdoc />
    public IFileSystemWatcherFactory FileSystemWatcher => _inner.FileSystemWatcher;

    /// <inheritdoc />
    public IFileVersionInfoFactory FileVersionInfo => _inner.FileVersionInfo;

    /// <inheritdoc />
    public IPath Path => _inner.Path;

    /// <inheritdoc />
    public IRandomAccess RandomAccess => _inner.RandomAccess;

    /// <summary>Runs <paramref name="action"/> before every call that <paramref name="matches"/> (at most <paramref name="times"/> times).</summary>
    public FaultingFileSystem When(Func<FileSystemCall, bool> matches, Action<FileSystemCall> action, int times = int.MaxValue)
    {
        lock (_gate)
        {
            _rules.Add(new Rule(matches, action, times));
        }

        return this;
    }

    /// <summary>Throws <paramref name="fault"/>'s exception instead of every call that <paramref name="matches"/>.</summary>
    public FaultingFileSystem Fail(Func<FileSystemCall, bool> matches, Func<FileSystemCall, Exception> fault, int times = int.MaxValue) =>
        When(matches, call => throw fault(call), times);

    /// <summary>Removes every rule: from now on the file system behaves as the inner one.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _rules.Clear();
        }
    }

    internal void Before(FileSystemCall call)
    {
        Rule? rule;
        lock (_gate)
        {
            if (Recording)
            {
                _calls.Add(call);
            }

            rule = _rules.FirstOrDefault(r => r.Remaining > 0 && r.Matches(call));
            if (rule is null)
            {
                return;
            }

            rule.Remaining--;
            Fired++;
        }

        // Outside the lock: an action may park this caller while others go on.
        rule.Action(call);
    }

    private sealed class Rule(Func<FileSystemCall, bool> matches, Action<FileSystemCall> action, int times)
    {
        public Func<FileSystemCall, bool> Matches { get; } = matches;

        public Action<FileSystemCall> Action { get; } = action;

        public int Remaining { get; set; } = times;
    }

    /// <summary>Forwards every member of <typeparamref name="T"/>, showing the call to the rules first; wraps the streams it returns.</summary>
#pragma warning disable CA1852 // DispatchProxy derives a class from it at run time, so it cannot be sealed.
    internal class Intercepting<T> : DispatchProxy
#pragma warning restore CA1852
        where T : class
    {
        private T _target = null!;
        private string _area = null!;
        private FaultingFileSystem _owner = null!;

        public static T Create(T target, string area, FaultingFileSystem owner)
        {
            var proxy = DispatchProxy.Create<T, Intercepting<T>>();
            var self = (Intercepting<T>)(object)proxy;
            (self._target, self._area, self._owner) = (target, area, owner);
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            var strings = (args ?? []).OfType<string>().ToList();
            if (!targetMethod.IsSpecialName && strings.Count > 0)
            {
                var destination = targetMethod.Name is "Move" or "Copy" or "Replace" && strings.Count > 1 ? strings[1] : null;
                _owner.Before(new FileSystemCall($"{_area}.{targetMethod.Name}", strings[0], destination));
            }

            object? result;
            try
            {
                result = targetMethod.Invoke(_target, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
                throw;
            }

            return result is FileSystemStream stream ? new FaultingStream(stream, _owner) : result;
        }
    }

    /// <summary>A stream of the inner file system whose writes, flushes and reads the rules see first.</summary>
    private sealed class FaultingStream(FileSystemStream inner, FaultingFileSystem owner) : FileSystemStream(inner, inner.Name, inner.IsAsync)
    {
        public override void Write(byte[] buffer, int offset, int count)
        {
            owner.Before(new FileSystemCall("Stream.Write", Name));
            inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.Before(new FileSystemCall("Stream.Write", Name));
            inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            owner.Before(new FileSystemCall("Stream.Write", Name));
            return inner.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Before(new FileSystemCall("Stream.Write", Name));
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override void WriteByte(byte value)
        {
            owner.Before(new FileSystemCall("Stream.Write", Name));
            inner.WriteByte(value);
        }

        public override void Flush()
        {
            owner.Before(new FileSystemCall("Stream.Flush", Name));
            inner.Flush();
        }

        public override void Flush(bool flushToDisk)
        {
            owner.Before(new FileSystemCall(flushToDisk ? "Stream.Fsync" : "Stream.Flush", Name));
            inner.Flush(flushToDisk);
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            owner.Before(new FileSystemCall("Stream.Flush", Name));
            return inner.FlushAsync(cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            owner.Before(new FileSystemCall("Stream.Read", Name));
            return inner.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            owner.Before(new FileSystemCall("Stream.Read", Name));
            return inner.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            owner.Before(new FileSystemCall("Stream.Read", Name));
            return inner.ReadAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Before(new FileSystemCall("Stream.Read", Name));
            return inner.ReadAsync(buffer, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}

/// <summary>
/// The exceptions .NET raises for the conditions of the fault matrix, as it raises them on Linux: an
/// <see cref="IOException"/> whose <see cref="Exception.HResult"/> is the errno and whose message is strerror's text and
/// the path (the Windows HRESULT where that is the platform), and <see cref="UnauthorizedAccessException"/> for EACCES.
/// </summary>
public static class FileSystemFaults
{
    /// <summary>ENOSPC (28) / ERROR_DISK_FULL (0x70): the disk is full.</summary>
    public static IOException DiskFull(string path) =>
        new($"No space left on device : '{path}'", OperatingSystem.IsWindows() ? unchecked((int)0x80070070) : 28);

    /// <summary>EACCES (13): the process may not write (or read) there.</summary>
    public static UnauthorizedAccessException PermissionDenied(string path) =>
        new($"Access to the path '{path}' is denied.", new IOException("Permission denied", OperatingSystem.IsWindows() ? unchecked((int)0x80070005) : 13));

    /// <summary>EROFS (30) / ERROR_WRITE_PROTECT (0x13): the folder is on a read-only mount.</summary>
    public static IOException ReadOnly(string path) =>
        new($"Read-only file system : '{path}'", OperatingSystem.IsWindows() ? unchecked((int)0x80070013) : 30);

    /// <summary>EIO (5): the device failed the read or write.</summary>
    public static IOException DeviceError(string path) =>
        new($"Input/output error : '{path}'", OperatingSystem.IsWindows() ? unchecked((int)0x8007045D) : 5);

    /// <summary>The fault named <paramref name="name"/>: DiskFull, PermissionDenied, ReadOnly or DeviceError.</summary>
    public static Exception Named(string name, string path) => name switch
    {
        nameof(DiskFull) => DiskFull(path),
        nameof(PermissionDenied) => PermissionDenied(path),
        nameof(ReadOnly) => ReadOnly(path),
        nameof(DeviceError) => DeviceError(path),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown file system fault."),
    };
}
