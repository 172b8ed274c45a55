using System.Text;
using System.Text.Json;

namespace CtrFallback.Data;

/// <summary>
/// One file's records as fields (text, or values for a typed format): the only part of reading that differs between
/// formats. The reader parses the fields, counts malformed rows and fingerprints the bytes the same way for every source.
/// </summary>
internal abstract class ClickLogRecordSource : IDisposable
{
    /// <summary>The file's column names; <see langword="null"/> when the file has no rows at all.</summary>
    public IReadOnlyList<string>? Columns { get; protected init; }

    /// <summary>Opens Parquet files; set by the CtrFallback.Parquet package (<c>UseParquetClickLogs()</c>), process-wide because readers are made without a container.</summary>
    internal static Func<string, ClickLogSchema, ClickLogRecordSource>? Parquet { get; set; }

    /// <summary>Opens a Parquet file, or explains which package reads it.</summary>
    internal static ClickLogRecordSource OpenParquet(string path, ClickLogSchema schema) =>
        Parquet is { } open
            ? open(path, schema)
            : throw new InvalidOperationException(
                $"'{path}' is Parquet, which the CtrFallback.Parquet package reads: reference it and call UseParquetClickLogs() on the CtrFallback builder.");

    /// <summary>Whether a file is Parquet, by its name (<c>.parquet</c>, <c>.parq</c>).</summary>
    public static bool IsParquet(string path) =>
        path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".parq", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a file holds JSON lines, by its name (<c>.jsonl</c>, <c>.ndjson</c>, <c>.json</c>, each optionally <c>.gz</c>).</summary>
    public static bool IsJsonLines(string path)
    {
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Fills the next records of the file into <paramref name="rows"/>, as many as fit or the source hands out at once;
    /// returns how many, 0 at the end of the file. A record whose fields cannot be told apart still takes a row, with
    /// its reason in <paramref name="errors"/>.
    /// </summary>
    /// <remarks>
    /// A batch at a time, not a record: a columnar source (Parquet) fills a batch column by column, straight from its
    /// decoded pages, which a call per record and field cost more than the decoding itself.
    /// </remarks>
    /// <param name="rows">The rows to fill, from the first.</param>
    /// <param name="lines">Each filled record's 1-based line number (record number) in the file.</param>
    /// <param name="errors">Why each filled record is malformed, or <see langword="null"/>.</param>
    public abstract int ReadRecords(Span<ClickLogRow> rows, Span<long> lines, Span<string?> errors);

    /// <summary>
    /// Adds to a malformed row's reason where the record is, when a line number does not say it all; <paramref name="line"/>
    /// is one of the last <see cref="ReadRecords"/> call's.
    /// </summary>
    public virtual string Locate(long line, string error) => error;

    /// <summary>
    /// Asks the source to hash the categoricals it decodes with <paramref name="hasher"/>, categorical field <c>i</c>
    /// being column <paramref name="categoricalColumns"/>[i], as it decodes them: a typed source's batch then holds each
    /// distinct value's hash beside its text (<see cref="TypedRecordBatch.HashColumn"/> finds them there). Sources of
    /// text lines do nothing: their rows are hashed where they are featurized.
    /// </summary>
    public virtual void HashCategoricalsAhead(Features.FeatureHasher hasher, IReadOnlyList<int> categoricalColumns)
    {
    }

    public abstract void Dispose();
}

/// <summary>A format of one record a line: its records are read one at a time.</summary>
internal abstract class LineRecordSource : ClickLogRecordSource
{
    public sealed override int ReadRecords(Span<ClickLogRow> rows, Span<long> lines, Span<string?> errors)
    {
        var n = 0;
        while (n < rows.Length && TryReadFields(rows[n], out lines[n], out errors[n]))
        {
            n++;
        }

        return n;
    }

    /// <summary>
    /// Sets the next record's fields on <paramref name="row"/>; returns <see langword="false"/> at the end of the file.
    /// A record whose fields cannot be told apart returns <see langword="true"/> with an <paramref name="error"/>.
    /// </summary>
    /// <param name="row">The row to fill.</param>
    /// <param name="line">The record's 1-based line number in the file.</param>
    /// <param name="error">Why the record is malformed, or <see langword="null"/>.</param>
    protected abstract bool TryReadFields(ClickLogRow row, out long line, out string? error);
}

/// <summary>Separated text (TSV, CSV), with or without a header line.</summary>
internal sealed class DelimitedRecordSource : LineRecordSource
{
    private readonly StreamReader _reader;
    private readonly char _separator;
    private long _line;

    public DelimitedRecordSource(Stream stream, ClickLogSchema schema)
    {
        _reader = new StreamReader(stream, bufferSize: 1 << 16);
        _separator = schema.Separator;
        if (schema.HasHeader)
        {
            var header = _reader.ReadLine();
            _line = 1;
            Columns = header?.Split(_separator).Select(c => c.Trim()).ToArray();
        }
        else
        {
            Columns = schema.Columns!;
        }
    }

