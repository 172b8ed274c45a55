using System.Diagnostics;
using System.Reflection;

namespace CtrFallback.Tests.Store;

/// <summary>A running <c>CtrFallback.StoreProbe</c> process (see its Program.cs for the modes and the lines it prints).</summary>
internal sealed class StoreProbe : IDisposable
{
    // A guard against a hung probe failing the run forever, not a timing assertion.
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private readonly Process _process;
    private readonly Task<string> _standardError;

    private StoreProbe(Process process)
    {
        _process = process;
        _standardError = process.StandardError.ReadToEndAsync();
    }

    public static string ProbePath { get; } = typeof(StoreProbe).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "StoreProbePath").Value!;

    public int Id => _process.Id;

    public static StoreProbe Start(params string[] arguments)
    {
        File.Exists(ProbePath).Should().BeTrue($"the probe is built with the tests, at {ProbePath}");
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ProbePath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new StoreProbe(Process.Start(start)!);
    }

    /// <summary>Reads lines until one starts with <paramref name="prefix"/>; fails if the probe ends first.</summary>
    public async Task<string> WaitForLineAsync(string prefix)
    {
        using var guard = new CancellationTokenSource(HangGuard);
        while (await _process.StandardOutput.ReadLineAsync(guard.Token) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }

        await _process.WaitForExitAsync(guard.Token);
        throw new InvalidOperationException($"Probe {Id} exited with {_process.ExitCode} before printing '{prefix}'. stderr:\n{await _standardError}");
    }

    /// <summary>Reads the rest of the output and waits for a clean exit.</summary>
    public async Task<IReadOnlyList<string>> ReadToEndAsync()
    {
        using var guard = new CancellationTokenSource(HangGuard);
        var output = await _process.StandardOutput.ReadToEndAsync(guard.Token);
        await _process.WaitForExitAsync(guard.Token);
        _process.ExitCode.Should().Be(0, $"probe {Id} must succeed; stderr:\n{await _standardError}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Kills the probe with SIGKILL (on Unix), as an OOM killer or a node loss would, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        using var guard = new CancellationTokenSource(HangGuard);
        await _process.WaitForExitAsync(guard.Token);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static string DotnetHost()
    {
        // The host running these tests, when it is dotnet itself; otherwise the one the SDK names, or the one on PATH.
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }
}
