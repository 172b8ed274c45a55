using System.Reflection;
using CtrFallback.Training;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace CtrFallback.LightGbm;

/// <summary>
/// The trained trees flattened into arrays (split feature, threshold, value for missing, children, leaf values;
/// categorical splits as bitsets over vocabulary codes) and walked on the table row itself: no vector, no ML.NET call,
/// no allocation per prediction. It mirrors ML.NET's own tree walk, so it scores as ML.NET does.
/// </summary>
/// <remarks>
/// ML.NET walks a numeric node as <c>value &lt;= threshold ? left : right</c> after replacing NaN by the node's
/// "default value for missing" (LightGBM's default direction); a categorical node goes right when the row's hot slot is
/// one of the node's categories. Nodes are numbered globally; a child below zero is <c>~leaf</c>.
/// </remarks>
internal sealed class TreeEnsembleEvaluator : IRawFieldScorer
{
    private const byte Numeric = 0;
    private const byte Categorical = 1;
    private const byte OneHotSlot = 2;

    private readonly int[] _roots;
    private readonly byte[] _kind;
    private readonly int[] _feature;
    private readonly float[] _threshold;
    private readonly float[] _missing;
    private readonly int[] _left;
    private readonly int[] _right;
    private readonly int[] _bitsOffset;
    private readonly int[] _bitsLength;
    private readonly ulong[] _bits;
    private readonly double[] _leaves;
    private readonly double _slope;
    private readonly double _offset;
    private readonly int _featureCount;

    private TreeEnsembleEvaluator(RegressionTreeEnsemble ensemble, PlattCalibrator calibrator, IReadOnlyList<RawFieldFeature> features)
    {
        var layout = new RawFieldDataView.SlotLayout(features);
        _featureCount = features.Count;
        (_slope, _offset) = (calibrator.Slope, calibrator.Offset);
        var roots = new List<int>();
        var kind = new List<byte>();
        var feature = new List<int>();
        var threshold = new List<float>();
        var missing = new List<float>();
        var left = new List<int>();
        var right = new List<int>();
        var bitsOffset = new List<int>();
        var bitsLength = new List<int>();
        var bits = new List<ulong>();
        var leaves = new List<double>();
        foreach (var tree in ensemble.Trees)
        {
            // ML.NET scores an empty tree (no split at all) as 0.
            if (tree.LeftChild[0] == 0)
            {
                continue;
            }

            var nodeBase = kind.Count;
            var leafBase = leaves.Count;
            var defaults = DefaultValuesForMissing(tree);
            roots.Add(nodeBase);
            for (var node = 0; node < tree.NumberOfNodes; node++)
            {
                left.Add(Child(tree.LeftChild[node], nodeBase, leafBase));
                right.Add(Child(tree.RightChild[node], nodeBase, leafBase));

                // Without defaults ML.NET keeps NaN, which fails "<=" and goes right: NaN here does the same.
                missing.Add(defaults is null ? float.NaN : defaults[node]);
                if (tree.CategoricalSplitFlags[node])
                {
                    var slots = tree.GetCategoricalSplitFeaturesAt(node);
                    var f = layout.FeatureOf(slots[0]);
                    var words = ((features[f].Levels - 1) / 64) + 1;
                    var set = new ulong[words];
                    foreach (var slot in slots)
                    {
                        var code = slot - layout.Start[f];
                        set[code >> 6] |= 1UL << (code & 63);
                    }

                    kind.Add(Categorical);
                    feature.Add(f);
                    threshold.Add(0);
                    bitsOffset.Add(bits.Count);
                    bitsLength.Add(words);
                    bits.AddRange(set);
                }
                else
                {
                    var slot = tree.NumericalSplitFeatureIndexes[node];
                    var f = layout.FeatureOf(slot);

                    // A numeric split on one slot of a one-hot range (ML.NET makes one for a constant tree): the slot's
                    // value is 1 when the row's code is that slot's code, else 0. The code goes in the bitset offset.
                    var isSlot = features[f].IsCategorical;
                    kind.Add(isSlot ? OneHotSlot : Numeric);
                    feature.Add(f);
                    threshold.Add(tree.NumericalSplitThresholds[node]);
                    bitsOffset.Add(isSlot ? slot - layout.Start[f] : 0);
                    bitsLength.Add(0);
                }
            }

            for (var leaf = 0; leaf < tree.NumberOfLeaves; leaf++)
            {
                leaves.Add(tree.LeafValues[leaf]);
            }
        }

        (_roots, _kind, _feature, _threshold, _missing, _left, _right) = ([.. roots], [.. kind], [.. feature], [.. threshold], [.. missing], [.. left], [.. right]);
        (_bitsOffset, _bitsLength, _bits, _leaves) = ([.. bitsOffset], [.. bitsLength], [.. bits], [.. leaves]);
    }

