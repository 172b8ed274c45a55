using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.IO.Compression;
using System.Security.Cryptography;
using CtrFallback.Features;

namespace CtrFallback.Data;

/// <summary>
/// Streams the rows of one or more click-log files (delimited text or JSON lines, plain or gzip), one reusable row at a time.
/// Malformed rows are counted and the first ones remembered with file and line number; none is skipped silently.
/// The formats differ only in their <see cref="ClickLogRecordSource"/>, which fills a batch of rows with fields; parsing,
/// malformed-row counting and the fingerprint are this class's, for every format.
/// </summary>
internal sealed class ClickLogReader : IDisposable
{
    private const int BatchRows = 1024;
    private readonly ClickLogSchema _schema;
    private readonly IReadOnlyList<string> _paths;
    private readonly IncrementalHash _fingerprint = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Batch> _free = [];
    private BlockingCollection<Batch>? _batches;
    private Task? _producer;
    private Batch? _batch;
    private int _next;
    private bool _ended;

    // The producer's state: which file, its record source and column map.
    private int _fileIndex = -1;
    private ClickLogRecordSource? _source;
    private ColumnMap? _map;
    private Task? _hashing;
    private readonly DateTimeOffset? _after;
    private long _outsideWindow;
    private FeatureHasher? _hashAhead;

    /// <summary>Opens the click logs: files, folders or globs (<see cref="ClickLogInputs.Resolve"/>).</summary>
    /// <exception cref="FileNotFoundException">A name matches no file.</exception>
    /// <param name="schema">How to read the files.</param>
    /// <param name="paths">Files, folders or globs.</param>
    /// <param name="maxReported">Malformed rows remembered with their location.</param>
    /// <param name="after">
    /// When set, only rows whose timestamp is later than this are returned (the rolling window by the schema's
    /// timestamp); the others, and rows without a timestamp, are counted in <see cref="OutsideWindow"/>.
    /// </param>
    public ClickLogReader(ClickLogSchema schema, IReadOnlyList<string> paths, int maxReported = 10, DateTimeOffset? after = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0)
        {
            throw new ArgumentException("At least one click-log file is required.", nameof(paths));
        }

        if (after is not null && schema.Timestamp is null)
        {
            throw new ArgumentException("A window by timestamp needs a schema with a timestamp field.", nameof(after));
        }

