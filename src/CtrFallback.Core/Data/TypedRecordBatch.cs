using CtrFallback.Features;

namespace CtrFallback.Data;

/// <summary>What a typed source's column holds for the reader: numbers, times, or text to hash.</summary>
internal enum TypedColumnKind
{
    Number,
    Time,
    Text,
}

/// <summary>
/// A batch of records that a typed source (Parquet) decoded column by column: the rows it fills
/// (<see cref="ClickLogRow.SetTyped"/>) read their fields from here rather than holding copies of them. Copying every
/// field into its row, one row at a time, cost more than decoding the columns did.
/// </summary>
/// <remarks>
/// Every row set from the batch holds it until the row is filled again; when the last one lets go, the batch goes back
/// to its source's pool to be filled again. Rows are filled only on the reader's producer thread, so the count needs no
/// lock: the featurizing thread has handed a row back (through the reader's batches) before it is filled again.
/// </remarks>
internal sealed class TypedRecordBatch
{
    private readonly Stack<TypedRecordBatch> _pool;
    private int _holders;

    /// <summary>A batch of up to <paramref name="capacity"/> rows of the given columns, returned to <paramref name="pool"/> when free.</summary>
    public TypedRecordBatch(IReadOnlyList<TypedColumnKind> kinds, int capacity, Stack<TypedRecordBatch> pool)
    {
        Columns = kinds.Select(kind => new Column(kind, capacity)).ToArray();
        _pool = pool;
    }

    /// <summary>The columns, in the source's column order.</summary>
    public Column[] Columns { get; }

    /// <summary>Takes a batch of these columns from <paramref name="pool"/> (dropping any of other columns), or makes one.</summary>
    public static TypedRecordBatch Rent(Stack<TypedRecordBatch> pool, IReadOnlyList<TypedColumnKind> kinds, int capacity)
    {
        while (pool.TryPop(out var batch))
        {
            if (batch.Columns.Length == kinds.Count && batch.Columns[0].Present.Length == capacity
                && batch.Columns.Select(c => c.Kind).SequenceEqual(kinds))
            {
                return batch;
            }
        }

        return new TypedRecordBatch(kinds, capacity, pool);
    }

    internal void Hold() => _holders++;

    internal void Release()
    {
        if (--_holders == 0)
        {
            _pool.Push(this);
        }
    }

    /// <summary>The text of a column at a row; empty when missing or when the column holds numbers or times.</summary>
    /// <remarks>Every field a row reads as text; no branch, one bounds pair per row.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<char> Text(int column, int row)
    {
        var c = Columns[column];
        var (start, length) = c.Spans[row];
        return c.Chars.AsSpan(start, length);
    }

    /// <summary>
    /// The categorical hashes of a text column's values at <paramref name="count"/> records from
    /// <paramref name="first"/>, from <paramref name="hasher"/> for schema field <paramref name="field"/>, written
    /// <paramref name="stride"/> apart: each distinct value of the batch (<see cref="Column.ValueIds"/>) is hashed once,
    /// which with a click log's heavy head of common values is a fraction of its rows.
    /// </summary>
    /// <remarks>Hot path (every categorical of every row, on the featurizing thread).</remarks>
    public void HashColumn(int column, int first, int count, FeatureHasher hasher, int field, Span<uint> hashes, int stride)
    {
        var c = Columns[column];
        c.RememberHashesOf(hasher, field);
        var (memo, stamps, memoHashes) = (c.Memo, c.MemoStamps, c.MemoHashes);
        var missing = hasher.MissingHash(field);
        var ids = c.ValueIds.AsSpan(first, count);
        for (var k = 0; k < ids.Length; k++)
        {
            var id = ids[k];
            uint hash;
            if (id < 0)
            {
                hash = missing;
            }
            else if (stamps[id] == memo)
            {
                hash = memoHashes[id];
            }
            else
            {
                hash = hasher.HashCategorical(field, Text(column, first + k));
                (memoHashes[id], stamps[id]) = (hash, memo);
            }

            hashes[k * stride] = hash;
        }
    }