    protected override bool TryReadFields(ClickLogRow row, out long line, out string? error)
    {
        var text = _reader.ReadLine();
        line = ++_line;
        error = null;
        if (text is null)
        {
            return false;
        }

        var count = row.Split(text, _separator);
        if (count != Columns!.Count)
        {
            error = $"expected {Columns.Count} fields, found {count}";
        }

        return true;
    }

    public override void Dispose() => _reader.Dispose();
}

/// <summary>
/// JSON lines: one object per line, the schema's columns looked up by key. A missing key or <c>null</c> is a missing
/// value; numbers keep their text as written, <c>true</c>/<c>false</c> read as labels; other keys are skipped.
/// </summary>
internal sealed class JsonLinesRecordSource : LineRecordSource
{
    private readonly StreamReader _reader;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _index;
    private readonly int[] _starts;
    private readonly int[] _lengths;
    private readonly string[] _columns;
    private byte[] _bytes = new byte[4096];
    private char[] _chars = new char[4096];
    private int _used;
    private long _line;

    public JsonLinesRecordSource(Stream stream, ClickLogSchema schema)
    {
        _reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);

        // The columns are the schema's own names: a JSON object names its fields on every line.
        _columns = new[] { schema.Label }.Concat(schema.Numeric).Concat(schema.Categorical)
            .Concat(schema.Timestamp is null ? [] : [schema.Timestamp.Field]).Concat(schema.Ignore).ToArray();
        Columns = _columns;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _columns.Length; i++)
        {
            index[_columns[i]] = i;
        }

        _index = index.GetAlternateLookup<ReadOnlySpan<char>>();
        _starts = new int[_columns.Length];
        _lengths = new int[_columns.Length];
    }

    protected override bool TryReadFields(ClickLogRow row, out long line, out string? error)
    {
        var text = _reader.ReadLine();
        line = ++_line;
        if (text is null)
        {
            error = null;
            return false;
        }

        error = Split(text);
        if (error is null)
        {
            row.SetFields(new string(_chars, 0, _used), _starts, _lengths);
        }

        return true;
    }

    public override void Dispose() => _reader.Dispose();

    private string? Split(string text)
    {
        Array.Clear(_lengths);
        Array.Clear(_starts);
        _used = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return "empty line, not a JSON object";
        }

        var byteCount = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (_bytes.Length < byteCount)
        {
            _bytes = new byte[byteCount];
        }

        var n = Encoding.UTF8.GetBytes(text, _bytes);
        var json = new Utf8JsonReader(_bytes.AsSpan(0, n), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                return "not a JSON object";
            }

            Span<char> name = stackalloc char[256];
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                var nameLength = json.HasValueSequence || json.ValueIsEscaped || json.ValueSpan.Length > name.Length
                    ? -1
                    : Encoding.UTF8.GetChars(json.ValueSpan, name);
                ReadOnlySpan<char> key = nameLength >= 0 ? name[..nameLength] : json.GetString().AsSpan();
                var found = _index.TryGetValue(key, out var column);
                json.Read();
                switch (json.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (found)
                        {
                            return $"field '{_columns[column]}' is {(json.TokenType == JsonTokenType.StartObject ? "an object" : "an array")}, not a value";
                        }

                        json.Skip();
                        break;
                    case JsonTokenType.Null:
                        if (found)
                        {
                            _lengths[column] = 0;
                        }

                        break;
                    case JsonTokenType.True or JsonTokenType.False:
                        if (found)
                        {
                            Append(column, json.TokenType == JsonTokenType.True ? "true" : "false");
                        }

                        break;
                    case JsonTokenType.String when found && (json.ValueIsEscaped || json.HasValueSequence):
                        Append(column, json.GetString());
                        break;
                    default:
                        // A string without escapes or a number: its UTF-8 text as written.
                        if (found)
                        {
                            AppendUtf8(column, json.ValueSpan);
                        }

                        break;
                }
            }

            if (json.TokenType != JsonTokenType.EndObject)
            {
                return "not a JSON object";
            }

            if (json.Read())
            {
                return "more than one JSON value on the line";
            }
        }
        catch (JsonException ex)
        {
            return $"not valid JSON ({ex.Message})";
        }

        return null;
    }

    private void Append(int column, ReadOnlySpan<char> value)
    {
        Reserve(value.Length);
        value.CopyTo(_chars.AsSpan(_used));
        (_starts[column], _lengths[column]) = (_used, value.Length);
        _used += value.Length;
    }

    private void AppendUtf8(int column, ReadOnlySpan<byte> value)
    {
        Reserve(value.Length);
        var length = Encoding.UTF8.GetChars(value, _chars.AsSpan(_used));
        (_starts[column], _lengths[column]) = (_used, length);
        _used += length;
    }

    private void Reserve(int more)
    {
        if (_used + more > _chars.Length)
        {
            Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _used + more));
        }
    }
}
