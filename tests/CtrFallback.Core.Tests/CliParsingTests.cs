using CtrFallback.Testing;

namespace CtrFallback.Tests;

/// <summary>The `ctrfallback` process's command line, parsed by System.CommandLine: typos named, help per command, exit code 2 for usage.</summary>
public sealed class CliParsingTests
{
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliParsingTests).Assembly);

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
    public async Task Train_WithAWindowOverFilesOutsidePartitions_ExitsOneNamingTheOptionItsFlagAndTheFile()
    {
        using var dir = new TempDirectory();
        var log = dir.File("clicks.tsv");
        CtrFallback.Data.SyntheticClickLog.Write(log, new CtrFallback.Data.SyntheticClickLogOptions { Rows = 100, Seed = 1 });

        var (exitCode, output) = await RunAsync("train", "--data", log, "--window", "3d", "--store", dir.File("store"));

        exitCode.Should().Be(1, output);
        output.Should().Contain("Training:Window").And.Contain($"'{log}'").And.Contain("(--window)");
    }

    [Fact]
    public async Task UnknownCommand_IsNamedWithTheClosestOne()
    {
        var (exitCode, output) = await RunAsync("trian");

        exitCode.Should().Be(2, output);
        output.Should().Contain("'trian'").And.Contain("train");
    }

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => CliProcess.RunAsync(Cli, args, TimeSpan.FromMinutes(1));
}
