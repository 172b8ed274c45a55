using System.Runtime.CompilerServices;
using CtrFallback.Data;
using CtrFallback.Features;
using CtrFallback.Training;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace CtrFallback.Serving;

/// <summary>
/// A loaded model artifact that scores raw impressions: the featurizer plus, for linear models, the weights read
/// out of the ML.NET model and applied by hand (allocation-free); for raw-field models (trees), the vocabulary and the
/// family's own allocation-free scorer; other models go through a per-thread ML.NET engine.
/// </summary>
internal sealed class CtrModel : IDisposable
{
    private readonly float[]? _weights;
    private readonly float _bias;
    private readonly float _slope;
    private readonly float _offset;
    private readonly ThreadLocal<EngineSlot>? _engines;
    private readonly RawFieldFeaturizer? _rawFields;
    private readonly IRawFieldScorer? _rawScorer;

    private CtrModel(MLContext ml, ITransformer transformer, DataViewSchema inputSchema, ArtifactMetadata metadata)
    {
        Metadata = metadata;
        Transformer = transformer;
        InputSchema = inputSchema;
        Hasher = new FeatureHasher(metadata.Schema, metadata.NumericScales, metadata.HasherVersion);
        if (metadata.RawFieldTrainer is { } trainer)
        {
            _rawFields = new RawFieldFeaturizer(Hasher, metadata.Vocabulary!);
            _rawScorer = RawFieldModelFamilies.Require(trainer).CreateScorer(transformer, _rawFields.Features);
        }
        else if (TryGetLinear(transformer, out var weights, out var bias, out var slope, out var offset))
        {
            if (weights.Length != Hasher.Dimension)
            {
                throw new InvalidDataException($"The model has {weights.Length} weights; its featurizer makes {Hasher.Dimension} features.");
            }

            (_weights, _bias, _slope, _offset) = (weights, bias, slope, offset);
        }
        else
        {
            _engines = new ThreadLocal<EngineSlot>(() => new EngineSlot(ml, transformer, inputSchema, Hasher), trackAllValues: true);
        }
    }

    public ArtifactMetadata Metadata { get; }

    public FeatureHasher Hasher { get; }

    public FeatureSchema Schema => Metadata.Schema;

    public ITransformer Transformer { get; }

    public DataViewSchema InputSchema { get; }

    /// <summary>Whether scoring takes the hand-written linear path (no ML.NET call per prediction).</summary>
    public bool IsLinear => _weights is not null;

    /// <summary>The raw-field featurizer of a tree model (its vocabulary), or <see langword="null"/> for a hashed model.</summary>
    public RawFieldFeaturizer? RawFields => _rawFields;

    public static CtrModel Load(byte[] artifact, MLContext? ml = null)
    {
        ml ??= new MLContext(seed: 0);
        var (transformer, inputSchema, metadata) = ModelArtifact.Load(ml, artifact);
        return new CtrModel(ml, transformer, inputSchema, metadata);
    }

    /// <summary>Corrects a probability learned on negatives kept at rate <paramref name="rate"/>: q = p / (p + (1 - p) / w).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float CorrectForNegativeSampling(float p, double rate) =>
        rate >= 1 ? p : (float)(p / (p + ((1 - p) / rate)));

    /// <summary>Scores one impression.</summary>
    public float Predict(Impression impression)
    {
        // Hot path: spans on the stack, no allocation.
        Span<uint> hashes = stackalloc uint[Hasher.CategoricalCount];
        HashCategorical(impression, hashes);
        return Predict(impression.Numeric, hashes, impression.Timestamp);
    }

