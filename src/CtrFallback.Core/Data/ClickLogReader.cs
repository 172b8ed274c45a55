using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;

namespace CtrFallback.Data;

/// <summary>
/// Streams the rows of one or more delimited click-log files (plain or gzip), one reusable row at a time.
/// Malformed rows are counted and the first ones remembered with file and line number; none is skipped silently.
/// </summary>
internal sealed class ClickLogReader : IDisposable
{
    private readonly ClickLogSchema _schema;
    private readonly IReadOnlyList<string> _paths;
    private readonly IncrementalHash _fingerprint = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private int _fileIndex = -1;
    private StreamReader? _reader;
    private long _lineNumber;
    private ColumnMap? _map;

    public ClickLogReader(ClickLogSchema schema, IReadOnlyList<string> paths, int maxReported = 10)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0)
        {
            throw new ArgumentException("At least one click-log file is required.", nameof(paths));
        }

        foreach (var path in paths)
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"Click log '{path}' does not exist.", path);
            }
        }

        _schema = schema;
        _paths = paths;
        Malformed = new MalformedRows(maxReported);
        Row = new ClickLogRow(schema);
    }

    /// <summary>The current row, overwritten by each <see cref="Read"/>.</summary>
    public ClickLogRow Row { get; }

    public MalformedRows Malformed { get; }

    /// <summary>Well-formed rows returned so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Column names of the file being read.</summary>
    public IReadOnlyList<string> Columns => _map?.Columns ?? [];

    /// <summary>SHA-256 of every byte read so far (of the files as stored), lowercase hex.</summary>
    public string Fingerprint() => Convert.ToHexStringLower(_fingerprint.GetCurrentHash());

    /// <summary>Advances to the next well-formed row; returns <see langword="false"/> at the end of the last file.</summary>
    public bool Read()
    {
        while (true)
        {
            if (_reader is null && !OpenNextFile())
            {
                return false;
            }

            var line = _reader!.ReadLine();
            if (line is null)
            {
                _reader.Dispose();
                _reader = null;
                continue;
            }

            _lineNumber++;
            if (Row.TryLoad(line, _map!, _paths[_fileIndex], _lineNumber, out var error))
            {
                Rows++;
                return true;
            }

            Malformed.Add(_paths[_fileIndex], _lineNumber, error!);
        }
    }

    public void Dispose()
    {
        _reader?.Dispose();
        _fingerprint.Dispose();
    }

    private bool OpenNextFile()
    {
        if (++_fileIndex >= _paths.Count)
        {
            return false;
        }

        var path = _paths[_fileIndex];
        Stream stream = new HashingStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), _fingerprint);
        if (IsGzip(path))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }

        _reader = new StreamReader(stream, bufferSize: 1 << 16);
        _lineNumber = 0;
        IReadOnlyList<string> columns;
        if (_schema.HasHeader)
        {
            var header = _reader.ReadLine();
            _lineNumber = 1;
            if (header is null)
            {
                _reader.Dispose();
                _reader = null;
                return OpenNextFile();
            }

            columns = header.Split(_schema.Separator).Select(c => c.Trim()).ToArray();
        }
        else
        {
            columns = _schema.Columns!;
        }

        _schema.CheckColumnsExist(columns, path);
        _map = new ColumnMap(_schema, columns);
        return true;
    }

    private static bool IsGzip(string path)
    {
        Span<byte> magic = stackalloc byte[2];
        using var probe = File.OpenRead(path);
        return probe.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    /// <summary>Feeds every byte read through a hash, for the data fingerprint.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            hash.AppendData(buffer[..n]);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>Where each schema field sits among a file's columns.</summary>
internal sealed class ColumnMap
{
    public ColumnMap(ClickLogSchema schema, IReadOnlyList<string> columns)
    {
        Columns = columns;
        Separator = schema.Separator;
        Label = IndexOf(schema.Label);
        Numeric = schema.Numeric.Select(IndexOf).ToArray();
        Categorical = schema.Categorical.Select(IndexOf).ToArray();
        Timestamp = schema.Timestamp is null ? -1 : IndexOf(schema.Timestamp.Field);
        TimestampFormat = schema.Timestamp?.Format;

        int IndexOf(string name)
        {
            for (var i = 0; i < columns.Count; i++)
            {
                if (columns[i] == name)
                {
                    return i;
                }
            }

            throw new ClickLogSchemaException($"unknown column '{name}'");
        }
    }

    public IReadOnlyList<string> Columns { get; }

    public char Separator { get; }

    public int Label { get; }

    public int[] Numeric { get; }

    public int[] Categorical { get; }

    public int Timestamp { get; }

    public string? TimestampFormat { get; }
}

/// <summary>One parsed click-log row; its text fields are spans over the line, valid until the next read.</summary>
internal sealed class ClickLogRow
{
    private int[] _starts = new int[64];
    private int[] _lengths = new int[64];
    private string _line = string.Empty;

    public ClickLogRow(ClickLogSchema schema)
    {
        Numeric = new double[schema.Numeric.Count];
        CategoricalColumns = new int[schema.Categorical.Count];
    }

    public bool Label { get; private set; }

    /// <summary>Numeric values in schema order; NaN means missing.</summary>
    public double[] Numeric { get; }

    public DateTimeOffset? Timestamp { get; private set; }

    public string File { get; private set; } = string.Empty;

    public long LineNumber { get; private set; }

    public int FieldCount { get; private set; }

    private int[] CategoricalColumns { get; }

    /// <summary>The categorical value at a schema position (empty when missing).</summary>
    public ReadOnlySpan<char> Categorical(int index) => Field(CategoricalColumns[index]);

    /// <summary>The raw text of a file column.</summary>
    public ReadOnlySpan<char> Field(int column) => _line.AsSpan(_starts[column], _lengths[column]);

    internal bool TryLoad(string line, ColumnMap map, string file, long lineNumber, out string? error)
    {
        _line = line;
        File = file;
        LineNumber = lineNumber;
        if (!Split(line, map))
        {
            error = $"expected {map.Columns.Count} fields, found {FieldCount}";
            return false;
        }

        var label = Field(map.Label).Trim();
        if (label is "1" or "1.0" or "true")
        {
            Label = true;
        }
        else if (label is "0" or "0.0" or "false" or "-1")
        {
            Label = false;
        }
        else
        {
            error = $"label '{map.Columns[map.Label]}' is '{label}', not 0 or 1";
            return false;
        }

        for (var i = 0; i < map.Numeric.Length; i++)
        {
            var text = Field(map.Numeric[i]);
            if (text.IsEmpty)
            {
                Numeric[i] = double.NaN;
            }
            else if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out Numeric[i]) || !double.IsFinite(Numeric[i]))
            {
                error = $"numeric field '{map.Columns[map.Numeric[i]]}' is '{text}', not a number";
                return false;
            }
        }

        map.Categorical.CopyTo(CategoricalColumns, 0);
        Timestamp = null;
        if (map.Timestamp >= 0)
        {
            var text = Field(map.Timestamp);
            if (!text.IsEmpty)
            {
                if (!TimestampFormat.TryParse(text, map.TimestampFormat!, out var ts))
                {
                    error = $"timestamp '{map.Columns[map.Timestamp]}' is '{text}', not in format '{map.TimestampFormat}'";
                    return false;
                }

                Timestamp = ts;
            }
        }

        error = null;
        return true;
    }

    private bool Split(string line, ColumnMap map)
    {
        var separator = map.Separator;
        var count = 0;
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            if (i == line.Length || line[i] == separator)
            {
                if (count == _starts.Length)
                {
                    Array.Resize(ref _starts, count * 2);
                    Array.Resize(ref _lengths, count * 2);
                }

                var end = i;
                if (end > start && line[end - 1] == '\r')
                {
                    end--;
                }

                _starts[count] = start;
                _lengths[count] = end - start;
                count++;
                start = i + 1;
            }
        }

        FieldCount = count;
        return count == map.Columns.Count;
    }
}

/// <summary>Malformed rows: how many, and the first few with file and line number.</summary>
internal sealed class MalformedRows(int maxReported)
{
    private readonly List<MalformedRow> _first = [];

    public long Count { get; private set; }

    public IReadOnlyList<MalformedRow> First => _first;

    public void Add(string file, long line, string reason)
    {
        Count++;
        if (_first.Count < maxReported)
        {
            _first.Add(new MalformedRow(file, line, reason));
        }
    }
}
