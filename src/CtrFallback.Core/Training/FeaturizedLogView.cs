using Microsoft.ML;
using Microsoft.ML.Data;

namespace CtrFallback.Training;

/// <summary>
/// Some rows of a <see cref="FeaturizedLog"/> as an ML.NET <see cref="IDataView"/> with <c>Label</c> and <c>Features</c>
/// columns. It can shuffle: a cursor asked for with a <see cref="Random"/> visits the rows in a fresh random order, read
/// straight from the memory-mapped file, so trainers shuffle every pass without caching the rows.
/// </summary>
/// <remarks>
/// Row ids are the rows' places in this view (0 to n - 1) whatever the order, as SDCA needs to keep one dual variable
/// per row. When the file is larger than the log's memory budget, a shuffled pass visits windows of at most that many
/// bytes (random chunks of rows, rows shuffled within the window) and releases each window's pages after it, so memory
/// stays bounded while every pass still sees a new random order. Every cursor observes the cancellation token.
/// </remarks>
internal sealed class FeaturizedLogView : IDataView
{
    /// <summary>Rows visited together in a shuffled pass.</summary>
    internal const int BlockRows = 64;
    private readonly FeaturizedLog _log;
    private readonly int[] _rows;
    private readonly long _windowRows;
    private readonly CancellationToken _cancellationToken;

