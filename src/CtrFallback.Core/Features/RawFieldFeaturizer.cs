using System.Runtime.CompilerServices;
using CtrFallback.Training;

namespace CtrFallback.Features;

/// <summary>
/// The raw-field featurizer of tree models: numerics as numbers (NaN when missing), each categorical as a code of its
/// field's vocabulary, the timestamp as hour of day and day of week (NaN without one). No hashing into a weight space,
/// no crosses: trees find interactions themselves.
/// </summary>
/// <remarks>
/// Codes: 0 = a value outside the vocabulary (rare in training, or unseen), 1 = empty, 2 and up = the vocabulary's
/// values in its order. Values are matched by <see cref="FeatureHasher.HashCategorical"/>, the very hash training
/// counted them by, so serving maps a value exactly as training did. Thread-safe and allocation-free.
/// </remarks>
internal sealed class RawFieldFeaturizer
{
    public const int RareCode = 0;
    public const int EmptyCode = 1;
    public const int FirstValueCode = 2;
    private readonly FeatureHasher _hasher;
    private readonly uint[] _emptyHashes;
    private readonly uint[][] _keys;
    private readonly int[][] _codes;
    private readonly bool _timestamp;

    public RawFieldFeaturizer(FeatureHasher hasher, IReadOnlyList<IReadOnlyList<string>> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(hasher);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Count != hasher.CategoricalCount)
        {
            throw new InvalidDataException($"The vocabulary has {vocabulary.Count} fields; the schema has {hasher.CategoricalCount} categorical fields.");
        }

        _hasher = hasher;
        Vocabulary = vocabulary;
        _timestamp = hasher.Schema.Timestamp is not null;
        _emptyHashes = new uint[vocabulary.Count];
        _keys = new uint[vocabulary.Count][];
        _codes = new int[vocabulary.Count][];
        var features = new List<RawFieldFeature>();
        features.AddRange(hasher.Schema.NumericFields.Select(f => new RawFieldFeature(f, 0)));
        for (var field = 0; field < vocabulary.Count; field++)
        {
            _emptyHashes[field] = hasher.HashCategorical(field, []);

            // Open addressing at load factor <= 1/2; slot code 0 marks an empty slot (value codes start at 2).
            var size = (int)Math.Max(4, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(vocabulary[field].Count * 2)));
            var keys = new uint[size];
            var codes = new int[size];
            for (var v = 0; v < vocabulary[field].Count; v++)
            {
                var hash = hasher.HashCategorical(field, vocabulary[field][v]);
                var slot = (int)(hash & (uint)(size - 1));
                while (codes[slot] != 0 && keys[slot] != hash)
                {
                    slot = (slot + 1) & (size - 1);
                }

                if (codes[slot] == 0)
                {
                    (keys[slot], codes[slot]) = (hash, FirstValueCode + v);
                }
            }

            (_keys[field], _codes[field]) = (keys, codes);
            features.Add(new RawFieldFeature(hasher.Schema.CategoricalFields[field], FirstValueCode + vocabulary[field].Count));
        }

        if (_timestamp)
        {
            features.Add(new RawFieldFeature("@hour", 0));
            features.Add(new RawFieldFeature("@day", 0));
        }

        Features = features;
    }

    /// <summary>Per categorical field, its vocabulary in code order (code 2 first).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Vocabulary { get; }

    public IReadOnlyList<RawFieldFeature> Features { get; }

    public int Count => Features.Count;

    /// <summary>The code of a categorical value, from its <see cref="FeatureHasher.HashCategorical"/> hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Code(int field, uint hash)
    {
        if (hash == _emptyHashes[field])
        {
            return EmptyCode;
        }

        var keys = _keys[field];
        var codes = _codes[field];
        var mask = keys.Length - 1;
        var slot = (int)(hash & (uint)mask);
        while (true)
        {
            var code = codes[slot];
            if (code == 0)
            {
                return RareCode;
            }

            if (keys[slot] == hash)
            {
                return code;
            }

            slot = (slot + 1) & mask;
        }
    }

    /// <summary>Writes one row's <see cref="Count"/> features: numerics, categorical codes, then hour and day.</summary>
    public void Featurize(ReadOnlySpan<double> numeric, ReadOnlySpan<uint> categoricalHashes, DateTimeOffset? timestamp, Span<float> features)
    {
        // Hot path: no allocation.
        var k = 0;
        for (var i = 0; i < numeric.Length; i++)
        {
            features[k++] = (float)numeric[i];
        }

        for (var i = 0; i < categoricalHashes.Length; i++)
        {
            features[k++] = Code(i, categoricalHashes[i]);
        }

        if (_timestamp)
        {
            if (timestamp is { } t)
            {
                var utc = t.UtcDateTime;
                features[k++] = utc.Hour;
                features[k] = (float)utc.DayOfWeek;
            }
            else
            {
                features[k++] = float.NaN;
                features[k] = float.NaN;
            }
        }
    }

    /// <summary>The hasher whose hashes this featurizer reads.</summary>
    public FeatureHasher Hasher => _hasher;
}