    /// <summary>The impression's categorical value hashes, as <see cref="Predict(Impression)"/> scores them.</summary>
    internal void HashCategorical(Impression impression, Span<uint> hashes)
    {
        var categorical = impression.Categorical;
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = Hasher.HashCategorical(i, categorical[i]);
        }
    }

    /// <summary>Scores one row from raw numeric values and categorical value hashes (see <see cref="FeatureHasher.HashCategorical"/>).</summary>
    public float Predict(ReadOnlySpan<double> numeric, ReadOnlySpan<uint> categoricalHashes, DateTimeOffset? timestamp)
    {
        if (_rawScorer is not null)
        {
            // Hot path of a tree model: codes from the vocabulary into a stack row, then the family's flattened trees.
            Span<float> features = stackalloc float[_rawFields!.Count];
            _rawFields.Featurize(numeric, categoricalHashes, timestamp, features);
            return CorrectForNegativeSampling(_rawScorer.Predict(features), Metadata.NegativeSampleRate);
        }

        Span<int> indices = stackalloc int[Hasher.HashedCount];
        Span<float> dense = stackalloc float[Hasher.NumericCount];
        Hasher.Featurize(numeric, categoricalHashes, timestamp, indices, dense);
        float p;
        if (_weights is { } w)
        {
            var score = _bias;
            foreach (var index in indices)
            {
                score += w[index];
            }

            var offset = Hasher.HashSpace;
            for (var i = 0; i < dense.Length; i++)
            {
                score += w[offset + i] * dense[i];
            }

            p = 1f / (1f + MathF.Exp((_slope * score) + _offset));
        }
        else
        {
            p = _engines!.Value!.Predict(indices, dense);
        }

        return CorrectForNegativeSampling(p, Metadata.NegativeSampleRate);
    }

    /// <summary>Builds a scorer for click-log rows of a file with the given columns, matching fields by name.</summary>
    public Func<ClickLogRow, float> CreateRowScorer(IReadOnlyList<string> columns)
    {
        var numeric = Schema.NumericFields.Select(f => IndexOf(columns, f)).ToArray();
        var categorical = Schema.CategoricalFields.Select(f => IndexOf(columns, f)).ToArray();
        var timestamp = Schema.Timestamp is null ? -1 : IndexOf(columns, Schema.Timestamp.Field);
        var values = new double[numeric.Length];
        var hashes = new uint[categorical.Length];
        return row =>
        {
            for (var i = 0; i < numeric.Length; i++)
            {
                values[i] = row.NumberOrNaN(numeric[i]);
            }

            for (var i = 0; i < categorical.Length; i++)
            {
                hashes[i] = Hasher.HashCategorical(i, row.Field(categorical[i]));
            }

            var ts = timestamp >= 0 ? row.TimeOrNull(timestamp, Schema.Timestamp!.Format) : null;
            return Predict(values, hashes, ts);
        };

        static int IndexOf(IReadOnlyList<string> columns, string field)
        {
            for (var i = 0; i < columns.Count; i++)
            {
                if (columns[i] == field)
                {
                    return i;
                }
            }

            throw new InvalidDataException($"The model reads field '{field}', which the click log does not have.");
        }
    }

    public void Dispose()
    {
        if (_engines is not null)
        {
            foreach (var slot in _engines.Values)
            {
                slot.Dispose();
            }

            _engines.Dispose();
        }
    }

    private static bool TryGetLinear(ITransformer transformer, out float[] weights, out float bias, out float slope, out float offset)
    {
        if (LinearModel.From(transformer) is { } linear)
        {
            (weights, bias, slope, offset) = (linear.Weights, linear.Bias, (float)linear.Slope, (float)linear.Offset);
            return true;
        }

        (weights, bias, slope, offset) = ([], 0, 0, 0);
        return false;
    }

    /// <summary>One ML.NET prediction engine with its reusable buffers, owned by one thread.</summary>
    private sealed class EngineSlot : IDisposable
    {
        private readonly PredictionEngine<FeatureVectorRow, ScoreRow> _engine;
        private readonly FeatureVectorRow _input = new();
        private ScoreRow _output = new();
        private readonly int[] _indices;
        private readonly float[] _values;
        private readonly int[] _sorted;
        private readonly FeatureHasher _hasher;

        public EngineSlot(MLContext ml, ITransformer transformer, DataViewSchema inputSchema, FeatureHasher hasher)
        {
            _hasher = hasher;
            _engine = ml.Model.CreatePredictionEngine<FeatureVectorRow, ScoreRow>(transformer, inputSchema);
            _indices = new int[hasher.HashedCount + hasher.NumericCount];
            _values = new float[_indices.Length];
            _sorted = new int[hasher.HashedCount];
        }

        public float Predict(ReadOnlySpan<int> hashed, ReadOnlySpan<float> dense)
        {
            hashed.CopyTo(_sorted);
            var count = _hasher.ToSparse(_sorted, dense, _indices, _values);
            _input.Features = new VBuffer<float>(_hasher.Dimension, count, _values, _indices);
            _engine.Predict(_input, ref _output);
            return _output.Probability;
        }

        public void Dispose() => _engine.Dispose();
    }
}

/// <summary>The columns ML.NET's binary classifiers add.</summary>
internal sealed class ScoreRow
{
    public float Score { get; set; }

    public float Probability { get; set; }

    public bool PredictedLabel { get; set; }
}
