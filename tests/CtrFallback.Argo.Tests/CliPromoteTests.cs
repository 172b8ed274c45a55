using System.Text.Json;
using CtrFallback.Testing;

namespace CtrFallback.Tests;

/// <summary>
/// The `ctrfallback` CLI as a separate process, configured by its options alone, against the loopback Kubernetes API:
/// `promote --argo-rollout R --argo-namespace N --kubeconfig F --argo-context C` patches the Rollout once and waits for it
/// (the kubeconfig's current context points elsewhere, so the context option is exercised too).
/// </summary>
public sealed class CliPromoteTests : IAsyncLifetime
{
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliPromoteTests).Assembly);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ctrfallback-cli-" + Guid.NewGuid().ToString("N"));
    private LoopbackKubernetesApiServer _server = null!;
    private TempKubeconfig _kubeconfig = null!;

    private string Store => Path.Combine(_dir, "store");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await LoopbackKubernetesApiServer.StartAsync();
        _kubeconfig = new TempKubeconfig(_server.BaseAddress, _server.Token, _server.Namespace);

        // One registered version to promote, made by the CLI itself (no trigger configured: nothing is patched yet).
        var log = Path.Combine(_dir, "clicks.tsv");
        (await RunAsync("generate", "--rows", "20000", "--out", log)).ExitCode.Should().Be(0);
        (await RunAsync("train", "--data", log, "--store", Store, "--json")).ExitCode.Should().Be(0);
    }

    public async Task DisposeAsync()
    {
        _kubeconfig.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<(int ExitCode, string Output)> Promote() => RunAsync(
        "promote", "--version", "1", "--force", "--store", Store, "--json",
        "--argo-rollout", _server.RolloutName, "--argo-namespace", _server.Namespace, "--kubeconfig", _kubeconfig.Path, "--argo-context", _kubeconfig.Context);

    [Fact]
    public async Task Promote_WithArgoOptions_SendsOneMergePatchAndExitsZeroOnceHealthy()
    {
        _server.Script = ControllerScript.BecomesHealthy(progressingReads: 2);

        var (exitCode, output) = await Promote();

        exitCode.Should().Be(0, output);
        var patch = _server.Requests.Should().ContainSingle(r => r.Method == "PATCH").Which;
        patch.Path.Should().Be(_server.RolloutPath);
        patch.ContentType.Should().StartWith("application/merge-patch+json");
        patch.Authorization.Should().Be($"Bearer {_server.Token}");
        var restartAt = JsonDocument.Parse(patch.Body).RootElement.GetProperty("spec").GetProperty("restartAt").GetString();
        restartAt.Should().NotBeNullOrEmpty();
        _server.Count("GET").Should().BeGreaterThanOrEqualTo(3, "the CLI waits through Progressing until Healthy with restartedAt set");
        var result = JsonDocument.Parse(output).RootElement;
        result.GetProperty("champion").GetInt32().Should().Be(1);
        result.GetProperty("deployment").GetProperty("status").GetString().Should().Be("Succeeded");
    }

    [Fact]
    public async Task Promote_WhenTheRolloutGoesDegraded_ExitsNonZeroWithTheRolloutsMessage()
    {
        _server.Script = ControllerScript.BecomesDegraded("ProgressDeadlineExceeded: ReplicaSet \"ctr-inference-5d9\" has timed out progressing.");

        var (exitCode, output) = await Promote();

        exitCode.Should().Be(3, output);
        output.Should().Contain("Failed").And.Contain("ProgressDeadlineExceeded");
        _server.Count("PATCH").Should().Be(1);
    }

    // Poll the Rollout quickly; the CLI reads every setting from CtrFallback__… environment variables too.
    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => CliProcess.RunAsync(
        Cli,
        args,
        TimeSpan.FromMinutes(3),
        new Dictionary<string, string> { ["CtrFallback__Argo__PollInterval"] = "00:00:00.100", ["CtrFallback__Argo__Timeout"] = "00:01:00" });
}
