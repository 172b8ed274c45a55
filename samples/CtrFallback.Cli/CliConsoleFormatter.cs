using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace CtrFallback.Cli;

/// <summary>
/// One line per log entry for a person at a terminal: the level, the message and, when the entry carries an exception,
/// its messages (outer to inner) instead of its stack trace. The libraries log a retried call's exception in full, which
/// is right for a service's log and noise ahead of a command's own closing message.
/// </summary>
internal sealed class CliConsoleFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "ctrfallback";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        textWriter.Write(logEntry.LogLevel switch
        {
            LogLevel.Trace => "trce: ",
            LogLevel.Debug => "dbug: ",
            LogLevel.Information => "info: ",
            LogLevel.Warning => "warn: ",
            LogLevel.Error => "fail: ",
            _ => "crit: ",
        });
        textWriter.Write(message);
        for (var ex = logEntry.Exception; ex is not null; ex = ex.InnerException)
        {
            textWriter.Write(ex == logEntry.Exception ? " (" : "; ");
            textWriter.Write(ex.Message);
            if (ex.InnerException is null)
            {
                textWriter.Write(')');
            }
        }

        textWriter.WriteLine();
    }
}
