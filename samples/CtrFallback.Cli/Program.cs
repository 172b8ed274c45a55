using CtrFallback;
using CtrFallback.Cli;

var commands = new Dictionary<string, Func<CommandLine, CancellationToken, Task<int>>>(StringComparer.Ordinal)
{
    ["generate"] = GenerateCommand.RunAsync,
    ["train"] = TrainCommand.RunAsync,
    ["models"] = ModelCommands.ModelsAsync,
    ["promote"] = ModelCommands.PromoteAsync,
    ["rollback"] = ModelCommands.RollbackAsync,
    ["predict"] = ModelCommands.PredictAsync,
    ["quickstart"] = QuickstartCommand.RunAsync,
    ["analyze"] = AnalyzeCommand.RunAsync,
    ["report"] = ReportCommand.RunAsync,
    ["bench"] = BenchCommand.RunAsync,
};

if (args.Length == 0 || args[0] is "-h" or "--help" or "help" || !commands.TryGetValue(args[0], out var command))
{
    Console.Error.WriteLine(Usage.Text);
    return args.Length == 0 || args[0] is "-h" or "--help" or "help" ? 0 : 2;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
});

try
{
    return await command(new CommandLine(args[1..]), cancellation.Token);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"ctrfallback {args[0]}: {ex.Message}");
    Console.Error.WriteLine("Run 'ctrfallback --help' for usage.");
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine($"ctrfallback {args[0]}: cancelled; nothing was changed.");
    return 130;
}
catch (Exception ex) when (ex is ClickLogFormatException or ClickLogSchemaException or FileNotFoundException or ModelStoreException or InvalidDataException or ChampionChangeException or Microsoft.Extensions.Options.OptionsValidationException or HttpRequestException)
{
    Console.Error.WriteLine($"ctrfallback {args[0]}: {ex.Message}{Hint(ex)}");
    return 1;
}

// The libraries name their options; the CLI says which of its flags sets each.
static string Hint(Exception ex) => ex switch
{
    ChampionChangeException when ex.Message.Contains("with force", StringComparison.Ordinal) => " (ctrfallback promote --force)",
    ClickLogFormatException { MalformedCount: > 0 } => " (raise the limit with --max-malformed)",
    ClickLogSchemaException when ex.Message.StartsWith("Unknown log format", StringComparison.Ordinal) => " (--schema FILE)",
    _ => string.Empty,
};