        _schema = schema;
        _after = after;
        _paths = ClickLogInputs.Resolve(paths).Select(i => i.Path).ToArray();
        Malformed = new MalformedRows(maxReported);
        Row = new ClickLogRow(schema);
    }

    /// <summary>The current row, valid until the next <see cref="Read"/>.</summary>
    public ClickLogRow Row { get; private set; }

    /// <summary>Malformed rows; complete once <see cref="Read"/> has returned <see langword="false"/>.</summary>
    public MalformedRows Malformed { get; }

    /// <summary>The files read, in reading order, after folders and globs were expanded.</summary>
    public IReadOnlyList<string> Files => _paths;

    /// <summary>
    /// Lets the reading thread hash the categoricals with <paramref name="hasher"/> where its source decodes them
    /// (a typed source, Parquet: each distinct value of a batch once, while its text is in the cache), so the thread
    /// that featurizes the rows looks their hashes up (<see cref="ClickLogRow.HashCategoricals"/>) rather than computing
    /// them. The hashes are the same either way. Takes effect from the next file the reading thread opens, so call it
    /// before the first read; it is never wrong to call (a source that cannot hash ahead, a file whose columns do not
    /// match the hasher's fields, leave the hashing to the featurizer).
    /// </summary>
    public void HashCategoricalsAhead(FeatureHasher hasher)
    {
        ArgumentNullException.ThrowIfNull(hasher);
        Volatile.Write(ref _hashAhead, hasher);
    }

    /// <summary>Well-formed rows left out by the window by timestamp; complete once <see cref="Read"/> has returned <see langword="false"/>.</summary>
    public long OutsideWindow => Volatile.Read(ref _outsideWindow);

    /// <summary>
    /// The newest timestamp of the well-formed rows of the files, read in a pass of its own: what a window by
    /// timestamp is measured back from. <see langword="null"/> when no row has a timestamp.
    /// </summary>
    public static DateTimeOffset? NewestTimestamp(ClickLogSchema schema, IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        using var reader = new ClickLogReader(schema, paths);
        DateTimeOffset? newest = null;
        while (reader.Read())
        {
            if ((reader.Rows & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (reader.Row.Timestamp is { } t && (newest is null || t > newest))
            {
                newest = t;
            }
        }

        return newest;
    }

    /// <summary>Well-formed rows returned so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Column names of the file being read.</summary>
    public IReadOnlyList<string> Columns => _batch?.Map?.Columns ?? [];

    /// <summary>SHA-256 of every byte read so far (of the files as stored), lowercase hex; complete once <see cref="Read"/> has returned <see langword="false"/>.</summary>
    public string Fingerprint() => Convert.ToHexStringLower(_fingerprint.GetCurrentHash());

    /// <summary>Advances to the next well-formed row; returns <see langword="false"/> at the end of the last file.</summary>
    /// <remarks>
    /// Reading runs on two threads: one reads, decompresses, fingerprints and parses lines into batches of rows, and
    /// the caller's thread takes them, so featurizing never waits for the disk, the decoder or the parser. Rows come in
    /// file order and malformed rows are counted in file order.
    /// </remarks>
    public bool Read()
    {
        if (!HasRowReady())
        {
            return false;
        }

        Row = _batch!.Rows[_next++];
        Rows++;
        return true;
    }

    /// <summary>
    /// Advances past every well-formed row the reader holds ready, at most a batch; empty at the end of the last file.
    /// The rows are valid until the next call, and <see cref="Row"/> is the last of them.
    /// </summary>
    /// <remarks>For a caller that reads a field of many rows at once: a column of a typed source is then read in order.</remarks>
    public ReadOnlySpan<ClickLogRow> ReadRows()
    {
        if (!HasRowReady())
        {
            return default;
        }

        var rows = _batch!.Rows.AsSpan(_next, _batch.Count - _next);
        _next = _batch.Count;
        Rows += rows.Length;
        Row = rows[^1];
        return rows;
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _producer?.Wait();
        }
        catch (AggregateException)
        {
            // The producer's failure was already reported to Read, or nobody is reading any more.
        }

        try
        {
            _hashing?.Wait();
        }
        catch (AggregateException)
        {
            // As above.
        }

        _batches?.Dispose();
        _source?.Dispose();
        _fingerprint.Dispose();
        _stop.Dispose();
    }

    /// <summary>Whether the current batch has a row left, taking the next batch when it has none.</summary>
    private bool HasRowReady() => (_batch is not null && _next < _batch.Count) || (!_ended && NextBatch());

    private bool NextBatch()
    {
        if (_batches is null)
        {
            _batches = new BlockingCollection<Batch>(boundedCapacity: 8);
            _producer = Task.Factory.StartNew(Produce, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        // The previous batch's rows are no longer anyone's: hand it back for reuse.
        if (_batch is { Error: null, Count: > 0 })
        {
            _free.Add(_batch);
        }

        while (true)
        {
            _batch = _batches.Take();
            _next = 0;
            if (_batch.Error is { } error)
            {
                _ended = true;
                ExceptionDispatchInfo.Throw(error);
            }

            if (_batch.IsEnd)
            {
                _ended = true;
                return false;
            }

            if (_batch.Count > 0)
            {
                return true;
            }
        }
    }

    private void Produce()
    {
        var batches = _batches!;
        try
        {
            Batch? batch = null;
            var lines = new long[BatchRows];
            var errors = new string?[BatchRows];
            while (!_stop.IsCancellationRequested)
            {
                if (_source is null && !OpenNextFile())
                {
                    break;
                }

                if (batch is null)
                {
                    batch = _free.TryTake(out var reused) ? reused : new Batch(_schema);
                    (batch.Count, batch.Map) = (0, _map);
                }

                // The source fills the batch's free rows; the well-formed ones are then moved to its front.
                var first = batch.Count;
                var read = _source!.ReadRecords(batch.Rows.AsSpan(first), lines.AsSpan(first), errors.AsSpan(first));
                if (read == 0)
                {
                    // A batch holds rows of one file only (files may differ in columns).
                    if (batch.Count > 0)
                    {
                        batches.Add(batch, _stop.Token);
                    }
                    else
                    {
                        _free.Add(batch);
                    }

                    batch = null;
                    _source.Dispose();
                    _source = null;
                    continue;
                }

                for (var k = first; k < first + read; k++)
                {
                    var row = batch.Rows[k];
                    var error = errors[k];
                    if (error is null && row.TryParse(_map!, _paths[_fileIndex], lines[k], out error))
                    {
                        if (_after is { } after && !(row.Timestamp > after))
                        {
                            // Outside the window: the row's slot is reused.
                            _outsideWindow++;
                            continue;
                        }

                        (batch.Rows[batch.Count], batch.Rows[k]) = (row, batch.Rows[batch.Count]);
                        batch.Count++;
                    }
                    else
                    {
                        Malformed.Add(_paths[_fileIndex], lines[k], _source.Locate(lines[k], error!));
                    }
                }

                if (batch.Count == BatchRows)
                {
                    batches.Add(batch, _stop.Token);
                    batch = null;
                }
            }

            if (batch is not null)
            {
                batches.Add(batch, _stop.Token);
            }

            WaitForHashing();
            batches.Add(new Batch(null) { IsEnd = true }, _stop.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            batches.Add(new Batch(null) { Error = ex });
        }
    }

    private bool OpenNextFile()
    {
        if (++_fileIndex >= _paths.Count)
        {
            return false;
        }

        var path = _paths[_fileIndex];
        WaitForHashing();
        Stream stream = new HashingStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), _fingerprint);
        if (ClickLogRecordSource.IsParquet(path))
        {
            // Parquet is read out of order (footer first, then column chunks): the fingerprint takes the file's bytes in
            // one sequential pass of their own, beside the decoding, done before the next file's bytes, so it means the
            // same as for every other format.
            // A thread of its own, not the pool's: a training host's pool threads may all be busy featurizing.
            _hashing = Task.Factory.StartNew(
                () =>
                {
                    using (stream)
                    {
                        stream.CopyTo(Stream.Null, 1 << 20);
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);

            _source = ClickLogRecordSource.OpenParquet(path, _schema);
            _map = new ColumnMap(_schema, _source.Columns!);
            if (Volatile.Read(ref _hashAhead) is { } hasher && hasher.CategoricalCount == _map.Categorical.Length)
            {
                _source.HashCategoricalsAhead(hasher, _map.Categorical);
            }

            return true;
        }

        if (IsGzip(path))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }

        _source = ClickLogRecordSource.IsJsonLines(path)
            ? new JsonLinesRecordSource(stream, _schema)
            : new DelimitedRecordSource(stream, _schema);
        if (_source.Columns is null)
        {
            // A delimited file with a header and nothing else has no rows.
            _source.Dispose();
            _source = null;
            return OpenNextFile();
        }

        _schema.CheckColumnsExist(_source.Columns, path);
        _map = new ColumnMap(_schema, _source.Columns);
        return true;
    }

    /// <summary>Waits for the fingerprint pass over the previous Parquet file, and fails as it failed.</summary>
    private void WaitForHashing()
    {
        if (_hashing is { } hashing)
        {
            _hashing = null;
            try
            {
                hashing.Wait();
            }
            catch (AggregateException ex) when (ex.InnerExceptions.Count == 1)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException!);
            }
        }
    }

    private static bool IsGzip(string path)
    {
        Span<byte> magic = stackalloc byte[2];
        using var probe = File.OpenRead(path);
        return probe.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    /// <summary>Rows parsed by the reading thread, handed to the caller's thread in one piece.</summary>
    private sealed class Batch(ClickLogSchema? schema)
    {
        public ClickLogRow[] Rows { get; } = schema is null ? [] : Enumerable.Range(0, BatchRows).Select(_ => new ClickLogRow(schema)).ToArray();

        public int Count { get; set; }

        public ColumnMap? Map { get; set; }

        public bool IsEnd { get; init; }

        public Exception? Error { get; init; }
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

    public int Label { get; }

    public int[] Numeric { get; }

    public int[] Categorical { get; }

    public int Timestamp { get; }

    public string? TimestampFormat { get; }
}

/// <summary>
/// One parsed click-log row; its text fields are spans over the line, valid until the next read. A typed source
/// (Parquet) points the row at its record in a batch decoded column by column (<see cref="SetTyped"/>): numbers and
/// times are values there, not formatted only to be parsed back, and the checks on them are the same.
/// </summary>
internal sealed class ClickLogRow
{
    private int[] _starts = new int[64];
    private int[] _lengths = new int[64];
    private string _line = string.Empty;
    private TypedRecordBatch? _typed;
    private int _typedRow;

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

    /// <summary>
    /// The categorical hashes of <paramref name="rows"/>, row after row in <paramref name="hashes"/>:
    /// <paramref name="hasher"/>'s <see cref="FeatureHasher.HashCategorical"/> of each <see cref="Categorical"/>.
    /// </summary>
    /// <remarks>
    /// Rows at consecutive records of a typed source's batch are hashed a column at a time, each distinct value of the
    /// batch once (<see cref="TypedRecordBatch.HashColumn"/>): row after row, the featurizer read 26 column buffers at
    /// once and hashed every repeat of a common value again.
    /// </remarks>
    public static void HashCategoricals(FeatureHasher hasher, ReadOnlySpan<ClickLogRow> rows, Span<uint> hashes)
    {
        var categorical = hasher.CategoricalCount;
        for (var r = 0; r < rows.Length;)
        {
            var row = rows[r];
            var run = 1;
            if (row._typed is { } typed)
            {
                while (r + run < rows.Length && rows[r + run]._typed == typed && rows[r + run]._typedRow == row._typedRow + run)
                {
                    run++;
                }

                for (var i = 0; i < categorical; i++)
                {
                    typed.HashColumn(row.CategoricalColumns[i], row._typedRow, run, hasher, i, hashes[((r * categorical) + i)..], categorical);
                }
            }
            else
            {
                for (var i = 0; i < categorical; i++)
                {
                    hashes[(r * categorical) + i] = hasher.HashCategorical(i, row.Categorical(i));
                }
            }

            r += run;
        }
    }

    /// <summary>The raw text of a file column (empty for a value a typed source set as a number or time).</summary>
    public ReadOnlySpan<char> Field(int column) => _typed is { } typed
        ? typed.Text(column, _typedRow)
        : _line.AsSpan(_starts[column], _lengths[column]);

    /// <summary>A file column as a number, whether the source gave text or a value; NaN when missing or not a number.</summary>
    public double NumberOrNaN(int column)
    {
        if (_typed?.Columns[column] is { Kind: not TypedColumnKind.Text } typed)
        {
            return typed.Kind == TypedColumnKind.Number && typed.Present[_typedRow] ? typed.Numbers[_typedRow] : double.NaN;
        }

        var text = Field(column);
        return text.IsEmpty || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? double.NaN : v;
    }

    /// <summary>A file column as a time, whether the source gave text in <paramref name="format"/> or a value.</summary>
    public DateTimeOffset? TimeOrNull(int column, string format)
    {
        if (_typed?.Columns[column] is { Kind: not TypedColumnKind.Text } typed)
        {
            return typed.Kind == TypedColumnKind.Time && typed.Present[_typedRow] ? new DateTimeOffset(typed.Ticks[_typedRow], TimeSpan.Zero) : null;
        }

        return TimestampFormat.TryParse(Field(column), format, out var t) ? t : null;
    }

    /// <summary>Takes a record's text with the bounds of each field, as a record source found them.</summary>
    internal void SetFields(string text, ReadOnlySpan<int> starts, ReadOnlySpan<int> lengths)
    {
        Reserve(starts.Length);
        LetGoOfTyped();
        _line = text;
        starts.CopyTo(_starts);
        lengths.CopyTo(_lengths);
        FieldCount = starts.Length;
    }

    /// <summary>Points the row at record <paramref name="row"/> of a typed source's batch, which it holds until filled again.</summary>
    internal void SetTyped(TypedRecordBatch batch, int row)
    {
        batch.Hold();
        LetGoOfTyped();
        (_typed, _typedRow) = (batch, row);
        FieldCount = batch.Columns.Length;
    }

    /// <summary>Parses the fields a record source has set into the label, numerics and timestamp: the same for every format.</summary>
    internal bool TryParse(ColumnMap map, string file, long lineNumber, out string? error)
    {
        File = file;
        LineNumber = lineNumber;
        if (TypedNumber(map.Label) is { } labelColumn)
        {
            var value = labelColumn.Numbers[_typedRow];
            if (value is 1)
            {
                Label = true;
            }
            else if (value is 0 or -1)
            {
                Label = false;
            }
            else
            {
                error = string.Create(CultureInfo.InvariantCulture, $"label '{map.Columns[map.Label]}' is '{value:R}', not 0 or 1");
                return false;
            }
        }
        else
        {
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
        }

        for (var i = 0; i < map.Numeric.Length; i++)
        {
            var column = map.Numeric[i];
            if (TypedNumber(column) is { } typed)
            {
                Numeric[i] = typed.Numbers[_typedRow];
                if (!double.IsFinite(Numeric[i]))
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"numeric field '{map.Columns[column]}' is '{Numeric[i]}', not a number");
                    return false;
                }

                continue;
            }

            var text = Field(column);
            if (text.IsEmpty)
            {
                Numeric[i] = double.NaN;
            }
            else if (!TryParseNumber(text, out Numeric[i]))
            {
                error = $"numeric field '{map.Columns[column]}' is '{text}', not a number";
                return false;
            }
        }

        map.Categorical.CopyTo(CategoricalColumns, 0);
        Timestamp = null;
        if (map.Timestamp >= 0)
        {
            if (_typed?.Columns[map.Timestamp] is { Kind: TypedColumnKind.Time } time && time.Present[_typedRow])
            {
                Timestamp = new DateTimeOffset(time.Ticks[_typedRow], TimeSpan.Zero);
            }
            else
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
        }

        error = null;
        return true;
    }

    private void Reserve(int count)
    {
        if (count > _starts.Length)
        {
            var size = Math.Max(count, _starts.Length * 2);
            Array.Resize(ref _starts, size);
            Array.Resize(ref _lengths, size);
        }
    }

    /// <summary>A typed source's column of numbers holding this row's value; <see langword="null"/> for text or a null.</summary>
    private TypedRecordBatch.Column? TypedNumber(int column) =>
        _typed?.Columns[column] is { Kind: TypedColumnKind.Number } typed && typed.Present[_typedRow] ? typed : null;

    private void LetGoOfTyped()
    {
        _typed?.Release();
        _typed = null;
    }

    /// <summary>Parses a finite number; plain integers (most click-log counts) without the general parser, to the same value.</summary>
    private static bool TryParseNumber(ReadOnlySpan<char> text, out double value)
    {
        var digits = text[0] == '-' ? text[1..] : text;
        if (digits.Length is > 0 and <= 15)
        {
            long n = 0;
            foreach (var c in digits)
            {
                var d = c - '0';
                if ((uint)d > 9)
                {
                    goto General;
                }

                n = (n * 10) + d;
            }

            value = digits.Length == text.Length ? n : -n;
            return true;
        }

    General:
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    /// <summary>Splits a delimited line into fields; returns how many it has.</summary>
    internal int Split(string line, char separator)
    {
        LetGoOfTyped();
        _line = line;
        var count = 0;
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            if (i == line.Length || line[i] == separator)
            {
                if (count == _starts.Length)
                {
                    Reserve(count * 2);
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
        return count;
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
