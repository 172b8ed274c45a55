using System.Globalization;
using CtrFallback.Data;
using ParquetSharp;

namespace CtrFallback.Parquet;

/// <summary>
/// Parquet, read by row group and only the schema's columns, a batch of rows at a time (memory stays bounded by the
/// batch, not the row group). Values become the text the reader parses for every format, so a Parquet log and the
/// TSV it came from give the same rows; a row's location is its row group and row.
/// </summary>
/// <remarks>
/// ParquetSharp (Apache Arrow's C++ reader) over Parquet.Net: its API is synchronous, which fits the reader's producer
/// thread without blocking on async calls.
/// </remarks>
internal sealed class ParquetRecordSource : ClickLogRecordSource
{
    private const int BatchRows = 4096;
    private readonly ParquetFileReader _file;
    private readonly ColumnBuffer[] _buffers;
    private readonly int[] _starts;
    private readonly int[] _lengths;
    private readonly int _rowGroups;
    private char[] _chars = new char[4096];
    private RowGroupReader? _group;
    private int _groupIndex = -1;
    private long _groupRows;
    private long _groupRow;
    private int _batchCount;
    private int _batchRow;
    private long _fileRow;
    private int _recordGroup;
    private long _recordRow;

    public ParquetRecordSource(string path, ClickLogSchema schema)
    {
        _file = new ParquetFileReader(path);
        try
        {
            var fileSchema = _file.FileMetaData.Schema;
            var names = Enumerable.Range(0, fileSchema.NumColumns).Select(i => fileSchema.Column(i).Name).ToArray();
            schema.CheckColumnsExist(names, path);

            // Only the columns the schema names are read; the others are never decoded.
            var wanted = new[] { schema.Label }.Concat(schema.Numeric).Concat(schema.Categorical)
                .Concat(schema.Timestamp is null ? [] : [schema.Timestamp.Field]).ToArray();
            Columns = wanted;
            _buffers = wanted.Select(name =>
            {
                var index = Array.IndexOf(names, name);
                var column = fileSchema.Column(index);
                var numeric = name == schema.Label || schema.Numeric.Contains(name);
                return ColumnBuffer.For(column, index, numeric, path);
            }).ToArray();
            _starts = new int[wanted.Length];
            _lengths = new int[wanted.Length];
            _rowGroups = _file.FileMetaData.NumRowGroups;
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public override bool TryReadFields(ClickLogRow row, out long line, out string? error)
    {
        error = null;
        if (_batchRow == _batchCount && !NextBatch())
        {
            line = _fileRow;
            return false;
        }

        var used = 0;
        for (var c = 0; c < _buffers.Length; c++)
        {
            if (_chars.Length - used < 64)
            {
                Array.Resize(ref _chars, _chars.Length * 2);
            }

            int written;
            while (!_buffers[c].TryFormat(_batchRow, _chars.AsSpan(used), out written))
            {
                Array.Resize(ref _chars, _chars.Length * 2);
            }

            (_starts[c], _lengths[c]) = (used, written);
            used += written;
        }

        row.SetFields(new string(_chars, 0, used), _starts, _lengths);
        _recordGroup = _groupIndex;
        _recordRow = _groupRow - _batchCount + _batchRow;
        _batchRow++;
        line = ++_fileRow;
        return true;
    }

    /// <summary>Row group and row of the record last read (0-based, as Parquet tools count), before the reason.</summary>
    public override string Locate(string error) => string.Create(CultureInfo.InvariantCulture, $"row group {_recordGroup}, row {_recordRow}: {error}");

    public override void Dispose()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }

        _group?.Dispose();
        _file.Dispose();
    }

    private bool NextBatch()
    {
        while (_group is null || _groupRow == _groupRows)
        {
            foreach (var buffer in _buffers)
            {
                buffer.Close();
            }

            _group?.Dispose();
            _group = null;
            if (++_groupIndex >= _rowGroups)
            {
                return false;
            }

            _group = _file.RowGroup(_groupIndex);
            _groupRows = _group.MetaData.NumRows;
            _groupRow = 0;
            foreach (var buffer in _buffers)
            {
                buffer.Open(_group);
            }
        }

        var count = (int)Math.Min(BatchRows, _groupRows - _groupRow);
        foreach (var buffer in _buffers)
        {
            buffer.Read(count);
        }

        (_batchCount, _batchRow) = (count, 0);
        _groupRow += count;
        return true;
    }

    /// <summary>One column's values for the current batch, formatted on demand as the text a delimited log would hold.</summary>
    private abstract class ColumnBuffer : IDisposable
    {
        protected ColumnBuffer(int index) => Index = index;

        protected int Index { get; }

        public static ColumnBuffer For(ColumnDescriptor column, int index, bool numeric, string path)
        {
            var optional = column.MaxDefinitionLevel > 0;
            var logical = column.LogicalType;
            switch (column.PhysicalType)
            {
                case PhysicalType.ByteArray when logical is StringLogicalType:
                    if (numeric)
                    {
                        throw new ClickLogSchemaException($"{path}: column '{column.Name}' is named as numeric (or label) but holds strings; the schema and the file disagree.");
                    }

                    return new StringColumn(index, column.MaxDefinitionLevel);
                case PhysicalType.Int64 when logical is NoneLogicalType or IntLogicalType { IsSigned: true }:
                    return optional ? new ValueColumn<long>(index) : new RequiredColumn<long>(index);
                case PhysicalType.Int32 when logical is NoneLogicalType or IntLogicalType { BitWidth: 32, IsSigned: true }:
                    return optional ? new ValueColumn<int>(index) : new RequiredColumn<int>(index);
                case PhysicalType.Double:
                    return optional ? new ValueColumn<double>(index) : new RequiredColumn<double>(index);
                case PhysicalType.Float:
                    return optional ? new ValueColumn<float>(index) : new RequiredColumn<float>(index);
                case PhysicalType.Boolean:
                    return optional ? new BoolColumn(index) : new RequiredBoolColumn(index);
                default:
                    throw new ClickLogSchemaException(
                        $"{path}: column '{column.Name}' has Parquet type {column.PhysicalType} ({logical.GetType().Name.Replace("LogicalType", string.Empty, StringComparison.Ordinal)}), which the reader does not take: use strings, 32- or 64-bit integers, floats, doubles or booleans.");
            }
        }

