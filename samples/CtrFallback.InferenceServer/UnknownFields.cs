using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CtrFallback.Serving;
using Microsoft.Extensions.Options;

namespace CtrFallback.InferenceServer;

/// <summary>
/// Counts request fields the serving model does not know, by name, so a client that renamed or misspelt a field (and
/// gets degraded scores) shows on <c>/metrics</c> as <c>ctrfallback_server_unknown_fields_total{field}</c> and once
/// in the log. Names are bounded: the first <see cref="MaxNames"/> get their own label, the rest count as
/// <see cref="OtherNames"/>. A known field costs nothing; an unknown one a dictionary lookup without allocating.
/// </summary>
internal sealed partial class UnknownFields
{
    public const string MeterName = "CtrFallback.InferenceServer";
    public const int MaxNames = 100;
    public const string OtherNames = "(other)";

    private readonly ConcurrentDictionary<string, KeyValuePair<string, object?>> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyValuePair<string, object?>>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Counter<long> _counter;
    private readonly ILogger _logger;
    private int _distinct;
    private int _overflowLogged;

    public UnknownFields(IMeterFactory meterFactory, IOptions<ServingOptions> options, ILogger<UnknownFields> logger)
    {
        _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();
        _counter = meterFactory.Create(MeterName).CreateCounter<long>(
            "ctrfallback.server.unknown_fields", "{field}", "Request fields the serving model's schema does not have, by name (the first 100 names; the rest as '(other)').");
        Handling = options.Value.UnknownFields;
        _logger = logger;
    }

    public UnknownFieldHandling Handling { get; }

    /// <summary>Counts one occurrence of an unknown field; <paramref name="known"/> lists the schema's names for the log's hint.</summary>
    public void Count(ReadOnlySpan<char> name, FeatureSchema known)
    {
        if (!_lookup.TryGetValue(name, out var tag))
        {
            tag = Add(name, known);
        }

        _counter.Add(1, tag);
    }

    /// <summary>Counts a field whose name is too long to look up (over the reader's limit) with the rest.</summary>
    public void CountUnnamed() => _counter.Add(1, new KeyValuePair<string, object?>("field", OtherNames));

    /// <summary>The schema's field equal to <paramref name="name"/> but for case, if any: the likely intended one.</summary>
    public static string? Suggest(ReadOnlySpan<char> name, FeatureSchema schema)
    {
        foreach (var field in schema.NumericFields.Concat(schema.CategoricalFields).Append(schema.Timestamp?.Field))
        {
            if (field is not null && name.Equals(field, StringComparison.OrdinalIgnoreCase))
            {
                return field;
            }
        }

        return null;
    }

    private KeyValuePair<string, object?> Add(ReadOnlySpan<char> name, FeatureSchema known)
    {
        if (Interlocked.Increment(ref _distinct) > MaxNames)
        {
            Interlocked.Decrement(ref _distinct);
            if (Interlocked.Exchange(ref _overflowLogged, 1) == 0)
            {
                LogTooManyNames(_logger, MaxNames, OtherNames);
            }

            return new("field", OtherNames);
        }

        var text = name.ToString();
        var tag = new KeyValuePair<string, object?>("field", text);
        if (_names.TryAdd(text, tag))
        {
            var hint = Suggest(name, known) is { } suggestion ? $" (did you mean '{suggestion}'?)" : string.Empty;
            LogUnknownField(_logger, text, hint, Handling);
        }
        else
        {
            Interlocked.Decrement(ref _distinct);
        }

        return _names[text];
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "A request carries the field '{Field}', which the serving model does not have{Hint}; Serving:UnknownFields is {Handling}. Further occurrences are only counted (ctrfallback_server_unknown_fields_total).")]
    private static partial void LogUnknownField(ILogger logger, string field, string hint, UnknownFieldHandling handling);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "More than {Max} distinct unknown field names; the rest are counted together as '{Other}'.")]
    private static partial void LogTooManyNames(ILogger logger, int max, string other);
}
