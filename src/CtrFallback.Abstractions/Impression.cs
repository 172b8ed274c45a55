using System.Globalization;

namespace CtrFallback;

/// <summary>
/// The field values of one impression (or one candidate ad), laid out by a <see cref="FeatureSchema"/>.
/// Reusable: <see cref="Clear"/> it and set it again, so the hot path allocates nothing.
/// </summary>
/// <remarks>
/// A field that was never set since the last <see cref="Clear"/> is <em>unset</em>; when a candidate is scored
/// with a shared request context, an unset candidate field takes the context's value. A field set to
/// <see langword="null"/> (or NaN) is <em>missing</em>, which the featurizer encodes as such. Not thread-safe.
/// </remarks>
public sealed class Impression
{
    private readonly Dictionary<string, int> _index;
    private readonly double[] _numeric;
    private readonly string?[] _categorical;
    private readonly bool[] _isSet;

    /// <summary>Creates an empty impression for a schema.</summary>
    /// <param name="schema">The schema whose fields it carries.</param>
    public Impression(FeatureSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        Schema = schema;
        _numeric = new double[schema.NumericFields.Count];
        _categorical = new string?[schema.CategoricalFields.Count];
        _isSet = new bool[_numeric.Length + _categorical.Length + 1];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _numeric.Length; i++)
        {
            _index[schema.NumericFields[i]] = i;
        }

        for (var i = 0; i < _categorical.Length; i++)
        {
            _index[schema.CategoricalFields[i]] = _numeric.Length + i;
        }

        if (schema.Timestamp is not null)
        {
            _index[schema.Timestamp.Field] = TimestampSlot;
        }

        Clear();
    }

    /// <summary>The schema this impression is laid out by.</summary>
    public FeatureSchema Schema { get; }

    /// <summary>Numeric values by field position; NaN means missing.</summary>
    public ReadOnlySpan<double> Numeric => _numeric;

    /// <summary>Categorical values by field position; <see langword="null"/> or empty means missing.</summary>
    public ReadOnlySpan<string?> Categorical => _categorical;

    /// <summary>The timestamp, when the schema has one and it was set.</summary>
    public DateTimeOffset? Timestamp { get; private set; }

    private int TimestampSlot => _numeric.Length + _categorical.Length;

    /// <summary>Whether the numeric field at a position was set since the last <see cref="Clear"/>.</summary>
    /// <param name="index">The field's position in <see cref="FeatureSchema.NumericFields"/>.</param>
    public bool IsNumericSet(int index) => _isSet[index];

    /// <summary>Whether the categorical field at a position was set since the last <see cref="Clear"/>.</summary>
    /// <param name="index">The field's position in <see cref="FeatureSchema.CategoricalFields"/>.</param>
    public bool IsCategoricalSet(int index) => _isSet[_numeric.Length + index];

    /// <summary>Whether the timestamp was set since the last <see cref="Clear"/>.</summary>
    public bool IsTimestampSet => _isSet[TimestampSlot];

    /// <summary>Unsets every field (all become missing).</summary>
    public void Clear()
    {
        Array.Fill(_numeric, double.NaN);
        Array.Clear(_categorical);
        Array.Clear(_isSet);
        Timestamp = null;
    }

    /// <summary>Sets a numeric field by position; <see langword="null"/> or NaN marks it missing.</summary>
    /// <param name="index">The field's position in <see cref="FeatureSchema.NumericFields"/>.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is infinite (as a number past the range of a double, 1e400, parses): it would score as a certainty, so it is refused, as the click-log reader refuses it.</exception>
    public void SetNumeric(int index, double? value)
    {
        if (value is { } number && double.IsInfinity(number))
        {
            throw new ArgumentOutOfRangeException(nameof(value), number, $"Numeric field '{Schema.NumericFields[index]}' must be a finite number (or missing), not {number}.");
        }

        _numeric[index] = value ?? double.NaN;
        _isSet[index] = true;
    }

    /// <summary>Sets a categorical field by position; <see langword="null"/> or empty marks it missing.</summary>
    /// <param name="index">The field's position in <see cref="FeatureSchema.CategoricalFields"/>.</param>
    /// <param name="value">The value.</param>
    public void SetCategorical(int index, string? value)
    {
        _categorical[index] = value;
        _isSet[_numeric.Length + index] = true;
    }

    /// <summary>Sets the timestamp (the schema must have a timestamp field).</summary>
    /// <param name="value">The impression's time, or <see langword="null"/> when unknown.</param>
    public void SetTimestamp(DateTimeOffset? value)
    {
        if (Schema.Timestamp is null)
        {
            throw new InvalidOperationException("The schema has no timestamp field.");
        }

        Timestamp = value;
        _isSet[TimestampSlot] = true;
    }

    /// <summary>Finds a field by name.</summary>
    /// <param name="field">The field's name.</param>
    /// <param name="kind">The field's kind.</param>
    /// <param name="index">Its position among the fields of its kind.</param>
    /// <returns><see langword="false"/> when the schema has no such field.</returns>
    public bool TryGetField(string field, out ImpressionFieldKind kind, out int index)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (!_index.TryGetValue(field, out var slot))
        {
            kind = default;
            index = -1;
            return false;
        }

        (kind, index) = slot < _numeric.Length ? (ImpressionFieldKind.Numeric, slot)
            : slot < TimestampSlot ? (ImpressionFieldKind.Categorical, slot - _numeric.Length)
            : (ImpressionFieldKind.Timestamp, 0);
        return true;
    }

    /// <summary>
    /// Sets fields by name from their text forms, pairwise, as a click-log row gives them; names the schema lacks
    /// (the label column, say) are ignored, and extra names or values beyond the shorter list too.
    /// </summary>
    /// <param name="fields">The field names, for example a log's columns.</param>
    /// <param name="values">Their values' text, in the same order; <see langword="null"/> or empty marks a field missing.</param>
    /// <exception cref="FormatException">A numeric or timestamp value cannot be parsed.</exception>
    public void SetAll(IReadOnlyList<string> fields, IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(values);
        for (var i = 0; i < Math.Min(fields.Count, values.Count); i++)
        {
            Set(fields[i], values[i]);
        }
    }

    /// <summary>Sets a field by name from its text form, as it appears in a click log; unknown fields are ignored.</summary>
    /// <param name="field">The field's name.</param>
    /// <param name="value">The value's text; <see langword="null"/> or empty marks it missing.</param>
    /// <returns><see langword="false"/> when the schema has no such field.</returns>
    /// <exception cref="FormatException">A numeric or timestamp value cannot be parsed, or a numeric value is not a finite number ("NaN", "Infinity", 1e400).</exception>
    public bool Set(string field, string? value)
    {
        if (!TryGetField(field, out var kind, out var index))
        {
            return false;
        }

        switch (kind)
        {
            case ImpressionFieldKind.Numeric:
                SetNumeric(index, string.IsNullOrEmpty(value) ? null : ParseFinite(field, value));
                break;
            case ImpressionFieldKind.Categorical:
                SetCategorical(index, value);
                break;
            default:
                SetTimestamp(string.IsNullOrEmpty(value) ? null : TimestampFormat.Parse(value, Schema.Timestamp!.Format));
                break;
        }

        return true;
    }

    private static double ParseFinite(string field, string text)
    {
        // The click-log reader's rule: a count is a finite number; "NaN", "Infinity" and 1e400 are errors, not values.
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            throw new FormatException($"Numeric field '{field}' must be a finite number (or empty for missing), not '{text}'.");
        }

        return number;
    }
}