    /// <summary>Trees in the ensemble (empty ones left out).</summary>
    public int Trees => _roots.Length;

    /// <summary>Nodes over all trees.</summary>
    public int Nodes => _kind.Length;

    /// <summary>Reads the trees out of an ML.NET LightGBM binary model as trained (or loaded) by this package.</summary>
    public static TreeEnsembleEvaluator From(ITransformer model, IReadOnlyList<RawFieldFeature> features)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        if (model is not ISingleFeaturePredictionTransformer<CalibratedModelParametersBase<LightGbmBinaryModelParameters, PlattCalibrator>> trees)
        {
            throw new InvalidDataException($"The model is a {model.GetType().Name}, not a calibrated LightGBM binary model.");
        }

        return new TreeEnsembleEvaluator(trees.Model.SubModel.TrainedTreeEnsemble, trees.Model.Calibrator, features);
    }

    public float Predict(ReadOnlySpan<float> features)
    {
        // Hot path: arrays only, no allocation. Summed in double and calibrated as ML.NET does.
        if (features.Length != _featureCount)
        {
            ThrowWidth(features.Length);
        }

        var kind = _kind;
        var feature = _feature;
        var threshold = _threshold;
        var missing = _missing;
        var left = _left;
        var right = _right;
        double sum = 0;
        foreach (var root in _roots)
        {
            var node = root;
            while (node >= 0)
            {
                var value = features[feature[node]];
                bool goRight;
                switch (kind[node])
                {
                    case Numeric:
                        if (float.IsNaN(value))
                        {
                            value = missing[node];
                        }

                        goRight = !(value <= threshold[node]);
                        break;
                    case Categorical:
                        var code = (int)value;
                        var word = code >> 6;
                        goRight = word < _bitsLength[node] && (_bits[_bitsOffset[node] + word] & (1UL << (code & 63))) != 0;
                        break;
                    default:
                        goRight = !((_bitsOffset[node] == (int)value ? 1f : 0f) <= threshold[node]);
                        break;
                }

                node = goRight ? right[node] : left[node];
            }

            sum += _leaves[~node];
        }

        var score = (float)sum;
        return (float)(1 / (1 + Math.Exp((_slope * score) + _offset)));
    }

    private static int Child(int child, int nodeBase, int leafBase) => child >= 0 ? nodeBase + child : ~(leafBase + ~child);

    private static float[]? DefaultValuesForMissing(RegressionTree tree)
    {
        // ML.NET keeps LightGBM's default direction for missing values only internally (InternalRegressionTree's
        // DefaultValueForMissing), not in the public RegressionTree: read it there. The evaluator tests compare with
        // ML.NET's own scoring, so a change of that internal shows at once.
        var inner = typeof(RegressionTreeBase).GetField("_tree", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(tree)
            ?? throw new NotSupportedException("This ML.NET version keeps its trees differently; CtrFallback.LightGbm cannot read them.");
        var field = inner.GetType().GetField("DefaultValueForMissing", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new NotSupportedException("This ML.NET version keeps missing-value directions differently; CtrFallback.LightGbm cannot read them.");
        return (float[]?)field.GetValue(inner);
    }

    private void ThrowWidth(int width) =>
        throw new ArgumentException($"The row has {width} features; the model reads {_featureCount}.");
}
