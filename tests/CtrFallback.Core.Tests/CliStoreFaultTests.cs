using System.Text.Json;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>
/// File-system rows of the fault matrix through the `ctrfallback` CLI as a separate process. A process cannot take the
/// tests' FaultingFileSystem, so these are the conditions a test can produce for real: a store path that is a file,
/// and a store folder made read-only (chmod, or chattr +i as root; skipped, visibly, where neither binds). A full disk
/// needs a mount of its own and is covered by the injected rows (FileModelStoreFaultMatrixTests). The CLI exits 1
/// ("error") with a message naming the store call and what the disk said, and the store and champion are as they were.
/// </summary>
public sealed class CliStoreFaultTests : IDisposable
{
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliStoreFaultTests).Assembly);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => _dir.File("store");

    private string Log => _dir.File("clicks.tsv");

    [Fact]
    public async Task Train_WhenTheStorePathIsAFile_ExitsOneNamingTheRegistrationAndTheCause()
    {
        WriteLog();
        var notAFolder = _dir.Write("store-is-a-file", "x");

        var (exitCode, output) = await RunAsync("train", "--data", Log, "--store", notAFolder);

        exitCode.Should().Be(1, output);
        output.Should().Contain("ctrfallback train: File model store:").And.Contain("for model ctr").And.Contain(notAFolder);
        output.Should().NotContain("   at ", "a clear message, not a stack trace");
        File.ReadAllText(notAFolder).Should().Be("x");
    }

    [Fact]
    public async Task Models_WhenTheStorePathIsAFile_ExitsOneRatherThanReportingAnEmptyStore()
    {
        var notAFolder = _dir.Write("store-is-a-file", "x");

        var (exitCode, output) = await RunAsync("models", "--store", notAFolder);

        exitCode.Should().Be(1, output);
        output.Should().Contain("ctrfallback models: File model store:").And.Contain("is a file, not a store folder");
        output.Should().NotContain("no versions yet");
    }

    [Fact]
    public async Task Predict_IntoAFolderThatDoesNotExist_ExitsOneWithTheMessage_NotAStackTrace()
    {
        WriteLog();
        (await RunAsync("train", "--data", Log, "--store", Store)).ExitCode.Should().Be(0);

        var (exitCode, output) = await RunAsync("predict", "--data", Log, "--store", Store, "--out", _dir.File(Path.Combine("missing", "scores.tsv")));

        exitCode.Should().Be(1, output);
        output.Should().Contain("ctrfallback predict: ").And.Contain("missing");
        output.Should().NotContain("   at ", "a clear message, not a stack trace");
    }

    [Fact]
    public async Task Models_WhenTheMLflowServerRefusesConnections_ExitsOneNamingTheCallAfterTheRetries()
    {
        // A port nobody listens on: every attempt is refused at once.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (exitCode, output) = await CliProcess.RunAsync(
            Cli,
            ["models", "--store", "mlflow", "--mlflow-uri", $"http://127.0.0.1:{closedPort}"],
            TimeSpan.FromMinutes(3),
            new Dictionary<string, string> { ["CtrFallback__MLflow__RetryDelay"] = "00:00:00.010" });

        exitCode.Should().Be(1, output);
        output.Should().Contain("warn: MLflow call GET registered-models/get failed transiently", "each retry is said, on one line");
        output.Should().NotContain("   at ", "the retries' exceptions are told by their messages, not stack traces");
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Should().StartWith(
            $"ctrfallback models: MLflow call GET registered-models/get failed: could not reach the server at http://127.0.0.1:{closedPort}/ (4 attempts;");
    }

    [SkippableFact]
    public async Task TrainPromoteAndRollback_InAReadOnlyStore_ExitOneSayingAccessIsDenied_AndLeaveTheVersionsAndTheChampionAsTheyWere()
    {
        WriteLog();
        (await RunAsync("train", "--data", Log, "--store", Store, "--json")).ExitCode.Should().Be(0);
        (await RunAsync("train", "--data", Log, "--store", Store, "--json", "--holdout-fraction", "0.2")).ExitCode.Should().Be(0);
        var trained = await ModelsAsync();
        trained.Should().HaveCount(2);
        var first = trained.Single(v => v.Aliases.Contains(ModelAliases.Champion)).Version;
        var second = trained.Single(v => v.Version != first).Version;

        // The champion is then `second`, replacing `first`: there is something to promote and something to roll back to.
        (await RunAsync("promote", "--version", Text(second), "--force", "--store", Store)).ExitCode.Should().Be(0);
        var before = await ModelsAsync();

        (int ExitCode, string Output) train, promote, rollback;
        using (var readOnly = ReadOnlyFolder.TryMake(Store, out var whyNot))
        {
            Skip.If(readOnly is null, $"No real read-only folder on this machine: {whyNot}.");
            train = await RunAsync("train", "--data", Log, "--store", Store);
            promote = await RunAsync("promote", "--version", Text(first), "--force", "--store", Store);
            rollback = await RunAsync("rollback", "--store", Store);
            (await ModelsAsync()).Should().BeEquivalentTo(before, "reads still work on a read-only store");
        }

        train.ExitCode.Should().Be(1, train.Output);
        train.Output.Should().Contain("ctrfallback train: File model store: RegisterAsync for model ctr").And.Contain("denied");
        promote.ExitCode.Should().Be(1, promote.Output);
        promote.Output.Should().Contain("ctrfallback promote: File model store: SetVersionTagAsync for model ctr").And.Contain("denied");
        rollback.ExitCode.Should().Be(1, rollback.Output);
        rollback.Output.Should().Contain("ctrfallback rollback: File model store: SetVersionTagAsync for model ctr").And.Contain("denied");
        (await ModelsAsync()).Should().BeEquivalentTo(before, "no version was added and the champion did not move");
        Directory.EnumerateFileSystemEntries(Path.Combine(Store, "ctr", ".staging")).Should().BeEmpty();
    }

    private static string Text(int version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void WriteLog() => SyntheticClickLog.Write(Log, new SyntheticClickLogOptions { Rows = 20_000, Seed = 5 });

    private async Task<List<(int Version, string[] Aliases, string Sha256)>> ModelsAsync()
    {
        var (exitCode, output) = await RunAsync("models", "--store", Store, "--json");
        exitCode.Should().Be(0, output);
        return [.. JsonDocument.Parse(output).RootElement.EnumerateArray().Select(v => (
            v.GetProperty("version").GetInt32(),
            v.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()!).ToArray(),
            v.GetProperty("artifactSha256").GetString()!))];
    }

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => CliProcess.RunAsync(Cli, args, TimeSpan.FromMinutes(3));
}
