using System.Diagnostics;

namespace CtrFallback.Testing;

/// <summary>
/// Makes a folder tree read-only for real, for as long as it is not disposed: <c>chmod a-w</c>, which binds an ordinary
/// user; where that does not bind (root ignores permission bits), <c>chattr +i</c>, which makes every entry immutable
/// even for root (ext4, xfs, btrfs, with CAP_LINUX_IMMUTABLE). Checked by trying to create a file: when neither binds,
/// <see cref="TryMake"/> says why, for the test to skip visibly.
/// </summary>
public sealed class ReadOnlyFolder : IDisposable
{
    private readonly string _path;
    private readonly bool _immutable;

    private ReadOnlyFolder(string path, bool immutable, string how)
    {
        _path = path;
        _immutable = immutable;
        How = how;
    }

    /// <summary>How the folder was made read-only: <c>chmod a-w</c> or <c>chattr +i</c>.</summary>
    public string How { get; }

    /// <summary>Makes <paramref name="path"/> and everything under it read-only; null (and why) when this machine does not let it bind.</summary>
    public static ReadOnlyFolder? TryMake(string path, out string whyNot)
    {
        whyNot = string.Empty;
        if (OperatingSystem.IsWindows())
        {
            whyNot = "read-only folders are made with chmod or chattr, which Windows does not have";
            return null;
        }

        SetWritable(path, writable: false);
        if (!IsWritable(path))
        {
            return new ReadOnlyFolder(path, immutable: false, "chmod a-w");
        }

        SetWritable(path, writable: true);
        var (exitCode, output) = Run("chattr", "-R", "+i", path);
        if (exitCode == 0 && !IsWritable(path))
        {
            return new ReadOnlyFolder(path, immutable: true, "chattr +i");
        }

        Run("chattr", "-R", "-i", path);
        whyNot = $"permission bits do not bind this user (root?) and chattr +i did not either (exit {exitCode}: {output.Trim()})";
        return null;
    }

    /// <summary>Makes the folder writable again.</summary>
    public void Dispose()
    {
        if (_immutable)
        {
            Run("chattr", "-R", "-i", _path);
        }
        else
        {
            SetWritable(_path, writable: true);
        }
    }

    private static bool IsWritable(string path)
    {
        var probe = Path.Combine(path, ".write-probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            File.WriteAllText(probe, string.Empty);
            File.Delete(probe);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void SetWritable(string path, bool writable)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode Write = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories).Prepend(path))
        {
            var mode = File.GetUnixFileMode(entry);
            File.SetUnixFileMode(entry, writable ? mode | UnixFileMode.UserWrite : mode & ~Write);
        }
    }

    private static (int ExitCode, string Output) Run(string command, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, $"{command} is not available: {ex.Message}");
        }
    }
}
