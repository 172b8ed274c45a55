using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using CtrFallback.Data;
using ParquetSharp;

namespace CtrFallback.Parquet;

/// <summary>
/// Parquet, read by row group and only the schema's columns, a batch of rows at a time (memory stays bounded by the
/// batch, not the row group). Numbers and times go to the row as values, strings as text decoded once from the page's
/// UTF-8; the reader then checks them as it checks every format, so a Parquet log and the TSV it came from give the
/// same rows. A row's location is its row group and row.
/// </summary>
/// <remarks>
/// ParquetSharp (Apache Arrow's C++ reader) over Parquet.Net: measured faster for this access pattern
/// (benchmarks/CtrFallback.Benchmarks, <c>parquet-libraries</c>), and its API is synchronous, which fits the reader's
/// producer thread without blocking on async calls. Columns are read with the physical column readers, not the
/// logical ones: no nullable value per cell, nulls from the definition levels.
/// </remarks>
internal sealed class ParquetRecordSource : ClickLogRecordSource
{
    // Rows per decoded batch: small enough that a batch of every column (26 strings of 8 characters, 13 numbers) stays
    // in the core's cache while its rows are handed out; 4096 took 60% more CPU on the neutral 1M log
    // (benchmarks/CtrFallback.Benchmarks "source": 1.06-1.24 s against 1.64-2.20 s).
    private const int BatchRows = 512;

    private readonly string _path;
    private readonly ParquetFileReader _file;
    private readonly ColumnBuffer[] _columns;
    private readonly int _rowGroups;
    private IEnumerator<Decoded>? _batches;
    private Decoded? _batch;
    private int _batchRow;
    private long _fileRow;
    private long _recordRow;
    private int _group;
    private long _first;

