using System.CommandLine;
using System.CommandLine.Invocation;
using CtrFallback;
using CtrFallback.Cli;
using CtrFallback.Data;
using CtrFallback.Promotion;

// System.CommandLine parses: per-command --help, unknown options and typos named (with suggestions), completions.
// The commands read their parsed options through CommandLine, which also checks that each one reads all it declares.
var root = Commands.Build();

// Every command that reads click logs (train, analyze, predict) takes Parquet too.
CtrFallback.Parquet.ParquetClickLogs.Register();

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

var parsed = root.Parse(args);
var name = parsed.CommandResult.Command == root ? "ctrfallback" : $"ctrfallback {parsed.CommandResult.Command.Name}";
if (args.Length == 0)
{
    return await parsed.RootCommandResult.Command.Parse("--help").InvokeAsync(cancellationToken: cancellation.Token);
}

if (parsed.Errors.Count > 0)
{
    if (parsed.Action is ParseErrorAction errors)
    {
        errors.ShowHelp = false;
        errors.ShowTypoCorrections = true;
    }

    parsed.Invoke();
    Console.Error.WriteLine($"Run '{name} --help' for usage.");
    return 2;
}

try
{
    // Our own Ctrl-C/SIGTERM handling (above) cancels the command, which cleans up and exits 130.
    return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, cancellation.Token);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"{name}: {ex.Message}");
    Console.Error.WriteLine($"Run '{name} --help' for usage.");
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine($"{name}: cancelled; nothing was changed.");
    return 130;
}
catch (Exception ex) when (ex is ClickLogFormatException or ClickLogSchemaException or IOException or UnauthorizedAccessException or ModelStoreException or InvalidDataException or ChampionChangeException or Microsoft.Extensions.Options.OptionsValidationException or HttpRequestException)
{
    Console.Error.WriteLine($"{name}: {ex.Message}{Hint(ex)}");
    return 1;
}

// The libraries name their options; the CLI says which of its flags sets each.
static string Hint(Exception ex) => ex switch
{
    ChampionChangeException when ex.Message.Contains("with force", StringComparison.Ordinal) => " (ctrfallback promote --force)",
    ClickLogFormatException { MalformedCount: > 0 } => " (raise the limit with --max-malformed)",
    ClickLogSchemaException when ex.Message.StartsWith("Unknown log format", StringComparison.Ordinal) => " (--schema FILE)",
    _ when ex.Message.Contains("Training:Window", StringComparison.Ordinal) => " (--window)",
    _ => string.Empty,
};
