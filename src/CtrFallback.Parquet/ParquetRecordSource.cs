using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using CtrFallback.Data;
using ParquetSharp;

namespace CtrFallback.Parquet;

/// <summary>
/// Parquet, read by row group and only the schema's columns, a batch of rows at a time, column by column (memory stays
/// bounded by the batch, not the row group). Numbers and times go to the rows as values, strings as text decoded once
/// from the page's UTF-8 into the row; the reader then checks them as it checks every format, so a Parquet log and the
/// TSV it came from give the same rows. A row's location is its row group and row.
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
    // in the core's cache while its rows are filled; 4096 took 60% more CPU on the neutral 1M log
    // (benchmarks/CtrFallback.Benchmarks "source": 1.06-1.24 s against 1.64-2.20 s), 512 4-6% more than 1024 (warm
    // 0.659 s against 0.618 s, cold 1.013 s against 0.976 s, eight interleaved pairs).
    private const int BatchRows = 1024;

    // Decoded batches are shared by the files one reader thread reads (its producer thread opens each file's source and
    // fills every row): a pool per file allocated a new set for each partition. Rows are filled on that thread only.
    [ThreadStatic]
    private static Stack<TypedRecordBatch>? s_pool;

    // The reader's native buffers (column chunks, decompressed pages) from jemalloc unless ARROW_DEFAULT_MEMORY_POOL
    // names a pool: Arrow's default here, mimalloc, handed freed pages back and zeroed fresh ones for every row group
    // (277 samples of page zeroing in two reads of the neutral 1M log, 6 with jemalloc; benchmarks/data/README.md).
    private static readonly Lazy<ReaderProperties> Properties = new(() =>
    {
        if (Environment.GetEnvironmentVariable("ARROW_DEFAULT_MEMORY_POOL") is not { Length: > 0 })
        {
            try
            {
                return ReaderProperties.WithMemoryPool(MemoryPool.JemallocMemoryPool());
            }
            catch (ParquetException)
            {
                // A build of the native library without jemalloc: its default pool.
            }
        }

        return ReaderProperties.GetDefaultReaderProperties();
    });

    private readonly string _path;
    private readonly ParquetFileReader _file;
    private readonly ColumnBuffer[] _columns;
    private readonly ColumnReader[] _readers;
    private readonly TypedColumnKind[] _kinds;
    private readonly Stack<TypedRecordBatch> _pool = s_pool ??= new();
    private readonly int _rowGroups;
    private RowGroupReader? _group;
    private int _groupIndex = -1;
    private long _groupRows;
    private long _groupRow;
    private long _fileRow;

    // Where the last ReadRecords call's records are, for Locate: its row group, the group's row of its first record
    // and that record's line.
    private (int Group, long Row, long Line) _lastCall;

    public ParquetRecordSource(string path, ClickLogSchema schema)
    {
        _path = path;
        try
        {
            _file = new ParquetFileReader(path, Properties.Value);
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
                var role = name == schema.Label || schema.Numeric.Contains(name) ? TypedColumnKind.Number
                    : name == schema.Timestamp?.Field ? TypedColumnKind.Time
                    : TypedColumnKind.Text;
                return ColumnBuffer.For(fileSchema.Column(index), index, role, path);
            }).ToArray();
            _readers = new ColumnReader[_columns.Length];
            _kinds = _columns.Select(c => c.Kind).ToArray();
            _rowGroups = _file.FileMetaData.NumRowGroups;
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public override int ReadRecords(Span<ClickLogRow> rows, Span<long> lines, Span<string?> errors)
    {
        try
        {
            while (_group is null || _groupRow == _groupRows)
            {
                if (!NextRowGroup())
                {
                    return 0;
                }
            }

            // Decoded column by column into a batch the rows then point at: copying every field into its row cost
            // more than the decoding (the rows' memory was last the featurizing thread's).
            rows = rows[..(int)Math.Min(Math.Min(rows.Length, BatchRows), _groupRows - _groupRow)];
            var batch = TypedRecordBatch.Rent(_pool, _kinds, BatchRows);
            for (var c = 0; c < _columns.Length; c++)
            {
                batch.Columns[c].BeginFill();
                _columns[c].Read(_readers[c], rows.Length, batch.Columns[c]);
            }

            for (var k = 0; k < rows.Length; k++)
            {
                rows[k].SetTyped(batch, k);
            }
        }
        catch (Exception ex) when (ex is ParquetException or InvalidDataException)
        {
            // A damaged page or chunk: the file and the rows it was reading.
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{_path}: row group {_groupIndex}, rows from {_groupRow}: {ex.Message.Trim()}"), ex);
        }

        _lastCall = (_groupIndex, _groupRow, _fileRow + 1);
        for (var k = 0; k < rows.Length; k++)
        {
            lines[k] = ++_fileRow;
            errors[k] = null;
        }

        _groupRow += rows.Length;
        return rows.Length;
    }

    /// <summary>Each string column of a categorical field hashes its batch's distinct values as it decodes them.</summary>
    public override void HashCategoricalsAhead(CtrFallback.Features.FeatureHasher hasher, IReadOnlyList<int> categoricalColumns)
    {
        for (var field = 0; field < categoricalColumns.Count; field++)
        {
            if (_columns[categoricalColumns[field]] is StringColumn column)
            {
                column.HashAhead = (hasher, field);
            }
        }
    }

    /// <summary>Row group and row of a record of the last call (0-based, as Parquet tools count), before the reason.</summary>
    public override string Locate(long line, string error) =>
        string.Create(CultureInfo.InvariantCulture, $"row group {_lastCall.Group}, row {_lastCall.Row + (line - _lastCall.Line)}: {error}");

    public override void Dispose()
    {
        CloseRowGroup();
        _file.Dispose();
    }

    /// <summary>Opens the next row group's column readers, the schema's columns only; <see langword="false"/> after the last.</summary>
    private bool NextRowGroup()
    {
        CloseRowGroup();
        if (++_groupIndex >= _rowGroups)
        {
            return false;
        }

        (_group, _groupRow) = (_file.RowGroup(_groupIndex), 0);
        _groupRows = _group.MetaData.NumRows;
        for (var c = 0; c < _columns.Length; c++)
        {
            _readers[c] = _group.Column(_columns[c].Index);
        }

        return true;
    }

    private void CloseRowGroup()
    {
        foreach (var reader in _readers)
        {
            reader?.Dispose();
        }

        Array.Clear(_readers);
        _group?.Dispose();
        _group = null;
    }

    /// <summary>One column of the file: decodes a batch of its values into what the row takes (a number, a time in UTC ticks, or text).</summary>
    private abstract class ColumnBuffer(int index, short maxDefinitionLevel, TypedColumnKind kind)
    {
        /// <summary>The column's index in the file.</summary>
        public int Index { get; } = index;

        /// <summary>What the row takes from the column.</summary>
        public TypedColumnKind Kind { get; } = kind;

        /// <summary>Definition levels of the batch: below the maximum is a null.</summary>
        protected short[] Definitions { get; } = new short[BatchRows];

        protected short[] Repetitions { get; } = new short[BatchRows];

        public static ColumnBuffer For(ColumnDescriptor column, int index, TypedColumnKind role, string path)
        {
            var level = column.MaxDefinitionLevel;
            var logical = column.LogicalType;
            var name = column.Name;
            switch (column.PhysicalType)
            {
                case PhysicalType.ByteArray when logical is StringLogicalType:
                    if (role == TypedColumnKind.Number)
                    {
                        throw new ClickLogSchemaException($"{path}: column '{name}' is named as numeric (or label) but holds strings; the schema and the file disagree.");
                    }

                    return new StringColumn(index, level);
                case PhysicalType.Int64 when logical is TimestampLogicalType timestamp:
                    return role == TypedColumnKind.Time
                        ? new ValueColumn<long>(index, level, TypedColumnKind.Time, timestamp.TimeUnit switch
                        {
                            TimeUnit.Millis => TimeSpan.TicksPerMillisecond,
                            TimeUnit.Micros => TimeSpan.TicksPerMicrosecond,
                            _ => -100, // nanoseconds: divided by 100 to ticks
                        })
                        : throw NotTheTimestamp(path, name, "TIMESTAMP");
                case PhysicalType.Int32 when logical is DateLogicalType:
                    return role == TypedColumnKind.Time
                        ? new ValueColumn<int>(index, level, TypedColumnKind.Time, TimeSpan.TicksPerDay)
                        : throw NotTheTimestamp(path, name, "DATE");
                // A plain number named as the timestamp (epoch seconds, say) is its text, parsed with the schema's
                // format as a TSV's would be: it has no unit of its own to be read as a time by.
                case PhysicalType.Int64 when logical is NoneLogicalType or IntLogicalType { BitWidth: 64 }:
                    return new ValueColumn<long>(index, level, TextIfTime(role), unsigned: logical is IntLogicalType { IsSigned: false });
                case PhysicalType.Int32 when logical is NoneLogicalType or IntLogicalType:
                    return new ValueColumn<int>(index, level, TextIfTime(role), unsigned: logical is IntLogicalType { IsSigned: false });
                case PhysicalType.Double:
                    return new ValueColumn<double>(index, level, TextIfTime(role));
                case PhysicalType.Float:
                    return new ValueColumn<float>(index, level, TextIfTime(role));
                case PhysicalType.Boolean:
                    return new ValueColumn<bool>(index, level, TextIfTime(role));
                default:
                    throw new ClickLogSchemaException(
                        $"{path}: column '{name}' has Parquet type {column.PhysicalType} ({logical.GetType().Name.Replace("LogicalType", string.Empty, StringComparison.Ordinal)}), which the reader does not take: use strings, integers, floats, doubles or booleans (and TIMESTAMP or DATE for the timestamp).");
            }
        }

        /// <summary>Decodes the next <paramref name="count"/> rows of the column chunk into <paramref name="target"/>.</summary>
        public abstract void Read(ColumnReader reader, int count, TypedRecordBatch.Column target);

        /// <summary>
        /// The column's maximum definition level: a row's level in <see cref="Definitions"/> below it is a null (never,
        /// when it is 0: the levels of a required column stay 0).
        /// </summary>
        protected short MaxDefinitionLevel { get; } = maxDefinitionLevel;

        private static TypedColumnKind TextIfTime(TypedColumnKind role) => role == TypedColumnKind.Time ? TypedColumnKind.Text : role;

        private static ClickLogSchemaException NotTheTimestamp(string path, string name, string type) =>
            new($"{path}: column '{name}' holds {type} values, which the reader takes only for the schema's timestamp field.");
    }

    /// <summary>
    /// A column of fixed-size values, spread to one slot per row (nulls from the definition levels): numbers go to the
    /// row as values (no text round trip), times as UTC ticks, and a number hashed as a category as its text.
    /// </summary>
    private sealed class ValueColumn<T>(int index, short maxDefinitionLevel, TypedColumnKind kind, long ticksPerUnit = 0, bool unsigned = false)
        : ColumnBuffer(index, maxDefinitionLevel, kind)
        where T : unmanaged
    {
        private readonly T[] _values = new T[BatchRows];

        // Optimized at once, not first run unoptimized and instrumented: a training run reads its log once, and its cold
        // read is what it waits for (the source alone, benchmarks/data/README.md: cold 0.86 s against 1.00 s, warm 4% slower).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Read(ColumnReader reader, int count, TypedRecordBatch.Column target)
        {
            var typed = (ColumnReader<T>)reader;
            var (definitions, defined) = (Definitions, MaxDefinitionLevel);
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
                        if (definitions[k] >= defined)
                        {
                            _values[k] = _values[v--];
                        }
                    }
                }

                row += levels;
            }

            if (Kind == TypedColumnKind.Number)
            {
                // Numbers, most of a click log's columns: one loop over the batch (their text spans stay empty).
                var (present, numbers) = (target.Present, target.Numbers);
                for (var k = 0; k < count; k++)
                {
                    var isPresent = definitions[k] >= defined;
                    present[k] = isPresent;
                    numbers[k] = isPresent ? ToDouble(_values[k]) : double.NaN;
                }

                return;
            }

            // Times or text, for the whole batch at once (the kind is the column's, not the row's).
            var used = 0;
            for (var k = 0; k < count; k++)
            {
                target.Present[k] = definitions[k] >= defined;
                if (!target.Present[k])
                {
                    target.Spans[k] = default;
                    if (Kind == TypedColumnKind.Text)
                    {
                        target.ValueIds[k] = -1;
                    }

                    continue;
                }

                var value = _values[k];
                switch (Kind)
                {
                    case TypedColumnKind.Time:
                        var units = ToLong(value);
                        target.Ticks[k] = DateTime.UnixEpoch.Ticks + (ticksPerUnit < 0 ? units / -ticksPerUnit : units * ticksPerUnit);
                        break;
                    default:
                        // The text a delimited log would hold: "R" for floating point, the shortest that parses back the same.
                        var buffer = target.TextBuffer(used, 32);
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

                        // Each row's text a value of its own: numbers are not worth matching to earlier rows'.
                        target.Spans[k] = (used, written);
                        target.ValueIds[k] = k;
                        used += written;
                        break;
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
                return unsigned && v < 0 ? throw OutOfRange((ulong)v) : v;
            }

            return 0;
        }

        // Inlined, as ToLong: its IL, every type's branch, is over the inliner's size limit, and the number loop called it
        // per value.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private double ToDouble(T value)
        {
            if (typeof(T) == typeof(double))
            {
                return Unsafe.As<T, double>(ref value);
            }

            if (typeof(T) == typeof(float))
            {
                return FloatAsText(Unsafe.As<T, float>(ref value));
            }

            if (typeof(T) == typeof(bool))
            {
                return Unsafe.As<T, bool>(ref value) ? 1 : 0;
            }

            return unsigned && typeof(T) == typeof(long) ? (ulong)Unsafe.As<T, long>(ref value) : ToLong(value);
        }

        private static InvalidDataException OutOfRange(ulong value) =>
            new(string.Create(CultureInfo.InvariantCulture, $"An unsigned 64-bit value {value} does not fit the reader's range."));

        /// <summary>
        /// A float through its shortest text, as a TSV would hold it: 0.1f reads as 0.1, not 0.100000001490116 (a method
        /// of its own: a <c>stackalloc</c> keeps a method from being inlined).
        /// </summary>
        private static double FloatAsText(float value)
        {
            Span<char> text = stackalloc char[32];
            value.TryFormat(text, out var written, "R", CultureInfo.InvariantCulture);
            return double.Parse(text[..written], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Strings decoded straight from Parquet's UTF-8 into one character buffer per batch: a string object per value
    /// (26 million for a 1M-row Criteo log) is what made the logical reader slower than reading the TSV. A value that
    /// an earlier row of the same read holds is stored once: both rows get its text and its number in
    /// <see cref="TypedRecordBatch.Column.ValueIds"/>, so it is decoded, and later hashed, once.
    /// </summary>
    /// <remarks>
    /// Repeats are found by where the reader's values point: a dictionary-encoded page's values point into the column
    /// chunk's dictionary, so rows holding the same dictionary entry hold the same pointer. Pointers are compared
    /// within one <c>ReadBatch</c> call only, while all of them are valid (a later call may reuse the memory of a page
    /// that is gone), and with their lengths, so two rows are matched only when they point at the very same bytes.
    /// A plainly encoded page's values all point apart: after a read with no repeat the column stops looking for them
    /// until its next row group, or for <see cref="PlainReadsBeforeLooking"/> reads.
    /// </remarks>
    private sealed unsafe class StringColumn(int index, short maxDefinitionLevel) : ColumnBuffer(index, maxDefinitionLevel, TypedColumnKind.Text)
    {
        // Open addressing over twice the batch's rows; a slot is in use when its stamp is the current call's.
        private const int SlotCount = 2 * BatchRows;
        private const int PlainReadsBeforeLooking = 16;
        private const int PrefetchDistance = 8;
        private readonly ByteArray[] _values = new ByteArray[BatchRows];

        // One table for every string column a reading thread reads (they are read one after another): a table per
        // column was 26 times the memory, and looking values up in it waited on the cache.
        [ThreadStatic]
        private static Repeats? s_repeats;
        private ColumnReader? _reader;
        private int _plainReads;

        /// <summary>The featurizer and field whose hash each distinct value of a batch gets as it is decoded, if any.</summary>
        public (CtrFallback.Features.FeatureHasher Hasher, int Field)? HashAhead { get; set; }

        // Optimized at once, as the value columns' Read.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Read(ColumnReader reader, int count, TypedRecordBatch.Column target)
        {
            var typed = (ColumnReader<ByteArray>)reader;
            if (!ReferenceEquals(reader, _reader))
            {
                // A new row group: a new column chunk, with a dictionary or not.
                (_reader, _plainReads) = (reader, 0);
            }

            var row = 0;
            var used = 0;
            var distinct = 0;
            var (hasher, field) = HashAhead ?? default;
            if (hasher is not null)
            {
                // The batch's values are hashed here, for this field, in this fill (see TypedRecordBatch.HashColumn).
                target.RememberHashesOf(hasher, field);
            }

            var (memo, memoStamps, memoHashes) = (target.Memo, target.MemoStamps, target.MemoHashes);
            var (byteArrays, present, spans, ids, definitions, defined) = (_values, target.Present, target.Spans, target.ValueIds, Definitions, MaxDefinitionLevel);
            var chars = target.Chars;
            while (row < count)
            {
                // The values point into the reader's page buffers, valid until its next call: decode them now.
                var levels = (int)typed.ReadBatch(count - row, Definitions.AsSpan(row), Repetitions.AsSpan(row), _values, out var values);
                if (levels == 0)
                {
                    throw new InvalidDataException($"The Parquet column chunk ended {count - row} rows before its row group did.");
                }

                var repeats = s_repeats ??= new Repeats();
                var slots = repeats.Slots;
                if (++repeats.Stamp == ushort.MaxValue)
                {
                    // Stamps start again: no slot may keep an old call's.
                    Array.Clear(slots);
                    repeats.Stamp = 1;
                }

                var stamp = repeats.Stamp;
                var look = _plainReads == 0;
                var firstId = distinct;
                for (int k = row, value = 0; k < row + levels; k++)
                {
                    if (definitions[k] < defined)
                    {
                        (present[k], spans[k], ids[k]) = (false, default, -1);
                        continue;
                    }

                    present[k] = true;
                    var (pointer, length) = (byteArrays[value].Pointer, byteArrays[value].Length);
                    if (Sse.IsSupported && value + PrefetchDistance < values)
                    {
                        // A dictionary page's values point all over its dictionary: their bytes missed the cache more
                        // than any other load of the reader. Asked for a few values ahead, they are there when read.
                        Sse.Prefetch0((void*)byteArrays[value + PrefetchDistance].Pointer);
                    }

                    value++;
                    ref var slot = ref Unsafe.NullRef<Slot>();
                    if (look)
                    {
                        var at = (int)(((ulong)pointer * 0x9E3779B97F4A7C15UL) >> 32) & (SlotCount - 1);
                        while (slots[at].Stamp == stamp && (slots[at].Pointer != pointer || slots[at].Length != length))
                        {
                            at = (at + 1) & (SlotCount - 1);
                        }

                        slot = ref slots[at];
                        if (slot.Stamp == stamp)
                        {
                            // The same bytes as an earlier row of this call: the same text and value number.
                            (ids[k], spans[k]) = (ids[slot.Row], spans[slot.Row]);
                            continue;
                        }
                    }

                    int written;
                    if (length == 8 && BitConverter.IsLittleEndian && chars.Length - used >= 8
                        && Unsafe.ReadUnaligned<ulong>((void*)pointer) is var eight && (eight & 0x8080808080808080UL) == 0)
                    {
                        // Eight ASCII bytes, a click log's usual hex id: widened in one vector, no call.
                        Vector128.WidenLower(Vector128.CreateScalarUnsafe(eight).AsByte())
                            .StoreUnsafe(ref Unsafe.As<char, ushort>(ref chars[used]));
                        written = 8;
                    }
                    else
                    {
                        // Most other values are ASCII too: widened directly, UTF-8 decoding only for the rest.
                        var bytes = new ReadOnlySpan<byte>((void*)pointer, length);
                        if (System.Text.Ascii.ToUtf16(bytes, target.TextBuffer(used, bytes.Length), out written) != OperationStatus.Done)
                        {
                            written = System.Text.Encoding.UTF8.GetChars(bytes, target.TextBuffer(used, System.Text.Encoding.UTF8.GetMaxCharCount(bytes.Length)));
                        }

                        chars = target.Chars;
                    }

                    if (look)
                    {
                        slot = new Slot { Pointer = pointer, Length = length, Row = (ushort)k, Stamp = stamp };
                    }

                    if (hasher is not null)
                    {
                        // Hashed while its text is in the cache, once per distinct value of the batch.
                        (memoHashes[distinct], memoStamps[distinct]) = (hasher.HashCategorical(field, chars.AsSpan(used, written)), memo);
                    }

                    (ids[k], spans[k]) = (distinct++, (used, written));
                    used += written;
                }

                // Every value of the call distinct: most likely a plain page, whose values never repeat.
                _plainReads = look && distinct - firstId == values && values > 1 ? PlainReadsBeforeLooking
                    : Math.Max(0, _plainReads - 1);
                row += levels;
            }
        }

        /// <summary>The values of the current <c>ReadBatch</c> call, by where they point: in use where the stamp is the call's.</summary>
        private sealed class Repeats
        {
            public Slot[] Slots { get; } = new Slot[SlotCount];

            public ushort Stamp { get; set; }
        }

        /// <summary>
        /// A value's bytes (where they are, how many) and the batch row that first held them (a batch has
        /// <see cref="BatchRows"/> rows, fewer than a <see cref="ushort"/> counts): 16 bytes, so the table (32 KiB) stays
        /// in the core's first-level cache.
        /// </summary>
        private struct Slot
        {
            public nint Pointer;
            public int Length;
            public ushort Row;
            public ushort Stamp;
        }
    }
}
