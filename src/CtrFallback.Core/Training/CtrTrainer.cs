using System.Diagnostics;
using System.Globalization;
using CtrFallback.Data;
using CtrFallback.Evaluation;
using CtrFallback.Serving;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.LightGbm;

namespace CtrFallback.Training;

/// <summary>Featurizes a click log once, then trains and evaluates with ML.NET over the featurized rows.</summary>
internal sealed partial class CtrTrainer(IOptions<TrainingOptions> options, TimeProvider timeProvider, ILogger<CtrTrainer>? logger = null) : ICtrTrainer
{
    private readonly ILogger _logger = logger ?? NullLogger<CtrTrainer>.Instance;

    public Task<TrainingResult> TrainAsync(
        ClickLogSchema schema,
        IReadOnlyList<string> files,
        byte[]? championArtifact = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(files);

        // ML.NET is synchronous, CPU-bound and takes no token: run it off the caller's thread and stop waiting on
        // cancellation. An abandoned fit only ever writes its own temporary file, so the store is never touched.
        return Task.Run(() => Train(schema, files, championArtifact, progress, cancellationToken), cancellationToken)
            .WaitAsync(cancellationToken);
    }

    private TrainingResult Train(ClickLogSchema schema, IReadOnlyList<string> files, byte[]? championArtifact, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var o = options.Value;
        schema.Validate();
        var stages = new Dictionary<string, TimeSpan>();
        var clock = Stopwatch.StartNew();
        using var champion = championArtifact is null ? null : CtrModel.Load(championArtifact);

        using var reader = new ClickLogReader(schema, files);
        Func<ClickLogRow, float>? championScorer = null;
        if (champion is not null)
        {
            Func<ClickLogRow, float>? scorer = null;
            championScorer = row => (scorer ??= champion.CreateRowScorer(reader.Columns))(row);
        }

        using var log = FeaturizedLog.Build(reader, schema.ToFeatureSchema(), o.HoldoutFraction, championScorer, rows => progress?.Report(rows), cancellationToken);
        CheckMalformed(reader);
        if (log.TrainingRows == 0 || log.HoldoutRows == 0)
        {
            throw new ClickLogFormatException(
                $"Too few rows to train and evaluate: {log.Rows:N0} well-formed rows gave {log.TrainingRows:N0} training and {log.HoldoutRows:N0} holdout rows.");
        }

        if (log.TrainingPositives == 0 || log.TrainingPositives == log.TrainingRows)
        {
            throw new ClickLogFormatException($"The training rows have only one label value ({log.TrainingPositives:N0} clicks in {log.TrainingRows:N0} rows): nothing to learn.");
        }

        stages["load"] = clock.Elapsed;
        LogStage(_logger, "load", clock.Elapsed.TotalSeconds, log.Rows);
        progress?.Report(log.Rows);

        clock.Restart();
        var ml = new MLContext(o.Seed);

        var definition = SchemaDefinition.Create(typeof(FeatureVectorRow));
        definition[nameof(FeatureVectorRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, log.Hasher.Dimension);
        var train = ml.Data.LoadFromEnumerable(log.Vectors(holdout: false, o.NegativeSampleRate, o.Seed), definition);
        // Shuffled passes need random access: ML.NET's in-memory cache gives it when the rows fit the budget.
        // Beyond it, training streams from disk in one fixed shuffled order (bounded memory, slower convergence).
        var estimatedBytes = log.TrainingRows * ((log.Hasher.HashedCount + log.Hasher.NumericCount) * 8L + 64);
        var inMemory = estimatedBytes <= o.MaxInMemoryTrainingBytes;
        if (inMemory)
        {
            train = ml.Data.Cache(train);
        }

        var l2 = o.L2Regularization ?? (float)(10.0 / log.TrainingRows);
        var (estimator, parameters) = CreateTrainer(ml, o, l2, shuffle: inMemory);
        parameters["trainingData"] = inMemory ? "memory" : "disk";
        cancellationToken.ThrowIfCancellationRequested();
        ITransformer model;
        try
        {
            model = estimator.Fit(train);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("Training was cancelled.", cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var trainedRows = log.LastPassRows;
        stages["train"] = clock.Elapsed;
        LogStage(_logger, "train", clock.Elapsed.TotalSeconds, trainedRows);

        clock.Restart();
        cancellationToken.ThrowIfCancellationRequested();
        var holdout = ml.Data.LoadFromEnumerable(log.Vectors(holdout: true), definition);
        var probabilities = ml.Data.CreateEnumerable<ScoreRow>(model.Transform(holdout), reuseRowObject: true)
            .Select(r => CtrModel.CorrectForNegativeSampling(r.Probability, o.NegativeSampleRate))
            .ToArray();
        var (labels, championScores) = log.HoldoutLabels();
        var evaluation = Evaluator.Evaluate(labels, probabilities);
        var championEvaluation = champion is null ? null : Evaluator.Evaluate(labels, championScores);
        var curves = EvaluationCurves.From(labels, probabilities, champion is null ? [] : championScores, log.HoldoutDescription);
        stages["evaluate"] = clock.Elapsed;
        LogStage(_logger, "evaluate", clock.Elapsed.TotalSeconds, log.HoldoutRows);

        parameters["featurizer.hashBits"] = schema.HashBits.ToString(CultureInfo.InvariantCulture);
        parameters["featurizer.numeric"] = string.Join(',', schema.Numeric);
        parameters["featurizer.categorical"] = string.Join(',', schema.Categorical);
        parameters["featurizer.crosses"] = string.Join(',', schema.Crosses);
        parameters["featurizer.timestamp"] = schema.Timestamp is null ? string.Empty : $"{schema.Timestamp.Field}:{schema.Timestamp.Format}";
        parameters["holdoutFraction"] = o.HoldoutFraction.ToString(CultureInfo.InvariantCulture);
        parameters["negativeSampleRate"] = o.NegativeSampleRate.ToString(CultureInfo.InvariantCulture);
        var fingerprint = reader.Fingerprint();
        var metadata = new ArtifactMetadata
        {
            Schema = schema.ToFeatureSchema(),
            NumericScales = log.Hasher.NumericScales,
            NegativeSampleRate = o.NegativeSampleRate,
            Trainer = o.Trainer.ToString(),
            Parameters = parameters,
            Metrics = evaluation.Metrics,
            DataFingerprint = fingerprint,
            CreatedAt = timeProvider.GetUtcNow(),
            TrainingRows = trainedRows,
        };
        var artifact = ModelArtifact.Create(ml, model, train.Schema, metadata);
        return new TrainingResult
        {
            Artifact = artifact,
            Evaluation = evaluation,
            ChampionEvaluation = championEvaluation,
            Curves = curves,
            Parameters = parameters,
            DataFingerprint = fingerprint,
            Rows = log.Rows,
            TrainingRows = trainedRows,
            MalformedRows = reader.Malformed.Count,
            MalformedExamples = reader.Malformed.First,
            Holdout = log.HoldoutDescription,
            Stages = stages,
        };
    }

    private void CheckMalformed(ClickLogReader reader)
    {
        var malformed = reader.Malformed;
        var total = reader.Rows + malformed.Count;
        if (malformed.Count == 0)
        {
            return;
        }

        var examples = string.Join(Environment.NewLine, malformed.First.Select(m => "  " + m));
        var share = (double)malformed.Count / total;
        if (share > options.Value.MaxMalformedFraction)
        {
            throw new ClickLogFormatException(
                string.Create(CultureInfo.InvariantCulture, $"{malformed.Count:N0} of {total:N0} rows ({share * 100:F2}%) are malformed, more than the {options.Value.MaxMalformedFraction * 100:F2}% allowed (--max-malformed). First ones:{Environment.NewLine}{examples}"))
            {
                Examples = malformed.First,
                MalformedCount = malformed.Count,
                TotalRows = total,
            };
        }

        LogMalformed(_logger, malformed.Count, total, examples);
    }

    private static (IEstimator<ITransformer> Estimator, Dictionary<string, string> Parameters) CreateTrainer(MLContext ml, TrainingOptions o, float l2, bool shuffle)
    {
        var threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        var parameters = new Dictionary<string, string>
        {
            ["trainer"] = o.Trainer.ToString(),
            ["threads"] = threads.ToString(CultureInfo.InvariantCulture),
        };
        switch (o.Trainer)
        {
            case CtrTrainerKind.Sdca:
                var sdca = new SdcaLogisticRegressionBinaryTrainer.Options
                {
                    L2Regularization = l2,
                    L1Regularization = 0,
                    ConvergenceTolerance = (float)o.ConvergenceTolerance,
                    MaximumNumberOfIterations = o.Iterations > 0 ? o.Iterations : 30,
                    NumberOfThreads = threads,
                    Shuffle = shuffle,
                };
                parameters["l2"] = sdca.L2Regularization.Value.ToString(CultureInfo.InvariantCulture);
                parameters["iterations"] = sdca.MaximumNumberOfIterations.Value.ToString(CultureInfo.InvariantCulture);
                parameters["convergenceTolerance"] = o.ConvergenceTolerance.ToString(CultureInfo.InvariantCulture);
                return (ml.BinaryClassification.Trainers.SdcaLogisticRegression(sdca), parameters);
            case CtrTrainerKind.Sgd:
                var sgd = new SgdCalibratedTrainer.Options
                {
                    L2Regularization = l2,
                    NumberOfIterations = o.Iterations > 0 ? o.Iterations : 5,
                    NumberOfThreads = threads,
                    Shuffle = shuffle,
                };
                parameters["l2"] = sgd.L2Regularization.ToString(CultureInfo.InvariantCulture);
                parameters["iterations"] = sgd.NumberOfIterations.ToString(CultureInfo.InvariantCulture);
                return (ml.BinaryClassification.Trainers.SgdCalibrated(sgd), parameters);
            default:
                var gbm = new LightGbmBinaryTrainer.Options
                {
                    NumberOfIterations = o.Iterations > 0 ? o.Iterations : 100,
                    NumberOfLeaves = 63,
                    NumberOfThreads = threads,
                    Seed = o.Seed,
                };
                parameters["iterations"] = gbm.NumberOfIterations.ToString(CultureInfo.InvariantCulture);
                parameters["leaves"] = "63";
                return (ml.BinaryClassification.Trainers.LightGbm(gbm), parameters);
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Stage {Stage} took {Seconds:F2} s over {Rows} rows")]
    private static partial void LogStage(ILogger logger, string stage, double seconds, long rows);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{Malformed} of {Total} rows are malformed (within the allowed share); first ones:\n{Examples}")]
    private static partial void LogMalformed(ILogger logger, long malformed, long total, string examples);
}