/// <summary>The kind of an impression field.</summary>
public enum ImpressionFieldKind
{
    /// <summary>A numeric (count) field.</summary>
    Numeric,

    /// <summary>A categorical field.</summary>
    Categorical,

    /// <summary>The timestamp field.</summary>
    Timestamp,
}

/// <summary>Parses timestamps in a <see cref="TimestampField"/>'s format.</summary>
public static class TimestampFormat
{
    /// <summary>The format name for seconds since the Unix epoch.</summary>
    public const string Unix = "unix";

    /// <summary>Parses a timestamp; the result is in UTC.</summary>
    /// <param name="text">The text.</param>
    /// <param name="format"><see cref="Unix"/> or a .NET custom date format such as <c>yyMMddHH</c>.</param>
    /// <exception cref="FormatException">The text does not match the format.</exception>
    public static DateTimeOffset Parse(ReadOnlySpan<char> text, string format)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (string.Equals(format, Unix, StringComparison.OrdinalIgnoreCase))
        {
            return DateTimeOffset.FromUnixTimeSeconds(long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture));
        }

        return DateTimeOffset.ParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }

    /// <summary>Tries to parse a timestamp; the result is in UTC.</summary>
    /// <param name="text">The text.</param>
    /// <param name="format"><see cref="Unix"/> or a .NET custom date format.</param>
    /// <param name="value">The parsed time.</param>
    public static bool TryParse(ReadOnlySpan<char> text, string format, out DateTimeOffset value)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (string.Equals(format, Unix, StringComparison.OrdinalIgnoreCase))
        {
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                && seconds is >= -62135596800 and <= 253402300799)
            {
                value = DateTimeOffset.FromUnixTimeSeconds(seconds);
                return true;
            }

            value = default;
            return false;
        }

        return DateTimeOffset.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }
}
