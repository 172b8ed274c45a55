using System.Globalization;
using System.Net;
using System.Text.Json;
using CtrFallback.Testing;

namespace CtrFallback.Tests;

/// <summary>
/// Kubernetes API rows of the fault matrix through the `ctrfallback promote` process: the alias move is the commit
/// point and the rollout is triggered after it, so when the trigger fails the champion HAS moved, the CLI exits 3
/// ("deployment failed") with the API's answer in words, and promoting the same version again re-runs the rollout.
/// </summary>
public sealed class CliPromoteFaultTests : IAsyncLifetime
{
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliPromoteFaultTests).Assembly);
    private readonly TempDirectory _dir = new();
    private LoopbackKubernetesApiServer _server = null!;
    private TempKubeconfig _kubeconfig = null!;
    private int _champion;
    private int _target;

    private string Store => _dir.File("store");

    public async Task InitializeAsync()
    {
        _server = await LoopbackKubernetesApiServer.StartAsync();
        _kubeconfig = new TempKubeconfig(_server.BaseAddress, _server.Token, _server.Namespace);

        // Two versions made by the CLI (no trigger configured yet); the one that is not champion is promoted below.
        var log = _dir.File("clicks.tsv");
        (await RunAsync("generate", "--rows", "20000", "--out", log)).ExitCode.Should().Be(0);
        (await RunAsync("train", "--data", log, "--store", Store)).ExitCode.Should().Be(0);
        (await RunAsync("train", "--data", log, "--store", Store, "--holdout-fraction", "0.2")).ExitCode.Should().Be(0);
        _champion = (await ChampionAsync())!.Value;
        _target = _champion == 1 ? 2 : 1;
    }

    public async Task DisposeAsync()
    {
        _kubeconfig.Dispose();
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Promote_WhenThePatchKeepsFailingWith5xx_ExitsThreeWithTheApisAnswer_TheChampionHasMoved_AndPromotingAgainRerunsTheRollout()
    {
        // Both attempts (MaxRetryAttempts = 1 below) fail; the next promote finds the API healthy again.
        _server.FailNext("PATCH", HttpStatusCode.ServiceUnavailable);
        _server.FailNext("PATCH", HttpStatusCode.ServiceUnavailable);

        var (exitCode, output) = await PromoteAsync();

        exitCode.Should().Be(3, output);
        output.Should().Contain("deployment    Failed: The Kubernetes API kept failing to patch").And.Contain("2 attempts").And.Contain("503");
        (await ChampionAsync()).Should().Be(_target, "the alias move is the commit point; the rollout comes after it");
        _server.Count("PATCH").Should().Be(2);

        var (again, againOutput) = await PromoteAsync();

        again.Should().Be(0, againOutput);
        againOutput.Should().Contain("deployment    Succeeded");
        (await ChampionAsync()).Should().Be(_target);
    }

    [Fact]
    public async Task Promote_WhenRbacForbidsThePatch_ExitsThreeNamingTheMissingVerb_AndTheChampionHasMoved()
    {
        _server.Forbid("patch");

        var (exitCode, output) = await PromoteAsync();

        exitCode.Should().Be(3, output);
        output.Should().Contain("Permission denied (403 Forbidden)").And.Contain("Grant verb 'patch' on resource 'rollouts'");
        (await ChampionAsync()).Should().Be(_target);
        _server.Count("PATCH").Should().Be(1, "403 is not retried");
    }

    [Fact]
    public async Task Promote_WhenTheRolloutDoesNotExist_ExitsThreeSayingWhichRolloutIsMissing_AndTheChampionHasMoved()
    {
        var (exitCode, output) = await PromoteAsync(rollout: "ctr-inferense");

        exitCode.Should().Be(3, output);
        output.Should().Contain("Argo Rollout 'ctr-inferense' was not found in namespace 'ads'");
        (await ChampionAsync()).Should().Be(_target);
    }

    [Fact]
    public async Task Promote_WhenThePatchHangsPastTheTriggersTimeout_ExitsThreeSayingItTimedOut_AndTheChampionHasMoved()
    {
        _server.BreakNext("PATCH", ConnectionFault.Hang);

        var (exitCode, output) = await PromoteAsync(environment: new() { ["CtrFallback__Argo__Timeout"] = "00:00:02", ["CtrFallback__Argo__AttemptTimeout"] = "00:01:00" });

        exitCode.Should().Be(3, output);
        output.Should().Contain("deployment    TimedOut:").And.Contain("within 00:00:02");
        (await ChampionAsync()).Should().Be(_target);
    }

    private Task<(int ExitCode, string Output)> PromoteAsync(string? rollout = null, Dictionary<string, string>? environment = null) => RunAsync(
        ["promote", "--version", _target.ToString(CultureInfo.InvariantCulture), "--force", "--store", Store,
            "--argo-rollout", rollout ?? _server.RolloutName, "--argo-namespace", _server.Namespace, "--kubeconfig", _kubeconfig.Path, "--argo-context", _kubeconfig.Context],
        environment);

    private async Task<int?> ChampionAsync()
    {
        var (exitCode, output) = await RunAsync(["models", "--store", Store, "--json"]);
        exitCode.Should().Be(0, output);
        return JsonDocument.Parse(output).RootElement.EnumerateArray()
            .Where(v => v.GetProperty("aliases").EnumerateArray().Any(a => a.GetString() == ModelAliases.Champion))
            .Select(v => (int?)v.GetProperty("version").GetInt32())
            .SingleOrDefault();
    }

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => RunAsync(args, null);

    // One retry, quickly: the CLI reads every setting from CtrFallback__… environment variables too.
    private static Task<(int ExitCode, string Output)> RunAsync(string[] args, Dictionary<string, string>? environment)
    {
        var settings = new Dictionary<string, string>
        {
            ["CtrFallback__Argo__PollInterval"] = "00:00:00.100",
            ["CtrFallback__Argo__Timeout"] = "00:01:00",
            ["CtrFallback__Argo__MaxRetryAttempts"] = "1",
            ["CtrFallback__Argo__RetryDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in environment ?? [])
        {
            settings[key] = value;
        }

        return CliProcess.RunAsync(Cli, args, TimeSpan.FromMinutes(3), settings);
    }
}
