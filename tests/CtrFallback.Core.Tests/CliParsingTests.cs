using System.Diagnostics;
using System.Reflection;

namespace CtrFallback.Tests;

/// <summary>The `ctrfallback` process's command line, parsed by System.CommandLine: typos named, help per command, exit code 2 for usage.</summary>
public sealed class CliParsingTests
{
    private static readonly string Cli = typeof(CliParsingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "CliPath").Value!;

    [Fact]
    public async Task Train_WithAMistypedOption_NamesItSuggestsTheRealOneAndExitsTwo()
    {
        var (exitCode, output) = await RunAsync("train", "--dta", "clicks.tsv");

        exitCode.Should().Be(2, output);
        output.Should().Contain("'--dta'").And.Contain("--data").And.Contain("Run 'ctrfallback train --help'");
        output.Should().NotContain("is required", "an unknown option is reported before a missing one");
    }

    [Fact]
    public async Task Train_Help_ListsItsOwnOptionsAndExitsZero()
    {
        var (exitCode, output) = await RunAsync("train", "--help");

        exitCode.Should().Be(0, output);
        output.Should().Contain("--data").And.Contain("--temp-dir").And.Contain("--check-frequency").And.Contain("--argo-rollout");
        output.Should().NotContain("--learnable", "generate's options are not train's");
    }

    [Fact]
    public async Task UnknownCommand_IsNamedWithTheClosestOne()
    {
        var (exitCode, output) = await RunAsync("trian");

        exitCode.Should().Be(2, output);
        output.Should().Contain("'trian'").And.Contain("train");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Cli);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
