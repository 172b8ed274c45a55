using System.Runtime.InteropServices;
using CtrFallback.Data;
using CtrFallback.Features;

namespace CtrFallback.Training;

/// <summary>
/// Collects the raw fields of every row while the featurized log is written (the one read loop), then learns each
/// categorical field's vocabulary from the training rows only and fills in the codes: a row-major table for a
/// raw-field model family.
/// </summary>
/// <remarks>
/// Values are counted by their field-qualified hash. A value's text is kept once its count first reaches the minimum
/// (over all rows), so only vocabulary candidates allocate a string; holdout rows are then taken back out of the counts,
/// so the vocabulary never sees the holdout.
/// </remarks>
internal sealed class RawFieldCollector
{
    private readonly int _minCount;
    private readonly int _numeric;
    private readonly int _categorical;
    private readonly bool _timestamp;
    private readonly int _width;
    private readonly Dictionary<uint, int>[] _counts;
    private readonly Dictionary<uint, string>[] _texts;
    private float[] _values;
    private uint[] _hashes;
    private int _rows;

    public RawFieldCollector(FeatureSchema schema, int minCount)
    {
        _minCount = minCount;
        _numeric = schema.NumericFields.Count;
        _categorical = schema.CategoricalFields.Count;
        _timestamp = schema.Timestamp is not null;
        _width = _numeric + _categorical + (_timestamp ? 2 : 0);
        _counts = Enumerable.Range(0, _categorical).Select(_ => new Dictionary<uint, int>()).ToArray();
        _texts = Enumerable.Range(0, _categorical).Select(_ => new Dictionary<uint, string>()).ToArray();
        _values = new float[(1 << 16) * _width];
        _hashes = new uint[(1 << 16) * _categorical];
    }

    public int Rows => _rows;

    /// <summary>Records one row, in the order the featurized log writes them; <paramref name="hashes"/> are its categorical hashes.</summary>
    public void Add(ClickLogRow row, ReadOnlySpan<uint> hashes)
    {
        if ((long)(_rows + 1) * _width > _values.Length)
        {
            var rows = (long)_values.Length / _width * 2;
            if (rows * _width > Array.MaxLength)
            {
                throw new NotSupportedException($"A raw-field training batch holds at most {Array.MaxLength / _width:N0} rows of this schema; split the log.");
            }

            Array.Resize(ref _values, (int)(rows * _width));
            Array.Resize(ref _hashes, (int)(rows * _categorical));
        }

        var values = _values.AsSpan(_rows * _width, _width);
        var numeric = row.Numeric;
        for (var i = 0; i < _numeric; i++)
        {
            values[i] = (float)numeric[i];
        }

        if (_timestamp)
        {
            var t = row.Timestamp;
            values[_width - 2] = t is { } a ? a.UtcDateTime.Hour : float.NaN;
            values[_width - 1] = t is { } b ? (float)b.UtcDateTime.DayOfWeek : float.NaN;
        }

        hashes.CopyTo(_hashes.AsSpan(_rows * _categorical, _categorical));
        for (var i = 0; i < _categorical; i++)
        {
            ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(_counts[i], hashes[i], out _);
            if (++count == _minCount)
            {
                _texts[i][hashes[i]] = row.Categorical(i).ToString();
            }
        }

        _rows++;
    }

    /// <summary>Learns the vocabulary from the rows outside <paramref name="holdoutRows"/>, fills in the codes and returns the table's values.</summary>
    public (RawFieldFeaturizer Featurizer, float[] Values) Complete(FeatureHasher hasher, int[] holdoutRows)
    {
        foreach (var row in holdoutRows)
        {
            for (var i = 0; i < _categorical; i++)
            {
                _counts[i][_hashes[(row * _categorical) + i]]--;
            }
        }

        var vocabulary = new IReadOnlyList<string>[_categorical];
        for (var i = 0; i < _categorical; i++)
        {
            var empty = hasher.HashCategorical(i, []);

            // Most frequent first; ties by text, so the same training rows always give the same codes.
            vocabulary[i] = _texts[i]
                .Where(t => t.Key != empty && _counts[i][t.Key] >= _minCount)
                .OrderByDescending(t => _counts[i][t.Key])
                .ThenBy(t => t.Value, StringComparer.Ordinal)
                .Select(t => t.Value)
                .ToArray();
        }

        var featurizer = new RawFieldFeaturizer(hasher, vocabulary);
        for (var row = 0; row < _rows; row++)
        {
            var values = _values.AsSpan(row * _width, _width);
            for (var i = 0; i < _categorical; i++)
            {
                values[_numeric + i] = featurizer.Code(i, _hashes[(row * _categorical) + i]);
            }
        }

        var table = _values.Length == _rows * _width ? _values : _values.AsSpan(0, _rows * _width).ToArray();
        _values = [];
        _hashes = [];
        return (featurizer, table);
    }
}
