using System.Text.Json;
using System.Text.Json.Nodes;
using CtrFallback.Testing;

namespace CtrFallback.Tests;

/// <summary>
/// `ctrfallback promote` as a separate process with the Argo trigger in canary mode (CtrFallback__Argo__Mode=Canary),
/// over a real file store and the loopback Kubernetes API: the promotion pins the version in the pod template; when
/// the canary's analysis aborts the update, CtrFallback__Argo__RollbackAliasOnAbort decides whether the alias follows.
/// </summary>
public sealed class CliCanaryTests : IAsyncLifetime
{
    private const string Analysis = "Metric \"score-psi\" assessed Failed due to failed (1) > failureLimit (0)";
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliCanaryTests).Assembly);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ctrfallback-canary-" + Guid.NewGuid().ToString("N"));
    private LoopbackKubernetesApiServer _server = null!;
    private TempKubeconfig _kubeconfig = null!;

    private string Store => Path.Combine(_dir, "store");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await LoopbackKubernetesApiServer.StartAsync();
        _kubeconfig = new TempKubeconfig(_server.BaseAddress, _server.Token, _server.Namespace);

        // The cluster serves v1 (pinned in the stable template); the store has v1 as champion and v2 registered beside it.
        _server.SetContainers(new JsonArray(new JsonObject
        {
            ["name"] = "inference-server",
            ["env"] = new JsonArray(new JsonObject { ["name"] = ArgoRolloutsOptions.VersionVariable, ["value"] = "1" }),
        }));
        var log = Path.Combine(_dir, "clicks.tsv");
        (await RunAsync("generate", "--rows", "20000", "--out", log)).ExitCode.Should().Be(0);
        (await RunAsync("train", "--data", log, "--store", Store, "--json")).ExitCode.Should().Be(0);
        (await RunAsync("train", "--data", log, "--store", Store, "--json")).ExitCode.Should().Be(0);
        if (await ChampionAsync() == 2)
        {
            (await RunAsync("rollback", "--store", Store)).ExitCode.Should().Be(0);
        }

        (await ChampionAsync()).Should().Be(1);
    }

    public async Task DisposeAsync()
    {
        _kubeconfig.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Promote_WhenTheCanaryAnalysisAborts_AndRollbackAliasOnAbortIsOn_MovesTheAliasBackAndPinsTheOldVersionAgain()
    {
        _server.Script = ControllerScript.PerUpdate(ControllerScript.CanaryAnalysisFails(Analysis), ControllerScript.FastRollback());

        var (exitCode, output) = await PromoteAsync(rollbackOnAbort: true);

        exitCode.Should().Be(3, output);
        var result = FirstJson(output);
        result.GetProperty("champion").GetInt32().Should().Be(2, "the promotion itself happened");
        result.GetProperty("deployment").GetProperty("status").GetString().Should().Be("Failed");
        result.GetProperty("deployment").GetProperty("message").GetString().Should().Contain(Analysis).And.Contain("moved back to ctr/1 (rollback)");
        result.GetProperty("rollback").GetProperty("champion").GetInt32().Should().Be(1);
        result.GetProperty("rollback").GetProperty("deployment").GetProperty("status").GetString().Should().Be("Succeeded");
        (await ChampionAsync()).Should().Be(1, "store and cluster agree");
        _server.Requests.Where(r => r.Method == "PATCH").Should().HaveCount(2).And.AllSatisfy(r => r.ContentType.Should().StartWith("application/json-patch+json"));
        _server.EnvValue("inference-server", ArgoRolloutsOptions.VersionVariable).Should().Be("1", "the rollback pinned v1 again: the stable template");
    }

    [Fact]
    public async Task Promote_WhenTheCanaryAnalysisAborts_AndRollbackAliasOnAbortIsOff_ReportsTheAbortAndLeavesTheAlias()
    {
        _server.Script = ControllerScript.CanaryAnalysisFails(Analysis);

        var (exitCode, output) = await PromoteAsync(rollbackOnAbort: false);

        exitCode.Should().Be(3, output);
        output.Should().Contain("RolloutAborted").And.Contain(Analysis);
        (await ChampionAsync()).Should().Be(2);
        _server.Count("PATCH").Should().Be(1);
        _server.EnvValue("inference-server", ArgoRolloutsOptions.VersionVariable).Should().Be("2");
    }

    private Task<(int ExitCode, string Output)> PromoteAsync(bool rollbackOnAbort) => CliProcess.RunAsync(
        Cli,
        ["promote", "--version", "2", "--force", "--store", Store, "--json",
         "--argo-rollout", _server.RolloutName, "--argo-namespace", _server.Namespace, "--kubeconfig", _kubeconfig.Path, "--argo-context", _kubeconfig.Context],
        TimeSpan.FromMinutes(3),
        new Dictionary<string, string>
        {
            ["CtrFallback__Argo__PollInterval"] = "00:00:00.100",
            ["CtrFallback__Argo__Timeout"] = "00:01:00",
            ["CtrFallback__Argo__Mode"] = "Canary",
            ["CtrFallback__Argo__RollbackAliasOnAbort"] = rollbackOnAbort ? "true" : "false",
        });

    /// <summary>The JSON the command printed on standard output; the error log lines on standard error follow it.</summary>
    private static JsonElement FirstJson(string output)
    {
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(output[output.IndexOf('{', StringComparison.Ordinal)..]));
        return JsonDocument.ParseValue(ref reader).RootElement.Clone();
    }

    private async Task<int?> ChampionAsync()
    {
        var (exitCode, output) = await RunAsync("models", "--store", Store, "--json");
        exitCode.Should().Be(0, output);
        return JsonDocument.Parse(output).RootElement.EnumerateArray()
            .Where(v => v.GetProperty("aliases").EnumerateArray().Any(a => a.GetString() == "champion"))
            .Select(v => (int?)v.GetProperty("version").GetInt32())
            .SingleOrDefault();
    }

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => CliProcess.RunAsync(Cli, args, TimeSpan.FromMinutes(3));
}
