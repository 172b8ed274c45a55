// Registers versions in a file model store from a separate process, so tests can race two processes or kill one
// (SIGKILL) in the middle of a registration. Output is one line per event, read by FileModelStoreProcessTests:
//
//   register <store> <model> <count> <artifactBytes> [<barrierFolder> <parties>]
//       registers <count> versions and prints "VERSION <n> <sha256>" for each, then "DONE". With a barrier folder, every
//       registration waits, right before its commit, until all <parties> probes have reached the same registration:
//       their renames then compete for the same version number, which is the race under test.
//   crash <store> <model> <artifactBytes>
//       registers one version, and right before the rename that would make it visible prints "READY <stagingFolder>"
//       and waits forever, to be killed there.
using System.Globalization;
using System.IO.Abstractions;
using System.Security.Cryptography;
using CtrFallback;
using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;

var mode = args.ElementAtOrDefault(0);
if (mode is not ("register" or "crash") || args.Length < 4)
{
    Console.Error.WriteLine("usage: register <store> <model> <count> <artifactBytes> [<barrierFolder> <parties>] | crash <store> <model> <artifactBytes>");
    return 2;
}

var storePath = args[1];
var modelName = args[2];
var barrierFolder = mode == "register" ? args.ElementAtOrDefault(5) : null;
var parties = barrierFolder is null ? 1 : int.Parse(args[6], CultureInfo.InvariantCulture);
var round = 0;

// The commit is the rename of the staging folder into versions/: a FaultingFileSystem (the tests' decorator, injected
// where the store takes its IFileSystem) stops there. A rename that loses the race for a number is retried; the barrier
// is met once per registration, at its first rename.
var fileSystem = new FaultingFileSystem(new FileSystem());
var committing = new HashSet<string>(StringComparer.Ordinal);
bool IsCommit(FileSystemCall call) => call.Operation == "Directory.Move" && call.Under(".staging") && committing.Add(call.Path);
if (mode == "crash")
{
    // Everything is written and flushed, nothing is visible yet: park here, to be killed.
    fileSystem.When(IsCommit, call =>
    {
        Console.Out.WriteLine($"READY {call.Path}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
    });
}
else if (barrierFolder is not null)
{
    fileSystem.When(IsCommit, _ => MeetAtBarrier(barrierFolder, parties, round++));
}

var services = new ServiceCollection();
services.AddSingleton<IFileSystem>(fileSystem);
services.AddCtrFallback().UseFileModelStore(o => o.Path = storePath);
await using var provider = services.BuildServiceProvider();
var store = provider.GetRequiredService<IModelStore>();

if (mode == "crash")
{
    var size = int.Parse(args[3], CultureInfo.InvariantCulture);
    await store.RegisterAsync(new ModelRegistration(modelName, RandomNumberGenerator.GetBytes(size)));
    Console.Out.WriteLine("UNEXPECTED: the registration finished");
    return 1;
}

var count = int.Parse(args[3], CultureInfo.InvariantCulture);
var artifactBytes = int.Parse(args[4], CultureInfo.InvariantCulture);
for (var i = 0; i < count; i++)
{
    var version = await store.RegisterAsync(new ModelRegistration(
        modelName,
        RandomNumberGenerator.GetBytes(artifactBytes),
        Tags: new Dictionary<string, string> { ["probe.pid"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture) }));
    Console.Out.WriteLine($"VERSION {version.Version} {version.ArtifactSha256}");
}

Console.Out.WriteLine("DONE");
return 0;

// Marks this process as arrived at the round, then spins (no sleep, so the parties leave within microseconds of each
// other) until every party has arrived.
static void MeetAtBarrier(string folder, int parties, int round)
{
    var prefix = $"round{round.ToString(CultureInfo.InvariantCulture)}-";
    File.WriteAllText(Path.Combine(folder, prefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)), string.Empty);
    while (Directory.GetFiles(folder, prefix + "*").Length < parties)
    {
        Thread.SpinWait(100);
    }
}
