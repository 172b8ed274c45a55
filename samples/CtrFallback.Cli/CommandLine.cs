using System.Globalization;

namespace CtrFallback.Cli;

/// <summary>
/// A command's options as its handler reads them: <c>--name value</c> pairs and <c>--flag</c>s, typed on reading with
/// errors a person can act on. System.CommandLine has already parsed them and refused unknown ones (see Commands.cs).
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public CommandLine(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unexpected argument '{arg}'");
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                _options[arg[..eq]] = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                _options[arg] = args[++i];
            }
            else
            {
                _options[arg] = null;
            }
        }
    }

    /// <summary>The options System.CommandLine parsed for a command, among those it declares.</summary>
    public static CommandLine From(System.CommandLine.ParseResult parsed, IEnumerable<System.CommandLine.Option> declared)
    {
        var args = new List<string>();
        foreach (var option in declared)
        {
            if (parsed.GetResult(option) is not { Implicit: false })
            {
                continue;
            }

            if (option is System.CommandLine.Option<bool> flag)
            {
                if (parsed.GetValue(flag))
                {
                    args.Add(option.Name);
                }
            }
            else
            {
                args.Add($"{option.Name}={parsed.GetValue((System.CommandLine.Option<string>)option)}");
            }
        }

        return new CommandLine(args);
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        return _options.ContainsKey(name);
    }

    public string? String(string name)
    {
        _used.Add(name);
        if (_options.TryGetValue(name, out var value))
        {
            return value ?? throw new UsageException($"{name} needs a value");
        }

        return null;
    }

    public string Required(string name) => String(name) ?? throw new UsageException($"{name} is required");

    public long? Long(string name) => String(name) is { } s
        ? long.TryParse(s.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"{name} must be a whole number, got '{s}'")
        : null;

    public double? Double(string name) => String(name) is { } s
        ? double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"{name} must be a number, got '{s}'")
        : null;

    /// <summary>Fails on any option the command did not ask for, so a typo is never silently ignored.</summary>
    public void EnsureAllUsed()
    {
        var unknown = _options.Keys.Where(k => !_used.Contains(k)).ToArray();
        if (unknown.Length > 0)
        {
            throw new UsageException($"unknown option{(unknown.Length > 1 ? "s" : string.Empty)}: {string.Join(", ", unknown)}");
        }
    }
}

/// <summary>The command line is wrong; the message says how.</summary>
internal sealed class UsageException(string message) : Exception(message);