    /// <summary>One column's values for the batch's rows; a row is missing (a null) unless <see cref="Present"/>.</summary>
    internal sealed class Column
    {
        public Column(TypedColumnKind kind, int capacity)
        {
            // A batch lives as long as its reader, refilled again and again: its arrays go to the pinned heap, which
            // the collector never compacts (it copied every batch into the older generations' fresh pages).
            Kind = kind;
            Present = GC.AllocateArray<bool>(capacity, pinned: true);
            Spans = GC.AllocateArray<(int, int)>(capacity, pinned: true);
            switch (kind)
            {
                case TypedColumnKind.Number:
                    Numbers = GC.AllocateArray<double>(capacity, pinned: true);
                    break;
                case TypedColumnKind.Time:
                    Ticks = GC.AllocateArray<long>(capacity, pinned: true);
                    break;
                default:
                    ValueIds = GC.AllocateArray<int>(capacity, pinned: true);
                    MemoHashes = GC.AllocateArray<uint>(capacity, pinned: true);
                    MemoStamps = GC.AllocateArray<int>(capacity, pinned: true);
                    Chars = GC.AllocateArray<char>(capacity * 8, pinned: true);
                    break;
            }
        }

        public TypedColumnKind Kind { get; }

        public bool[] Present { get; }

        /// <summary>Numbers, for a <see cref="TypedColumnKind.Number"/> column.</summary>
        public double[] Numbers { get; } = [];

        /// <summary>UTC ticks, for a <see cref="TypedColumnKind.Time"/> column.</summary>
        public long[] Ticks { get; } = [];

        /// <summary>
        /// Each row's text in <see cref="Chars"/>, for a <see cref="TypedColumnKind.Text"/> column; empty for a missing
        /// value, and for every row of a column of numbers or times (never set).
        /// </summary>
        public (int Start, int Length)[] Spans { get; }

        /// <summary>
        /// For a text column, which of the batch's distinct values each row holds (numbered from 0, a value's text stored
        /// once), -1 for a missing value. Every fill of the column must call <see cref="BeginFill"/> first.
        /// </summary>
        public int[] ValueIds { get; } = [];

        // The hashes of the distinct values computed so far in this fill, valid where their stamp is Memo.
        internal uint[] MemoHashes { get; } = [];

        internal int[] MemoStamps { get; } = [];

        internal int Memo { get; set; }

        internal FeatureHasher? MemoHasher { get; private set; }

        internal int MemoField { get; private set; } = -1;

        /// <summary>
        /// Makes the remembered hashes <paramref name="hasher"/>'s for schema field <paramref name="field"/>: when they were
        /// another featurizer's or field's, they are forgotten (whoever hashes the values, the reading thread as it decodes
        /// them or <see cref="HashColumn"/>, remembers them for one featurizer and field at a time).
        /// </summary>
        internal void RememberHashesOf(FeatureHasher hasher, int field)
        {
            if (!ReferenceEquals(MemoHasher, hasher) || MemoField != field)
            {
                (MemoHasher, MemoField) = (hasher, field);
                BeginFill();
            }
        }

        /// <summary>Starts filling the column anew: hashes remembered for the previous fill's values no longer hold.</summary>
        public void BeginFill()
        {
            if (++Memo == int.MaxValue)
            {
                // Stamps start again: no value may keep an old fill's hash.
                Array.Clear(MemoStamps);
                Memo = 1;
            }
        }

        /// <summary>The rows' text, one after another (grown by <see cref="TextBuffer"/>).</summary>
        public char[] Chars { get; private set; } = [];

        /// <summary>Room for <paramref name="length"/> characters after the first <paramref name="used"/>.</summary>
        public Span<char> TextBuffer(int used, int length)
        {
            if (Chars.Length - used < length)
            {
                var grown = GC.AllocateArray<char>(Math.Max(Chars.Length * 2, used + length), pinned: true);
                Chars.AsSpan(0, used).CopyTo(grown);
                Chars = grown;
            }

            return Chars.AsSpan(used);
        }
    }
}
