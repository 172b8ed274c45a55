using CtrFallback.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace CtrFallback.LightGbm;

/// <summary>
/// Rows of a <see cref="RawFieldTable"/> as the <see cref="IDataView"/> ML.NET's LightGBM trainer reads: a sparse
/// <c>Features</c> vector whose categorical fields are one-hot ranges marked with <c>CategoricalSlotRanges</c>, which
/// ML.NET hands to LightGBM as one categorical feature each; numerics keep their value, NaN included (missing).
/// </summary>
/// <remarks>
/// Slot layout, in table order: one slot per numeric feature, then per categorical feature one slot per code (the row's
/// code is its one hot slot, value 1).
/// </remarks>
internal sealed class RawFieldDataView : IDataView
{
    // ML.NET's annotation kind (AnnotationUtils.Kinds.CategoricalSlotRanges is not public).
    private const string CategoricalSlotRanges = "CategoricalSlotRanges";
    private readonly RawFieldTable _table;
    private readonly ReadOnlyMemory<int> _rows;
    private readonly CancellationToken _cancellationToken;

    public RawFieldDataView(RawFieldTable table, ReadOnlyMemory<int> rows, CancellationToken cancellationToken)
    {
        (_table, _rows, _cancellationToken) = (table, rows, cancellationToken);
        Layout = new SlotLayout(table.Features);
        Schema = CreateSchema(Layout);
    }

    public SlotLayout Layout { get; }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public static DataViewSchema CreateSchema(SlotLayout layout)
    {
        var ranges = new List<int>();
        for (var f = 0; f < layout.Features.Count; f++)
        {
            if (layout.Features[f].IsCategorical)
            {
                ranges.Add(layout.Start[f]);
                ranges.Add(layout.Start[f] + layout.Features[f].Levels - 1);
            }
        }

        var annotations = new DataViewSchema.Annotations.Builder();
        if (ranges.Count > 0)
        {
            var value = new VBuffer<int>(ranges.Count, [.. ranges]);
            annotations.Add(CategoricalSlotRanges, new VectorDataViewType(NumberDataViewType.Int32, ranges.Count), (ref VBuffer<int> v) => value.CopyTo(ref v));
        }

        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Label", BooleanDataViewType.Instance);
        builder.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, layout.Slots), annotations.ToAnnotations());
        return builder.ToSchema();
    }

    public long? GetRowCount() => _rows.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    /// <summary>Writes one table row as the sparse one-hot vector (indices ascending).</summary>
    public static int ToSparse(SlotLayout layout, ReadOnlySpan<float> row, Span<int> indices, Span<float> values)
    {
        var count = 0;
        for (var f = 0; f < row.Length; f++)
        {
            if (layout.Features[f].IsCategorical)
            {
                indices[count] = layout.Start[f] + (int)row[f];
                values[count++] = 1;
            }
            else if (row[f] != 0)
            {
                indices[count] = layout.Start[f];
                values[count++] = row[f];
            }
        }

        return count;
    }

    /// <summary>Where each table feature's slots start in the one-hot vector.</summary>
    internal sealed class SlotLayout
    {
        public SlotLayout(IReadOnlyList<RawFieldFeature> features)
        {
            Features = features;
            Start = new int[features.Count];
            var slot = 0;
            for (var f = 0; f < features.Count; f++)
            {
                Start[f] = slot;
                slot += features[f].IsCategorical ? features[f].Levels : 1;
            }

            Slots = slot;
        }

        public IReadOnlyList<RawFieldFeature> Features { get; }

        public int[] Start { get; }

        public int Slots { get; }

        /// <summary>The table feature that holds a slot.</summary>
        public int FeatureOf(int slot)
        {
            var f = Array.BinarySearch(Start, slot);
            return f >= 0 ? f : ~f - 1;
        }
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly RawFieldDataView _view;
        private readonly int[] _indices;
        private readonly float[] _values;
        private long _position = -1;

        public Cursor(RawFieldDataView view)
        {
            _view = view;
            _indices = new int[view._table.Features.Count];
            _values = new float[view._table.Features.Count];
        }

        public override long Position => _position;

        public override long Batch => 0;

        public override DataViewSchema Schema => _view.Schema;

        private int Row => _view._rows.Span[(int)_position];

        public override bool MoveNext()
        {
            if ((_position & 0x3FFF) == 0)
            {
                _view._cancellationToken.ThrowIfCancellationRequested();
            }

            return ++_position < _view._rows.Length;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index == 0)
            {
                ValueGetter<bool> label = (ref bool value) => value = _view._table.Labels.Span[Row];
                return (ValueGetter<TValue>)(Delegate)label;
            }

            ValueGetter<VBuffer<float>> features = (ref VBuffer<float> value) =>
            {
                var count = ToSparse(_view.Layout, _view._table.Row(Row), _indices, _values);
                var editor = VBufferEditor.Create(ref value, _view.Layout.Slots, count);
                _indices.AsSpan(0, count).CopyTo(editor.Indices);
                _values.AsSpan(0, count).CopyTo(editor.Values);
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)features;
        }
    }
}
