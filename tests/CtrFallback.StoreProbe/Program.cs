// Registers versions in a file model store from a separate process, so tests can race two processes or kill one
// (SIGKILL) in the middle of a registration. Output is one line per event, read by FileModelStoreProcessTests:
//
//   register <store> <model> <count> <artifactBytes> [<startSignalFile>]
//       prints "WAITING" and waits until <startSignalFile> exists (so racing probes start together), registers <count> versions and prints
//       "VERSION <n> <sha256>" for each, then "DONE".
//   crash <store> <model> <artifactBytes>
//       registers one version, and right before the rename that would make it visible prints "READY <stagingFolder>"
//       and waits forever, to be killed there.
using System.Globalization;
using System.Security.Cryptography;
using CtrFallback;
using Microsoft.Extensions.DependencyInjection;

var mode = args.ElementAtOrDefault(0);
if (mode is not ("register" or "crash") || args.Length < 4)
{
    Console.Error.WriteLine("usage: register <store> <model> <count> <artifactBytes> [<startSignalFile>] | crash <store> <model> <artifactBytes>");
    return 2;
}

var storePath = args[1];
var modelName = args[2];
var services = new ServiceCollection();
services.AddCtrFallback().UseFileModelStore(o =>
{
    o.Path = storePath;
    if (mode == "crash")
    {
        // The store's internal test hook (InternalsVisibleTo): everything is written and flushed, nothing is visible yet.
        o.BeforeCommit = async (staging, cancellationToken) =>
        {
            Console.Out.WriteLine($"READY {staging}");
            Console.Out.Flush();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        };
    }
});
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
if (args.ElementAtOrDefault(5) is { } startSignal)
{
    Console.Out.WriteLine("WAITING");
    Console.Out.Flush();
    while (!File.Exists(startSignal))
    {
        await Task.Delay(2);
    }
}

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