        public abstract void Open(RowGroupReader group);

        public abstract void Read(int count);

        public abstract bool TryFormat(int row, Span<char> destination, out int written);

        public abstract void Close();

        public void Dispose() => Close();
    }

    private abstract class TypedColumn<T>(int index) : ColumnBuffer(index)
    {
        private LogicalColumnReader<T>? _reader;

        protected T[] Values { get; } = new T[BatchRows];

        public override void Open(RowGroupReader group) => _reader = group.Column(Index).LogicalReader<T>();

        public override void Read(int count)
        {
            var read = 0;
            while (read < count)
            {
                read += _reader!.ReadBatch(Values, read, count - read);
            }
        }

        public override void Close()
        {
            _reader?.Dispose();
            _reader = null;
        }
    }

    private sealed class ValueColumn<T>(int index) : TypedColumn<T?>(index)
        where T : struct, ISpanFormattable
    {
        public override bool TryFormat(int row, Span<char> destination, out int written)
        {
            if (Values[row] is not { } value)
            {
                written = 0;
                return true;
            }

            // "R" for floating point: the shortest text that parses back to the same value.
            return value.TryFormat(destination, out written, typeof(T) == typeof(double) || typeof(T) == typeof(float) ? "R" : default, CultureInfo.InvariantCulture);
        }
    }

    private sealed class RequiredColumn<T>(int index) : TypedColumn<T>(index)
        where T : struct, ISpanFormattable
    {
        public override bool TryFormat(int row, Span<char> destination, out int written) =>
            Values[row].TryFormat(destination, out written, typeof(T) == typeof(double) || typeof(T) == typeof(float) ? "R" : default, CultureInfo.InvariantCulture);
    }

    private sealed class BoolColumn(int index) : TypedColumn<bool?>(index)
    {
        public override bool TryFormat(int row, Span<char> destination, out int written) => Format(Values[row], destination, out written);

        public static bool Format(bool? value, Span<char> destination, out int written)
        {
            var text = value switch { true => "1", false => "0", null => string.Empty };
            written = text.Length;
            return text.AsSpan().TryCopyTo(destination);
        }
    }

    private sealed class RequiredBoolColumn(int index) : TypedColumn<bool>(index)
    {
        public override bool TryFormat(int row, Span<char> destination, out int written) => BoolColumn.Format(Values[row], destination, out written);
    }

    /// <summary>
    /// Strings decoded straight from Parquet's UTF-8 into one character buffer per batch: a string object per value
    /// (26 million for a 1M-row Criteo log) is what made the logical reader slower than reading the TSV.
    /// </summary>
    private sealed unsafe class StringColumn(int index, short maxDefinitionLevel) : ColumnBuffer(index)
    {
        private readonly short[] _definitions = new short[BatchRows];
        private readonly short[] _repetitions = new short[BatchRows];
        private readonly ByteArray[] _values = new ByteArray[BatchRows];
        private readonly int[] _starts = new int[BatchRows];
        private readonly int[] _lengths = new int[BatchRows];
        private char[] _text = new char[BatchRows * 8]; // 64 KB: under the large-object heap, grown when values are longer
        private ColumnReader<ByteArray>? _reader;

        public override void Open(RowGroupReader group) => _reader = (ColumnReader<ByteArray>)group.Column(Index);

        public override void Read(int count)
        {
            var row = 0;
            var used = 0;
            while (row < count)
            {
                // The values point into the reader's page buffers, valid until its next call: decode them now.
                var levels = (int)_reader!.ReadBatch(count - row, _definitions.AsSpan(row), _repetitions.AsSpan(row), _values, out _);
                if (levels == 0)
                {
                    throw new InvalidDataException($"The Parquet column chunk ended {count - row} rows before its row group did.");
                }

                var value = 0;
                for (var k = row; k < row + levels; k++)
                {
                    if (maxDefinitionLevel > 0 && _definitions[k] < maxDefinitionLevel)
                    {
                        (_starts[k], _lengths[k]) = (used, 0);
                        continue;
                    }

                    var bytes = new ReadOnlySpan<byte>((void*)_values[value].Pointer, _values[value].Length);
                    value++;
                    var need = System.Text.Encoding.UTF8.GetMaxCharCount(bytes.Length);
                    if (_text.Length - used < need)
                    {
                        Array.Resize(ref _text, Math.Max(_text.Length * 2, used + need));
                    }

                    var written = System.Text.Encoding.UTF8.GetChars(bytes, _text.AsSpan(used));
                    (_starts[k], _lengths[k]) = (used, written);
                    used += written;
                }

                row += levels;
            }
        }

        public override bool TryFormat(int row, Span<char> destination, out int written)
        {
            written = _lengths[row];
            return _text.AsSpan(_starts[row], written).TryCopyTo(destination);
        }

        public override void Close()
        {
            _reader?.Dispose();
            _reader = null;
        }
    }
}
