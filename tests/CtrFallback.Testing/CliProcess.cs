using System.Diagnostics;
using System.Reflection;

namespace CtrFallback.Testing;

/// <summary>The real `ctrfallback` CLI as a separate process, located by the test assembly's <c>CliPath</c> metadata.</summary>
public static class CliProcess
{
    /// <summary>The CLI's path, from an <see cref="AssemblyMetadataAttribute"/> named <c>CliPath</c> on <paramref name="testAssembly"/>.</summary>
    public static string PathFrom(Assembly testAssembly) =>
        testAssembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "CliPath").Value!;

    /// <summary>A start description for <c>dotnet CLI args...</c> with redirected output.</summary>
    public static ProcessStartInfo StartInfo(string cli, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return start;
    }

    /// <summary>Runs the CLI to its end (bounded by <paramref name="timeout"/>); returns its exit code and its stdout then stderr.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string cli, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Process.Start(StartInfo(cli, args, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancellation.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