    public ParquetRecordSource(string path, ClickLogSchema schema)
    {
        _path = path;
        try
        {
            _file = new ParquetFileReader(path);
        }
        catch (ParquetException ex)
        {
            throw new InvalidDataException($"{path}: not a readable Parquet file ({ex.Message.Trim()})", ex);
        }

        try
        {
            var fileSchema = _file.FileMetaData.Schema;
            var names = Enumerable.Range(0, fileSchema.NumColumns).Select(i => fileSchema.Column(i).Name).ToArray();
            schema.CheckColumnsExist(names, path);

            // Only the columns the schema names are read; the others are never decoded.
            var wanted = new[] { schema.Label }.Concat(schema.Numeric).Concat(schema.Categorical)
                .Concat(schema.Timestamp is null ? [] : [schema.Timestamp.Field]).ToArray();
            Columns = wanted;
            _columns = wanted.Select(name =>
            {
                var index = Array.IndexOf(names, name);
                var role = name == schema.Label || schema.Numeric.Contains(name) ? Role.Number
                    : name == schema.Timestamp?.Field ? Role.Time
                    : Role.Text;
                return ColumnBuffer.For(fileSchema.Column(index), index, role, path);
            }).ToArray();
            _rowGroups = _file.FileMetaData.NumRowGroups;
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>What the reader does with a column: parse a number, a time, or hash it as text.</summary>
    private enum Role
    {
        Number,
        Time,
        Text,
    }

    public override bool TryReadFields(ClickLogRow row, out long line, out string? error)
    {
        error = null;
        if ((_batch is null || _batchRow == _batch.Count) && !NextBatch())
        {
            line = _fileRow;
            return false;
        }

        var columns = _batch!.Columns;
        row.BeginFields(columns.Length);
        for (var c = 0; c < columns.Length; c++)
        {
            columns[c].Emit(_batchRow, row, c);
        }

        _recordRow = _batch.FirstRow + _batchRow;
        _batchRow++;
        line = ++_fileRow;
        return true;
    }

    /// <summary>Row group and row of the record last read (0-based, as Parquet tools count), before the reason.</summary>
    public override string Locate(string error) => string.Create(CultureInfo.InvariantCulture, $"row group {_batch?.Group}, row {_recordRow}: {error}");

    public override void Dispose()
    {
        _batches?.Dispose();
        _file.Dispose();
    }

    private bool NextBatch()
    {
        _batches ??= Decode().GetEnumerator();
        _batchRow = 0;
        try
        {
            if (!_batches.MoveNext())
            {
                _batch = null;
                return false;
            }
        }
        catch (Exception ex) when (ex is ParquetException or InvalidDataException)
        {
            // A damaged page or chunk: the file and the rows it was reading.
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{_path}: row group {_group}, rows from {_first}: {ex.Message.Trim()}"), ex);
        }

        _batch = _batches.Current;
        return true;
    }

    /// <summary>The file's batches in order, decoded into one reused set of column buffers.</summary>
    private IEnumerable<Decoded> Decode()
    {
        var batch = new Decoded(_columns);
        var readers = new ColumnReader[_columns.Length];
        for (var g = 0; g < _rowGroups; g++)
        {
            using var group = _file.RowGroup(g);
            var rows = group.MetaData.NumRows;
            try
            {
                for (var c = 0; c < _columns.Length; c++)
                {
                    readers[c] = group.Column(_columns[c].Index);
                }

                for (long first = 0; first < rows; first += BatchRows)
                {
                    (_group, _first) = (g, first);
                    (batch.Group, batch.FirstRow, batch.Count) = (g, first, (int)Math.Min(BatchRows, rows - first));
                    for (var c = 0; c < _columns.Length; c++)
                    {
                        _columns[c].Read(readers[c], batch.Count);
                    }

                    yield return batch;
                }
            }
            finally
            {
                foreach (var reader in readers)
                {
                    reader?.Dispose();
                }

                Array.Clear(readers);
            }
        }
    }

    /// <summary>One batch of rows, decoded column by column.</summary>
    private sealed class Decoded(ColumnBuffer[] columns)
    {
        public ColumnBuffer[] Columns { get; } = columns;

        public int Group { get; set; }

        public long FirstRow { get; set; }

        public int Count { get; set; }

    }

    /// <summary>One column's values for the current batch, handed to rows one at a time.</summary>
    private abstract class ColumnBuffer(int index, short maxDefinitionLevel)
    {
        private readonly short[] _repetitions = new short[BatchRows];

        /// <summary>The column's index in the file.</summary>
        public int Index { get; } = index;

        protected short MaxDefinitionLevel { get; } = maxDefinitionLevel;

        /// <summary>Definition levels of the batch: below the maximum is a null.</summary>
        protected short[] Definitions { get; } = new short[BatchRows];

        protected short[] Repetitions => _repetitions;

        public static ColumnBuffer For(ColumnDescriptor column, int index, Role role, string path)
        {
            var level = column.MaxDefinitionLevel;
            var logical = column.LogicalType;
            var name = column.Name;
            switch (column.PhysicalType)
            {
                case PhysicalType.ByteArray when logical is StringLogicalType:
                    if (role == Role.Number)
                    {
                        throw new ClickLogSchemaException($"{path}: column '{name}' is named as numeric (or label) but holds strings; the schema and the file disagree.");
                    }

                    return new StringColumn(index, level);
                case PhysicalType.Int64 when logical is TimestampLogicalType timestamp:
                    return role == Role.Time
                        ? new ValueColumn<long>(index, level, Role.Time, timestamp.TimeUnit switch
                        {
                            TimeUnit.Millis => TimeSpan.TicksPerMillisecond,
                            TimeUnit.Micros => TimeSpan.TicksPerMicrosecond,
                            _ => -100, // nanoseconds: divided by 100 to ticks
                        })
                        : throw NotTheTimestamp(path, name, "TIMESTAMP");
                case PhysicalType.Int32 when logical is DateLogicalType:
                    return role == Role.Time
                        ? new ValueColumn<int>(index, level, Role.Time, TimeSpan.TicksPerDay)
                        : throw NotTheTimestamp(path, name, "DATE");
                case PhysicalType.Int64 when logical is NoneLogicalType or IntLogicalType { BitWidth: 64 }:
                    return new ValueColumn<long>(index, level, role, unsigned: logical is IntLogicalType { IsSigned: false });
                case PhysicalType.Int32 when logical is NoneLogicalType or IntLogicalType:
                    return new ValueColumn<int>(index, level, role, unsigned: logical is IntLogicalType { IsSigned: false });
                case PhysicalType.Double:
                    return new ValueColumn<double>(index, level, role);
                case PhysicalType.Float:
                    return new ValueColumn<float>(index, level, role);
                case PhysicalType.Boolean:
                    return new ValueColumn<bool>(index, level, role);
                default:
                    throw new ClickLogSchemaException(
                        $"{path}: column '{name}' has Parquet type {column.PhysicalType} ({logical.GetType().Name.Replace("LogicalType", string.Empty, StringComparison.Ordinal)}), which the reader does not take: use strings, integers, floats, doubles or booleans (and TIMESTAMP or DATE for the timestamp).");
            }
        }

        /// <summary>Decodes the next <paramref name="count"/> rows of the column chunk.</summary>
        public abstract void Read(ColumnReader reader, int count);

        /// <summary>Sets field <paramref name="field"/> of <paramref name="target"/> to the batch's row <paramref name="row"/>.</summary>
        public abstract void Emit(int row, ClickLogRow target, int field);

        private static ClickLogSchemaException NotTheTimestamp(string path, string name, string type) =>
            new($"{path}: column '{name}' holds {type} values, which the reader takes only for the schema's timestamp field.");
    }

    /// <summary>
    /// A column of fixed-size values, spread to one slot per row (nulls from the definition levels): numbers go to the
    /// row as values (no text round trip), times as UTC ticks, and a number hashed as a category as its text.
    /// </summary>
    private sealed class ValueColumn<T>(int index, short maxDefinitionLevel, Role role, long ticksPerUnit = 0, bool unsigned = false)
        : ColumnBuffer(index, maxDefinitionLevel)
        where T : unmanaged
    {
        private readonly T[] _values = new T[BatchRows];

        public override void Read(ColumnReader reader, int count)
        {
            var typed = (ColumnReader<T>)reader;
            var row = 0;
            while (row < count)
            {
                var levels = (int)typed.ReadBatch(count - row, Definitions.AsSpan(row), Repetitions.AsSpan(row), _values.AsSpan(row), out var values);
                if (levels == 0)
                {
                    throw new InvalidDataException($"The Parquet column chunk ended {count - row} rows before its row group did.");
                }

                if (values < levels)
                {
                    // Values come packed (nulls have none): spread them to their rows, from the back so none is overwritten.
                    var v = row + (int)values - 1;
                    for (var k = row + levels - 1; k >= row; k--)
                    {
                        if (Definitions[k] == MaxDefinitionLevel)
                        {
                            _values[k] = _values[v--];
                        }
                    }
                }

                row += levels;
            }
        }

        public override void Emit(int row, ClickLogRow target, int field)
        {
            if (MaxDefinitionLevel > 0 && Definitions[row] < MaxDefinitionLevel)
            {
                target.SetMissing(field);
                return;
            }

            var value = _values[row];
            switch (role)
            {
                case Role.Number:
                    target.SetNumber(field, ToDouble(value));
                    break;
                case Role.Time:
                    var units = ToLong(value);
                    target.SetTime(field, DateTime.UnixEpoch.Ticks + (ticksPerUnit < 0 ? units / -ticksPerUnit : units * ticksPerUnit));
                    break;
                default:
                    // The text a delimited log would hold: "R" for floating point, the shortest that parses back the same.
                    var buffer = target.TextBuffer(32);
                    int written;
                    if (typeof(T) == typeof(bool))
                    {
                        (buffer[0], written) = ((bool)(object)value ? '1' : '0', 1);
                    }
                    else if (typeof(T) == typeof(double))
                    {
                        Unsafe.As<T, double>(ref value).TryFormat(buffer, out written, "R", CultureInfo.InvariantCulture);
                    }
                    else if (typeof(T) == typeof(float))
                    {
                        Unsafe.As<T, float>(ref value).TryFormat(buffer, out written, "R", CultureInfo.InvariantCulture);
                    }
                    else if (unsigned)
                    {
                        ((ulong)ToLong(value)).TryFormat(buffer, out written, default, CultureInfo.InvariantCulture);
                    }
                    else
                    {
                        ToLong(value).TryFormat(buffer, out written, default, CultureInfo.InvariantCulture);
                    }

                    target.EndText(field, written);
                    break;
            }
        }

        private long ToLong(T value)
        {
            if (typeof(T) == typeof(int))
            {
                var v = Unsafe.As<T, int>(ref value);
                return unsigned ? (uint)v : v;
            }

            if (typeof(T) == typeof(long))
            {
                var v = Unsafe.As<T, long>(ref value);
                return unsigned && v < 0 ? throw new InvalidDataException($"An unsigned 64-bit value {(ulong)v} does not fit the reader's range.") : v;
            }

            return 0;
        }

        private double ToDouble(T value)
        {
            if (typeof(T) == typeof(double))
            {
                return Unsafe.As<T, double>(ref value);
            }

            if (typeof(T) == typeof(float))
            {
                // Through its shortest text, as a TSV would hold it: 0.1f reads as 0.1, not 0.100000001490116.
                Span<char> text = stackalloc char[32];
                Unsafe.As<T, float>(ref value).TryFormat(text, out var written, "R", CultureInfo.InvariantCulture);
                return double.Parse(text[..written], NumberStyles.Float, CultureInfo.InvariantCulture);
            }

            if (typeof(T) == typeof(bool))
            {
                return Unsafe.As<T, bool>(ref value) ? 1 : 0;
            }

            return unsigned && typeof(T) == typeof(long) ? (ulong)Unsafe.As<T, long>(ref value) : ToLong(value);
        }
    }

    /// <summary>
    /// Strings decoded straight from Parquet's UTF-8 into one character buffer per batch: a string object per value
    /// (26 million for a 1M-row Criteo log) is what made the logical reader slower than reading the TSV.
    /// </summary>
    private sealed unsafe class StringColumn(int index, short maxDefinitionLevel) : ColumnBuffer(index, maxDefinitionLevel)
    {
        private readonly ByteArray[] _values = new ByteArray[BatchRows];
        private readonly int[] _starts = new int[BatchRows];
        private readonly int[] _lengths = new int[BatchRows];
        private char[] _text = new char[BatchRows * 16]; // grown when values are longer

        public override void Read(ColumnReader reader, int count)
        {
            var typed = (ColumnReader<ByteArray>)reader;
            var row = 0;
            var used = 0;
            while (row < count)
            {
                // The values point into the reader's page buffers, valid until its next call: decode them now.
                var levels = (int)typed.ReadBatch(count - row, Definitions.AsSpan(row), Repetitions.AsSpan(row), _values, out _);
                if (levels == 0)
                {
                    throw new InvalidDataException($"The Parquet column chunk ended {count - row} rows before its row group did.");
                }

                var value = 0;
                for (var k = row; k < row + levels; k++)
                {
                    if (MaxDefinitionLevel > 0 && Definitions[k] < MaxDefinitionLevel)
                    {
                        (_starts[k], _lengths[k]) = (used, 0);
                        continue;
                    }

                    var bytes = new ReadOnlySpan<byte>((void*)_values[value].Pointer, _values[value].Length);
                    value++;
                    if (_text.Length - used < bytes.Length)
                    {
                        Array.Resize(ref _text, Math.Max(_text.Length * 2, used + bytes.Length));
                    }

                    // Most click-log values (hex ids, codes) are ASCII: widened directly, UTF-8 decoding only for the rest.
                    if (System.Text.Ascii.ToUtf16(bytes, _text.AsSpan(used), out var written) != OperationStatus.Done)
                    {
                        var need = System.Text.Encoding.UTF8.GetMaxCharCount(bytes.Length);
                        if (_text.Length - used < need)
                        {
                            Array.Resize(ref _text, Math.Max(_text.Length * 2, used + need));
                        }

                        written = System.Text.Encoding.UTF8.GetChars(bytes, _text.AsSpan(used));
                    }

                    _starts[k] = used;
                    _lengths[k] = written;
                    used += written;
                }

                row += levels;
            }
        }

        public override void Emit(int row, ClickLogRow target, int field)
        {
            if (MaxDefinitionLevel > 0 && Definitions[row] < MaxDefinitionLevel)
            {
                target.SetMissing(field);
                return;
            }

            target.SetText(field, _text.AsSpan(_starts[row], _lengths[row]));
        }
    }
}