    public FeaturizedLogView(FeaturizedLog log, int[] rows, CancellationToken cancellationToken)
    {
        _log = log;
        _rows = rows;
        _cancellationToken = cancellationToken;
        _windowRows = log.IsBounded ? Math.Max(BlockRows, log.MemoryBudgetBytes / log.RowSize) : long.MaxValue;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Label", BooleanDataViewType.Instance);
        builder.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, log.Hasher.Dimension));
        Schema = builder.ToSchema();
    }

    /// <summary>Whether passes are windowed because the file is larger than the memory budget.</summary>
    public bool IsWindowed => _windowRows != long.MaxValue;

    public bool CanShuffle => true;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, Order(rand));

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <summary>
    /// The view's row places in visiting order. Shuffled, it visits blocks of <see cref="BlockRows"/> neighbouring rows in
    /// a random order and each block's rows in a random order: as random as a full shuffle for a trainer (a block is a
    /// sliver of the log), at close to the speed of a sequential scan, since a block's rows share memory pages.
    /// Windowed, blocks are shuffled within windows of the memory budget, windows in a random order, and each window's
    /// pages are dropped once past it.
    /// </summary>
    private IEnumerable<int> Order(Random? rand)
    {
        var blocks = (_rows.Length + BlockRows - 1) / BlockRows;
        var blocksPerWindow = (int)Math.Min(blocks, Math.Max(1, _windowRows / BlockRows));
        var windows = blocks == 0 ? 0 : (blocks + blocksPerWindow - 1) / blocksPerWindow;
        var windowOrder = Sequence(windows);
        var blockOrder = new int[blocksPerWindow];
        var rowOrder = new int[BlockRows];
        if (rand is not null)
        {
            Shuffle(rand, windowOrder);
        }

        foreach (var window in windowOrder)
        {
            var firstBlock = window * blocksPerWindow;
            var blockCount = Math.Min(blocksPerWindow, blocks - firstBlock);
            for (var i = 0; i < blockCount; i++)
            {
                blockOrder[i] = firstBlock + i;
            }

            if (rand is not null)
            {
                Shuffle(rand, blockOrder.AsSpan(0, blockCount));
            }

            for (var i = 0; i < blockCount; i++)
            {
                var first = blockOrder[i] * BlockRows;
                var count = Math.Min(BlockRows, _rows.Length - first);
                for (var k = 0; k < count; k++)
                {
                    rowOrder[k] = first + k;
                }

                if (rand is not null)
                {
                    Shuffle(rand, rowOrder.AsSpan(0, count));
                }

                for (var k = 0; k < count; k++)
                {
                    yield return rowOrder[k];
                }
            }

            if (IsWindowed)
            {
                var firstPlace = firstBlock * BlockRows;
                var lastPlace = Math.Min(_rows.Length, (firstBlock + blockCount) * BlockRows) - 1;
                _log.Release(_rows[firstPlace], _rows[lastPlace] - _rows[firstPlace] + 1);
            }
        }
    }

    private static int[] Sequence(int count)
    {
        var values = new int[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = i;
        }

        return values;
    }

    private static void Shuffle(Random rand, Span<int> values)
    {
        // Fisher-Yates with the trainer's own Random, so the order follows the MLContext seed.
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = rand.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>
    /// A cursor whose rows are decoded ahead on another thread into a ring of slots, so the trainer's single thread
    /// spends its time on the model, not on reading the file. Only decoding moves: the order is drawn by the one
    /// decoding thread from the trainer's <see cref="Random"/>, so the rows reach the trainer in the same order on
    /// every run.
    /// </summary>
    private sealed class Cursor : DataViewRowCursor
    {
        private const int Slots = 1 << 13;
        private const int Publish = 64;
        private readonly FeaturizedLogView _view;
        private readonly int _width;
        private readonly int[] _places = new int[Slots];
        private readonly bool[] _labels = new bool[Slots];
        private readonly int[] _counts = new int[Slots];
        private readonly int[] _indices;
        private readonly float[] _values;
        private readonly Task _decoder;
        private long _decoded;
        private long _released;
        private volatile bool _finished;
        private volatile bool _stop;
        private long _available;
        private long _position = -1;
        private int _slot = -1;

        public Cursor(FeaturizedLogView view, IEnumerable<int> order)
        {
            _view = view;
            _width = view._log.Hasher.HashedCount + view._log.Hasher.NumericCount;
            _indices = new int[Slots * _width];
            _values = new float[Slots * _width];
            _decoder = Task.Factory.StartNew(() => Decode(order), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public override long Position => _position;

        public override long Batch => 0;

        public override DataViewSchema Schema => _view.Schema;

        public override bool MoveNext()
        {
            if ((_position & 0xFFF) == 0xFFF)
            {
                // ML.NET's trainers take no token: the cursor is where a cancelled fit stops, within 4,096 rows.
                _view._cancellationToken.ThrowIfCancellationRequested();
            }

            var next = _position + 1;
            if ((next & (Publish - 1)) == 0)
            {
                Volatile.Write(ref _released, next);
            }

            if (next >= _available && !WaitFor(next))
            {
                _slot = -1;
                return false;
            }

            _position = next;
            _slot = (int)(next & (Slots - 1));
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId value) => value = new DataViewRowId((ulong)_places[_slot], 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index == 0 && typeof(TValue) == typeof(bool))
            {
                ValueGetter<bool> label = (ref bool value) => value = _labels[_slot];
                return (ValueGetter<TValue>)(Delegate)label;
            }

            if (column.Index == 1 && typeof(TValue) == typeof(VBuffer<float>))
            {
                ValueGetter<VBuffer<float>> features = Features;
                return (ValueGetter<TValue>)(Delegate)features;
            }

            throw new InvalidOperationException($"Column '{column.Name}' has no getter of type {typeof(TValue).Name}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _stop = true;
                _decoder.Wait();
            }

            base.Dispose(disposing);
        }

        private bool WaitFor(long row)
        {
            var spin = default(SpinWait);
            while (true)
            {
                // Read "finished" before the count: a decoder that finished has published its last count.
                var finished = _finished;
                _available = Volatile.Read(ref _decoded);
                if (row < _available)
                {
                    return true;
                }

                if (finished)
                {
                    _decoder.GetAwaiter().GetResult();
                    return false;
                }

                _view._cancellationToken.ThrowIfCancellationRequested();
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        private void Decode(IEnumerable<int> order)
        {
            try
            {
                var log = _view._log;
                var rows = _view._rows;
                long decoded = 0;
                var spin = default(SpinWait);
                foreach (var place in order)
                {
                    while (decoded - Volatile.Read(ref _released) >= Slots - Publish)
                    {
                        if (_stop)
                        {
                            return;
                        }

                        spin.SpinOnce(sleep1Threshold: -1);
                    }

                    var slot = (int)(decoded & (Slots - 1));
                    var row = rows[place];
                    _places[slot] = place;
                    _labels[slot] = log.Label(row);
                    _counts[slot] = log.ReadSparse(row, _indices.AsSpan(slot * _width, _width), _values.AsSpan(slot * _width, _width));
                    decoded++;
                    if ((decoded & (Publish - 1)) == 0)
                    {
                        Volatile.Write(ref _decoded, decoded);
                        if (_stop)
                        {
                            return;
                        }
                    }
                }

                Volatile.Write(ref _decoded, decoded);
            }
            finally
            {
                _finished = true;
            }
        }

        private void Features(ref VBuffer<float> value)
        {
            var count = _counts[_slot];
            var editor = VBufferEditor.Create(ref value, _view._log.Hasher.Dimension, count, keepOldOnResize: false, requireIndicesOnDense: true);
            _indices.AsSpan(_slot * _width, count).CopyTo(editor.Indices);
            _values.AsSpan(_slot * _width, count).CopyTo(editor.Values);
            value = editor.Commit();
        }
    }
}
