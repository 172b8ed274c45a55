using System.Globalization;
using CtrFallback.Training;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using Microsoft.ML.Trainers.LightGbm;

namespace CtrFallback.LightGbm;

/// <summary>Gradient-boosted trees on the raw fields with ML.NET's LightGBM trainer, served by the flattened evaluator.</summary>
internal sealed class LightGbmModelFamily(IOptions<LightGbmTrainerOptions> options) : IRawFieldModelFamily
{
    public CtrTrainerKind Trainer => CtrTrainerKind.LightGbm;

    public RawFieldModel Train(RawFieldTable table, TrainingOptions training, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(training);
        var o = options.Value;

        // Early stopping on the most recent training rows, the closest in time to the holdout (which this never sees).
        var rows = table.TrainingRows;
        var validation = o.EarlyStoppingFraction > 0 ? (int)Math.Round(rows.Length * o.EarlyStoppingFraction) : 0;
        var fit = rows[..(rows.Length - validation)];
        var threads = training.Threads > 0 ? training.Threads : Environment.ProcessorCount;
        var rounds = training.Iterations > 0 ? training.Iterations : o.MaximumRounds;
        var trainer = new LightGbmBinaryTrainer.Options
        {
            NumberOfLeaves = o.NumberOfLeaves,
            LearningRate = o.LearningRate,
            NumberOfIterations = rounds,
            MinimumExampleCountPerLeaf = o.MinimumExampleCountPerLeaf,
            CategoricalSmoothing = o.CategoricalSmoothing,
            UseCategoricalSplit = true,
            HandleMissingValue = true,
            MaximumBinCountPerFeature = o.MaximumBinCountPerFeature,
            NumberOfThreads = threads,
            Seed = training.Seed,
            EarlyStoppingRound = validation > 0 ? o.EarlyStoppingRounds : 0,
            EvaluationMetric = LightGbmBinaryTrainer.Options.EvaluateMetricType.Logloss,
            Verbose = false,
            Silent = true,
        };

        // The token is observed while ML.NET reads the rows and after the fit; ML.NET offers no public way to stop boosting.
        var ml = new MLContext(training.Seed);
        var trainView = new RawFieldDataView(table, fit, cancellationToken);
        var estimator = ml.BinaryClassification.Trainers.LightGbm(trainer);
        var model = validation > 0
            ? estimator.Fit(trainView, new RawFieldDataView(table, rows[(rows.Length - validation)..], cancellationToken))
            : estimator.Fit(trainView);
        cancellationToken.ThrowIfCancellationRequested();

        using var stream = new MemoryStream();
        ml.Model.Save(model, trainView.Schema, stream);
        var trees = model.Model.SubModel.TrainedTreeEnsemble.Trees.Count;
        var parameters = new Dictionary<string, string>
        {
            ["threads"] = threads.ToString(CultureInfo.InvariantCulture),
            ["deterministic"] = "true",
            ["leaves"] = o.NumberOfLeaves.ToString(CultureInfo.InvariantCulture),
            ["learningRate"] = o.LearningRate.ToString(CultureInfo.InvariantCulture),
            ["maxIterations"] = rounds.ToString(CultureInfo.InvariantCulture),
            ["iterations"] = trees.ToString(CultureInfo.InvariantCulture),
            ["minDataPerLeaf"] = o.MinimumExampleCountPerLeaf.ToString(CultureInfo.InvariantCulture),
            ["categoricalSmoothing"] = o.CategoricalSmoothing.ToString(CultureInfo.InvariantCulture),
            ["maxBin"] = o.MaximumBinCountPerFeature.ToString(CultureInfo.InvariantCulture),
            ["earlyStoppingRows"] = validation.ToString(CultureInfo.InvariantCulture),
            ["earlyStoppingRounds"] = (validation > 0 ? o.EarlyStoppingRounds : 0).ToString(CultureInfo.InvariantCulture),
        };
        return new RawFieldModel(stream.ToArray(), parameters);
    }

    public IRawFieldScorer CreateScorer(ITransformer model, IReadOnlyList<RawFieldFeature> features) => TreeEnsembleEvaluator.From(model, features);
}
