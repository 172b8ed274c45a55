using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace CtrFallback.Tests;

/// <summary>
/// Scores whole click logs through ML.NET's own batch transform: the offline path, against which the
/// hand-written serving path is checked (a test helper: no host needs it).
/// </summary>
internal static class OfflineScorer
{
    /// <summary>Scores every well-formed row of the files, in order, with its label.</summary>
    public static IEnumerable<(bool Label, float Probability)> Score(CtrModel model, ClickLogSchema schema, IReadOnlyList<string> files)
    {
        var ml = new MLContext(seed: 0);
        var definition = SchemaDefinition.Create(typeof(FeatureVectorRow));
        definition[nameof(FeatureVectorRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, model.Hasher.Dimension);
        var rows = ml.Data.LoadFromEnumerable(Featurize(model, schema, files), definition);
        var labels = ml.Data.CreateEnumerable<LabelRow>(rows, reuseRowObject: true).Select(r => r.Label);
        var scores = ml.Data.CreateEnumerable<ScoreRow>(model.Transformer.Transform(rows), reuseRowObject: true)
            .Select(r => CtrModel.CorrectForNegativeSampling(r.Probability, model.Metadata.NegativeSampleRate));
        return labels.Zip(scores);
    }

    /// <summary>Scores the log's first rows through the serving path (impressions from the raw lines) and checks each against the offline score.</summary>
    public static void ServingShouldMatch(CtrModel model, ClickLogSchema schema, string log, int rows)
    {
        var offline = Score(model, schema, [log]).Take(rows).ToArray();
        var lines = File.ReadLines(log).Take(rows).ToArray();
        var impression = new Impression(model.Schema);
        for (var i = 0; i < lines.Length; i++)
        {
            impression.Clear();
            impression.SetAll(schema.Columns!, lines[i].Split(schema.Separator));

            model.Predict(impression).Should().BeApproximately(offline[i].Probability, 1e-6f, $"row {i + 1} must score the same offline and in serving");
        }
    }

    private static IEnumerable<FeatureVectorRow> Featurize(CtrModel model, ClickLogSchema schema, IReadOnlyList<string> files)
    {
        var hasher = model.Hasher;
        var feature = schema with
        {
            Numeric = model.Schema.NumericFields,
            Categorical = model.Schema.CategoricalFields,
            Crosses = model.Schema.Crosses,
            Timestamp = model.Schema.Timestamp,
        };
        using var reader = new ClickLogReader(feature, files);
        var hashes = new uint[hasher.CategoricalCount];
        var hashed = new int[hasher.HashedCount];
        var dense = new float[hasher.NumericCount];
        var indices = new int[hashed.Length + dense.Length];
        var values = new float[indices.Length];
        var row = new FeatureVectorRow();
        while (reader.Read())
        {
            for (var i = 0; i < hashes.Length; i++)
            {
                hashes[i] = hasher.HashCategorical(i, reader.Row.Categorical(i));
            }

            hasher.Featurize(reader.Row.Numeric, hashes, reader.Row.Timestamp, hashed, dense);
            var count = hasher.ToSparse(hashed, dense, indices, values);
            row.Label = reader.Row.Label;
            row.Features = new VBuffer<float>(hasher.Dimension, count, values, indices);
            yield return row;
        }
    }

    private sealed class LabelRow
    {
        public bool Label { get; set; }
    }
}
