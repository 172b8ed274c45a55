using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CtrFallback.Serving;

namespace CtrFallback.InferenceServer;

/// <summary>
/// Reads an impression from a JSON object whose keys are field names (the baseline's body): null or absent means
/// missing, numeric fields take finite numbers or numeric strings, unknown keys are counted and ignored or refused
/// (<see cref="UnknownFields"/>). Field names are matched without allocating a string; only categorical values become
/// strings (the <see cref="Impression"/> holds strings).
/// </summary>
internal sealed class ImpressionJsonReader
{
    private const int MaxFieldNameLength = 128;
    private readonly Dictionary<string, (ImpressionFieldKind Kind, int Index)> _fields = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ImpressionFieldKind Kind, int Index)>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private readonly UnknownFields _unknown;

    public ImpressionJsonReader(FeatureSchema schema, UnknownFields unknown)
    {
        Schema = schema;
        _unknown = unknown;
        for (var i = 0; i < schema.NumericFields.Count; i++)
        {
            _fields[schema.NumericFields[i]] = (ImpressionFieldKind.Numeric, i);
        }

        for (var i = 0; i < schema.CategoricalFields.Count; i++)
        {
            _fields[schema.CategoricalFields[i]] = (ImpressionFieldKind.Categorical, i);
        }

        if (schema.Timestamp is not null)
        {
            _fields[schema.Timestamp.Field] = (ImpressionFieldKind.Timestamp, 0);
        }

        _lookup = _fields.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public FeatureSchema Schema { get; }

    /// <summary>Reads the object starting at the reader's current token (which must be <see cref="JsonTokenType.StartObject"/>).</summary>
    /// <returns>An error a person can read, or <see langword="null"/> when the impression was read.</returns>
    /// <exception cref="JsonException">The JSON is malformed.</exception>
    public string? ReadObject(ref Utf8JsonReader reader, Impression target)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return $"expected a JSON object of field names and values, found {reader.TokenType}";
        }

        Span<char> name = stackalloc char[MaxFieldNameLength];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
            (ImpressionFieldKind Kind, int Index) field = default;
            if (length > MaxFieldNameLength)
            {
                _unknown.CountUnnamed();
                if (_unknown.Handling == UnknownFieldHandling.Reject)
                {
                    return $"a field name longer than {MaxFieldNameLength} characters is not in the serving model's schema (Serving:UnknownFields is Reject)";
                }

                reader.Read();
                reader.Skip();
                continue;
            }

            var written = reader.CopyString(name);
            if (!_lookup.TryGetValue(name[..written], out field))
            {
                _unknown.Count(name[..written], Schema);
                if (_unknown.Handling == UnknownFieldHandling.Reject)
                {
                    var hint = UnknownFields.Suggest(name[..written], Schema) is { } suggestion ? $" (did you mean '{suggestion}'?)" : string.Empty;
                    return $"field '{name[..written]}' is not in the serving model's schema{hint}; Serving:UnknownFields is Reject";
                }

                reader.Read();
                reader.Skip();
                continue;
            }

            reader.Read();

            var error = field.Kind switch
            {
                ImpressionFieldKind.Numeric => ReadNumeric(ref reader, target, field.Index),
                ImpressionFieldKind.Categorical => ReadCategorical(ref reader, target, field.Index),
                _ => ReadTimestamp(ref reader, target),
            };
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private string? ReadNumeric(ref Utf8JsonReader reader, Impression target, int index)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                target.SetNumeric(index, null);
                return null;
            case JsonTokenType.Number when reader.TryGetDouble(out var number):
                if (!double.IsFinite(number))
                {
                    // 1e400 reads as infinity: it would score as a certainty.
                    return NotFinite(index);
                }

                target.SetNumeric(index, number);
                return null;
            case JsonTokenType.String:
                if (!reader.HasValueSequence && !reader.ValueIsEscaped)
                {
                    var utf8 = reader.ValueSpan;
                    if (utf8.IsEmpty)
                    {
                        target.SetNumeric(index, null);
                        return null;
                    }

                    if (double.TryParse(utf8, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                    {
                        if (!double.IsFinite(parsed))
                        {
                            return NotFinite(index);
                        }

                        target.SetNumeric(index, parsed);
                        return null;
                    }
                }
                else if (reader.GetString() is { } text)
                {
                    if (text.Length == 0)
                    {
                        target.SetNumeric(index, null);
                        return null;
                    }

                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                    {
                        if (!double.IsFinite(value))
                        {
                            return NotFinite(index);
                        }

                        target.SetNumeric(index, value);
                        return null;
                    }
                }

                return $"field '{Schema.NumericFields[index]}' must be a number, a numeric string or null";
            default:
                return $"field '{Schema.NumericFields[index]}' must be a number, a numeric string or null, not {reader.TokenType}";
        }
    }

    private string NotFinite(int index) =>
        $"field '{Schema.NumericFields[index]}' must be a finite number (or null for missing); NaN, infinities and numbers past the range of a double (1e400) are refused";

    private string? ReadCategorical(ref Utf8JsonReader reader, Impression target, int index)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                target.SetCategorical(index, null);
                return null;
            case JsonTokenType.String:
                target.SetCategorical(index, reader.GetString());
                return null;
            case JsonTokenType.Number:
                // A numeric id is hashed by its text, as in the click log.
                target.SetCategorical(index, reader.HasValueSequence ? Encoding.UTF8.GetString(reader.ValueSequence.ToArray()) : Encoding.UTF8.GetString(reader.ValueSpan));
                return null;
            default:
                return $"field '{Schema.CategoricalFields[index]}' must be a string, a number or null, not {reader.TokenType}";
        }
    }

    private string? ReadTimestamp(ref Utf8JsonReader reader, Impression target)
    {
        var format = Schema.Timestamp!.Format;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                target.SetTimestamp(null);
                return null;
            case JsonTokenType.String or JsonTokenType.Number:
                var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
                if (text.Length == 0)
                {
                    target.SetTimestamp(null);
                    return null;
                }

                if (TimestampFormat.TryParse(text, format, out var time))
                {
                    target.SetTimestamp(time);
                    return null;
                }

                return $"field '{Schema.Timestamp.Field}' does not match the format '{format}'";
            default:
                return $"field '{Schema.Timestamp.Field}' must be a string, a number or null, not {reader.TokenType}";
        }
    }
}
