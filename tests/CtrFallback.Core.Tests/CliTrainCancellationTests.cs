using System.Diagnostics;
using CtrFallback.Testing;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>
/// `ctrfallback train` as a separate process, stopped by SIGTERM (what a CronJob's deadline sends) in the middle of
/// its fit: it must stop within two seconds, remove its featurized log and leave the store without a new version.
/// </summary>
public sealed class CliTrainCancellationTests : IDisposable
{
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliTrainCancellationTests).Assembly);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Train_WhenSigtermedDuringTheFit_ExitsWithinTwoSecondsLeavingNoTemporaryFileAndNoVersion()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return; // SIGTERM is a POSIX signal.
        }

        var log = _dir.File("clicks.tsv");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 100_000, Seed = 9 });
        var temp = Directory.CreateDirectory(_dir.File("temp")).FullName;
        var store = _dir.File("store");

        // A fit that would run for minutes: 10,000 passes, never checking for convergence.
        using var process = Process.Start(CliProcess.StartInfo(Cli, ["train", "--data", log, "--store", store, "--temp-dir", temp, "--iterations", "10000", "--check-frequency", "1000", "--json"]))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        // The featurized log grows while the log is read; once it has stopped growing for a while, the fit is running.
        await WaitUntilFitting(temp, process);
        var signalled = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        var elapsed = signalled.Elapsed;
        var output = await stdout + await stderr;

        process.ExitCode.Should().Be(130, output);
        elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "the fit stops at the next few thousand rows");
        output.Should().Contain("cancelled; nothing was changed");
        Directory.GetFiles(temp).Should().BeEmpty("the featurized log is removed");
        Directory.Exists(Path.Combine(store, "ctr", "versions")).Should().BeFalse("nothing was registered");
    }

    private static async Task WaitUntilFitting(string temp, Process process)
    {
        var deadline = Stopwatch.StartNew();
        long lastLength = -1;
        var stableSince = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            process.HasExited.Should().BeFalse("the run must still be going");
            var file = Directory.GetFiles(temp).SingleOrDefault();
            var length = file is null ? -1 : new FileInfo(file).Length;
            if (length != lastLength || length <= 0)
            {
                (lastLength, stableSince) = (length, Stopwatch.StartNew());
            }
            else if (stableSince.Elapsed > TimeSpan.FromSeconds(1.5))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("The training run never started its fit.");
    }
}
