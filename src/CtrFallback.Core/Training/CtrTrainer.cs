using System.Diagnostics;
using System.Globalization;
using CtrFallback.Data;
using CtrFallback.Evaluation;
using CtrFallback.Features;
using CtrFallback.Serving;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace CtrFallback.Training;

/// <summary>Featurizes a click log once, then trains and evaluates with ML.NET over the featurized rows.</summary>
/// <remarks>
/// Hashed linear models (SDCA, SGD) are Core's own; a raw-field trainer (LightGBM) comes from its package as an
/// <see cref="IRawFieldModelFamily"/>, registered in the container or process-wide (<see cref="RawFieldModelFamilies"/>).
/// </remarks>
internal sealed partial class CtrTrainer(
    IOptions<TrainingOptions> options,
    TimeProvider timeProvider,
    ILogger<CtrTrainer>? logger = null,
    IEnumerable<IRawFieldModelFamily>? families = null,
    IFeatureSearch? featureSearch = null) : ICtrTrainer
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

        // ML.NET is synchronous and CPU-bound: run it off the caller's thread. The token reaches the fit through the
        // featurized log's cursors, so a cancelled run stops within a few thousand rows and removes its temporary file
        // before this task completes.
        return Task.Run(() => Train(schema, files, championArtifact, progress, cancellationToken), cancellationToken);
    }

    private TrainingResult Train(ClickLogSchema schema, IReadOnlyList<string> files, byte[]? championArtifact, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var o = options.Value;
        schema.Validate();

        // The family first: a missing package fails before minutes of reading.
        var family = !RawFieldModelFamilies.IsRawField(o.Trainer) ? null
            : families?.FirstOrDefault(f => f.Trainer == o.Trainer) ?? RawFieldModelFamilies.Require(o.Trainer);
        var stages = new Dictionary<string, TimeSpan>();
        var clock = Stopwatch.StartNew();

        // Folders, globs and partitions resolve to exact files, then the rolling window keeps the newest partitions.
        var inputs = ClickLogInputs.Resolve(files);
        DateTimeOffset? newest = null, after = null;
        if (o.Window is { } window)
        {
            var span = ClickLogInputs.ParseWindow(window);
            if (schema.Timestamp is not null && inputs.All(i => i.Partition is null))
            {
                // No partitions: the window is measured back from the newest timestamp in the data (a pass of its
                // own), not from the clock, so a retrain of the same files keeps the same rows.
                newest = ClickLogReader.NewestTimestamp(schema, [.. inputs.Select(i => i.Path)], cancellationToken)
                    ?? throw new ClickLogFormatException($"Training:Window '{window}' is by the schema's timestamp '{schema.Timestamp.Field}', which no row has.");
                after = newest - span;
            }
            else
            {
                inputs = ClickLogInputs.Window(inputs, span);
            }
        }

        var paths = inputs.Select(i => i.Path).ToArray();
        var input = schema;
        var search = o.Features == FeatureSelection.Auto ? StartSearch(schema, family is not null) : null;
        var collector = family is null ? null : new RawFieldCollector(schema.ToFeatureSchema(), o.VocabularyMinCount);

        // The profile sees each row's hashes from the one featurizer as the log is written (no second pass).
        var profile = new TrainingProfileBuilder(schema.ToFeatureSchema(), o.Seed);
        using var featurize = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.featurize");
        using var champion = championArtifact is null ? null : CtrModel.Load(championArtifact);
        var temp = string.IsNullOrEmpty(o.TempDirectory) ? Path.GetTempPath() : o.TempDirectory;
        Directory.CreateDirectory(temp);
        var (reader, log) = Featurize(schema, paths, after, champion, null, temp, progress, search, collector, profile, cancellationToken);
        IReadOnlyDictionary<string, string>? searched = null;
        FeaturizedLog? inputLog = null;
        try
        {
            stages["load"] = clock.Elapsed;
            LogStage(_logger, "load", clock.Elapsed.TotalSeconds, log.Rows);
            if (search is not null)
            {
                // The search saw every row of the read above; it chooses from the training rows only, now that the
                // holdout is known. A changed schema is featurized anew (same rows, so the same holdout).
                clock.Restart();
                (schema, searched) = CompleteSearch(search, log, cancellationToken);
                stages["search"] = clock.Elapsed;
                LogStage(_logger, "search", clock.Elapsed.TotalSeconds, log.TrainingRows);
                if (schema.HashBits != input.HashBits || !schema.Crosses.SequenceEqual(input.Crosses))
                {
                    // The input schema's log stays for the comparison fit beside the training.
                    clock.Restart();
                    var (first, firstReader) = (log, reader);
                    inputLog = first;
                    using (firstReader)
                    {
                        // The profile is of the rows as the chosen schema hashes them: what serving compares with.
                        profile = new TrainingProfileBuilder(schema.ToFeatureSchema(), o.Seed);
                        (reader, log) = Featurize(schema, paths, after, champion, first, temp, progress, null, null, profile, cancellationToken);
                    }

                    if (log.HoldoutRows != first.HoldoutRows || log.StoredRows != first.StoredRows)
                    {
                        throw new InvalidOperationException("The log changed while it was read twice (Training:Features = Auto): the two reads gave different holdouts.");
                    }

                    stages["refeaturize"] = clock.Elapsed;
                    LogStage(_logger, "refeaturize", clock.Elapsed.TotalSeconds, log.Rows);
                }
            }
        }
        catch
        {
            log.Dispose();
            reader.Dispose();
            inputLog?.Dispose();
            throw;
        }

        using var readerScope = reader;
        using var logScope = log;
        using var inputLogScope = inputLog;
        progress?.Report(log.Rows);
        featurize?.SetTag("ctrfallback.rows", log.Rows);
        featurize?.SetTag("ctrfallback.rows.malformed", reader.Malformed.Count);
        featurize?.Dispose(); // Stopping twice (here and at the end of the scope) is harmless.

        clock.Restart();
        var fit = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.fit");
        var ml = new MLContext(o.Seed);
        var trainingRows = log.TrainingRowIndices();
        var holdoutRows = log.HoldoutRowIndices();
        Dictionary<string, string> parameters;
        byte[] savedModel;
        float[] probabilities;
        RawFieldFeaturizer? rawFields = null;
        if (family is not null)
        {
            (parameters, savedModel, probabilities, rawFields) = TrainRawFields(ml, family, collector!, log, trainingRows, holdoutRows, stages, clock, cancellationToken);
        }
        else if (inputLog is null)
        {
            (parameters, savedModel, probabilities) = TrainHashed(ml, o, log, trainingRows, holdoutRows, stages, clock, cancellationToken);
        }
        else
        {
            // The fit is one thread: the comparison of the input schema with the chosen one runs beside it.
            (parameters, savedModel, probabilities) = (null!, null!, null!);
            string comparison = string.Empty;
            try
            {
                Parallel.Invoke(
                    () => (parameters, savedModel, probabilities) = TrainHashed(ml, o, log, trainingRows, holdoutRows, stages, clock, cancellationToken),
                    () => comparison = CompareWithInputSchema(inputLog, log, trainingRows, holdoutRows, cancellationToken));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
                throw;
            }

            searched = new Dictionary<string, string>(searched!) { ["features.inputSchemaHoldout"] = comparison };
        }

        var trainedRows = trainingRows.LongLength;
        fit?.SetTag("ctrfallback.trainer", o.Trainer.ToString());
        fit?.SetTag("ctrfallback.rows", trainedRows);
        fit?.SetTag("ctrfallback.passes", parameters.GetValueOrDefault("passes"));
        fit?.Dispose();

        // The fit above includes scoring the holdout (beside the model's save, for a linear model); this is the metrics.
        using var evaluate = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.evaluate");
        for (var i = 0; i < probabilities.Length; i++)
        {
            probabilities[i] = CtrModel.CorrectForNegativeSampling(probabilities[i], o.NegativeSampleRate);
        }

        var (labels, championScores) = log.HoldoutLabels();
        var evaluation = Evaluator.Evaluate(labels, probabilities);
        var championEvaluation = champion is null ? null : Evaluator.Evaluate(labels, championScores);
        var curves = EvaluationCurves.From(labels, probabilities, champion is null ? [] : championScores, log.HoldoutDescription) with
        {
            Features = searched ?? new Dictionary<string, string>(),
        };
        stages["evaluate"] = clock.Elapsed;
        LogStage(_logger, "evaluate", clock.Elapsed.TotalSeconds, log.HoldoutRows);
        evaluate?.SetTag("ctrfallback.rows", log.HoldoutRows);
        evaluate?.SetTag("ctrfallback.auc", evaluation.Metrics.Auc);

        parameters["featurizer.hashBits"] = schema.HashBits.ToString(CultureInfo.InvariantCulture);
        parameters["featurizer.numeric"] = string.Join(',', schema.Numeric);
        parameters["featurizer.categorical"] = string.Join(',', schema.Categorical);
        parameters["featurizer.crosses"] = string.Join(',', schema.Crosses);
        parameters["featurizer.timestamp"] = schema.Timestamp is null ? string.Empty : $"{schema.Timestamp.Field}:{schema.Timestamp.Format}";
        parameters["features"] = o.Features.ToString();
        foreach (var (key, value) in searched ?? new Dictionary<string, string>())
        {
            parameters[key] = value;
        }

        parameters["holdoutFraction"] = o.HoldoutFraction.ToString(CultureInfo.InvariantCulture);
        parameters["negativeSampleRate"] = o.NegativeSampleRate.ToString(CultureInfo.InvariantCulture);
        parameters["data.sampledAtRead"] = log.SampledDuringRead ? "true" : "false";
        parameters["data.droppedNegatives"] = log.DroppedNegatives.ToString(CultureInfo.InvariantCulture);
        parameters["data.peakRowsHeld"] = log.PeakRowsHeld.ToString(CultureInfo.InvariantCulture);
        parameters["data.window"] = o.Window ?? string.Empty;
        parameters["data.window.by"] = o.Window is null ? string.Empty : after is null ? "partition" : "timestamp";
        if (after is not null)
        {
            // Rows with a timestamp later than this, up to the newest timestamp of the data.
            parameters["data.window.after"] = after.Value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            parameters["data.window.newest"] = newest!.Value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            parameters["data.window.outsideRows"] = reader.OutsideWindow.ToString(CultureInfo.InvariantCulture);
        }

        parameters["data.files"] = string.Join(',', reader.Files);
        parameters["data.partitions"] = string.Join(',', inputs.Where(i => i.Partition is not null).Select(i => i.Partition!.Value.ToString(i.PartitionLength < TimeSpan.FromDays(1) ? "yyyy-MM-dd'T'HH" : "yyyy-MM-dd", CultureInfo.InvariantCulture)).Distinct());
        var fingerprint = reader.Fingerprint();
        var metadata = new ArtifactMetadata
        {
            Schema = schema.ToFeatureSchema(),
            HasherVersion = log.Hasher.HasherVersion,
            NumericScales = log.Hasher.NumericScales,
            NegativeSampleRate = o.NegativeSampleRate,
            Trainer = o.Trainer.ToString(),
            Parameters = parameters,
            Metrics = evaluation.Metrics,
            DataFingerprint = fingerprint,
            CreatedAt = timeProvider.GetUtcNow(),
            TrainingRows = trainedRows,
            Vocabulary = rawFields?.Vocabulary,
            VocabularyMinCount = rawFields is null ? 0 : o.VocabularyMinCount,
            Profile = profile.Complete(probabilities, log.HoldoutPositives),
        };
        var artifact = ModelArtifact.Create(savedModel, metadata);
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

    private (Dictionary<string, string> Parameters, byte[] SavedModel, float[] Probabilities) TrainHashed(
        MLContext ml, TrainingOptions o, FeaturizedLog log, int[] trainingRows, int[] holdoutRows, Dictionary<string, TimeSpan> stages, Stopwatch clock, CancellationToken cancellationToken)
    {
        var train = new FeaturizedLogView(log, trainingRows, cancellationToken);
        var l2 = o.L2Regularization ?? (float)(10.0 / log.TrainingRows);
        var (estimator, parameters) = CreateTrainer(ml, o, l2);
        parameters["trainingData"] = train.IsWindowed ? "windowed" : "mapped";
        parameters["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture);
        var fitLog = new FitLog(ml);
        ITransformer model;
        try
        {
            model = estimator.Fit(train);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("Training was cancelled.", cancellationToken);
        }
        finally
        {
            fitLog.Dispose();
        }

        foreach (var (key, value) in fitLog.Report(parameters))
        {
            parameters[key] = value;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var schemaSource = new FeaturizedLogView(log, trainingRows[..1], cancellationToken);
        (model, var shift) = InterceptRefit.Apply(ml, model, log, trainingRows, log.TrainingPositives, schemaSource, cancellationToken);
        parameters["interceptRefit"] = shift.ToString("R", CultureInfo.InvariantCulture);

        stages["train"] = clock.Elapsed;
        LogStage(_logger, "train", clock.Elapsed.TotalSeconds, trainingRows.LongLength);

        clock.Restart();
        cancellationToken.ThrowIfCancellationRequested();
        var linear = LinearModel.From(model) ?? throw new InvalidOperationException("The linear trainer did not give a linear model.");

        // Saving the ML.NET model takes a few hundred milliseconds for 2^20 weights: it runs beside the evaluation, which
        // scores on the weights, not through ML.NET.
        byte[] savedModel = [];
        float[] probabilities = [];
        Parallel.Invoke(
            () => savedModel = ModelArtifact.SaveModel(ml, model, train.Schema),
            () => probabilities = linear.Probabilities(log, holdoutRows, cancellationToken));
        return (parameters, savedModel, probabilities);
    }

    private (Dictionary<string, string> Parameters, byte[] SavedModel, float[] Probabilities, RawFieldFeaturizer Featurizer) TrainRawFields(
        MLContext ml, IRawFieldModelFamily family, RawFieldCollector collector, FeaturizedLog log, int[] trainingRows, int[] holdoutRows, Dictionary<string, TimeSpan> stages, Stopwatch clock, CancellationToken cancellationToken)
    {
        var o = options.Value;
        // The collector holds every row read, so its table is by read number; the log holds the rows the sampling kept.
        holdoutRows = log.ReadRows(holdoutRows);
        var (featurizer, values) = collector.Complete(log.Hasher, holdoutRows);
        var labels = new bool[collector.Rows];
        for (var row = 0; row < log.StoredRows; row++)
        {
            labels[log.ReadRow(row)] = log.Label(row);
        }

        var table = new RawFieldTable { Features = featurizer.Features, Values = values, Labels = labels, TrainingRows = log.ReadRows(trainingRows) };
        stages["vocabulary"] = clock.Elapsed;
        LogStage(_logger, "vocabulary", clock.Elapsed.TotalSeconds, trainingRows.LongLength);
        clock.Restart();
        RawFieldModel fitted;
        try
        {
            fitted = family.Train(table, o, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("Training was cancelled.", cancellationToken);
        }

        var parameters = new Dictionary<string, string>(fitted.Parameters)
        {
            ["trainer"] = o.Trainer.ToString(),
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["featurizer.kind"] = "rawFields",
            ["featurizer.vocabularyMinCount"] = o.VocabularyMinCount.ToString(CultureInfo.InvariantCulture),
            ["featurizer.vocabularySizes"] = string.Join(',', featurizer.Vocabulary.Select(v => v.Count)),
        };
        stages["train"] = clock.Elapsed;
        LogStage(_logger, "train", clock.Elapsed.TotalSeconds, trainingRows.LongLength);

        // The holdout is scored by the very scorer serving uses, on the model as loaded back from its saved bytes.
        clock.Restart();
        cancellationToken.ThrowIfCancellationRequested();
        using var stream = new MemoryStream(fitted.Model, writable: false);
        var scorer = family.CreateScorer(ml.Model.Load(stream, out _), featurizer.Features);
        var probabilities = new float[holdoutRows.Length];
        for (var k = 0; k < holdoutRows.Length; k++)
        {
            probabilities[k] = scorer.Predict(table.Row(holdoutRows[k]));
        }

        return (parameters, fitted.Model, probabilities, featurizer);
    }

    /// <summary>
    /// Reads and featurizes the log once; the first read also shows each row to the feature search, and a second read
    /// (a schema the search changed) copies the champion's scores from the first instead of scoring twice.
    /// </summary>
    private (ClickLogReader Reader, FeaturizedLog Log) Featurize(
        ClickLogSchema schema, string[] paths, DateTimeOffset? after, CtrModel? champion, FeaturizedLog? previous, string temp, IProgress<long>? progress, IFeatureSearchRun? search, RawFieldCollector? collector, TrainingProfileBuilder profile, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var reader = new ClickLogReader(schema, paths, after: after);
        try
        {
            Func<ClickLogRow, float>? championScorer = null;
            if (previous is not null && champion is not null)
            {
                // The same rows in the same order: the previous log kept the same ones, and a dropped row needs no score.
                long read = 0, stored = 0;
                championScorer = _ =>
                {
                    var score = stored < previous.StoredRows && previous.ReadRow(stored) == read ? previous.ChampionScore(stored++) : float.NaN;
                    read++;
                    return score;
                };
            }
            else if (champion is not null)
            {
                Func<ClickLogRow, float>? scorer = null;
                championScorer = row => (scorer ??= champion.CreateRowScorer(reader.Columns))(row);
            }

            // Every row's hashes, once, to whoever learns from the read: the profile, the search, the raw-field vocabulary.
            RowObserver observer = profile.Observe;
            if (search is not null)
            {
                long row = 0;
                var previousObserver = observer;
                observer = (r, hashes) =>
                {
                    previousObserver(r, hashes);
                    search.Add(row++, r.Label, hashes);
                };
            }

            if (collector is not null)
            {
                var previousObserver = observer;
                observer = (r, hashes) =>
                {
                    previousObserver(r, hashes);
                    collector.Add(r, hashes);
                };
            }

            var log = FeaturizedLog.Build(reader, schema.ToFeatureSchema(), o.HoldoutFraction, championScorer, temp, rows => progress?.Report(rows), cancellationToken, o.MaxInMemoryTrainingBytes, observer, o.NegativeSampleRate);
            try
            {
                if (o.NegativeSampleRate < 1 && schema.Timestamp is not null)
                {
                    LogSampledAfterRead(_logger, log.PeakRowsHeld, log.DroppedNegatives);
                }

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

                return (reader, log);
            }
            catch
            {
                log.Dispose();
                throw;
            }
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The holdout AUC and NE of the input schema's features beside the chosen ones: the same SDCA settings on the same
    /// evenly spread training rows (at most <see cref="ComparisonRows"/>) of each featurized log, scored on the full holdout.
    /// </summary>
    private string CompareWithInputSchema(FeaturizedLog input, FeaturizedLog chosen, int[] trainingRows, int[] holdoutRows, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var stride = Math.Max(1, trainingRows.Length / ComparisonRows);
        var rows = Enumerable.Range(0, trainingRows.Length / stride).Select(k => trainingRows[k * stride]).ToArray();
        var (labels, _) = chosen.HoldoutLabels();
        return string.Create(CultureInfo.InvariantCulture, $"input schema {Fit(input)}; chosen {Fit(chosen)} (SDCA on the same {rows.Length} training rows, full holdout)");

        string Fit(FeaturizedLog log)
        {
            var ml = new MLContext(o.Seed);
            var (estimator, _) = CreateTrainer(ml, o, (float)(10.0 / rows.Length));
            ITransformer model;
            try
            {
                model = estimator.Fit(new FeaturizedLogView(log, rows, cancellationToken));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("Training was cancelled.", cancellationToken);
            }

            var linear = LinearModel.From(model) ?? throw new InvalidOperationException("The linear trainer did not give a linear model.");
            var p = linear.Probabilities(log, holdoutRows, cancellationToken);
            for (var i = 0; i < p.Length; i++)
            {
                p[i] = CtrModel.CorrectForNegativeSampling(p[i], o.NegativeSampleRate);
            }

            var m = Evaluator.Evaluate(labels, p).Metrics;
            return string.Create(CultureInfo.InvariantCulture, $"AUC {m.Auc:0.0000}, NE {m.NormalizedEntropy:0.0000}");
        }
    }

    /// <summary>Training rows of the input-versus-chosen comparison fit: enough to rank two schemas, a small share of a large log's fit.</summary>
    private const int ComparisonRows = 50_000;

    private IFeatureSearchRun StartSearch(ClickLogSchema schema, bool rawFields)
    {
        var o = options.Value;
        if (rawFields)
        {
            throw new InvalidOperationException($"Training:Features = Auto chooses crosses and hash bits, which a raw-field trainer ({o.Trainer}) does not use: set Training:Features = Schema.");
        }

        var search = featureSearch ?? throw new InvalidOperationException(
            "Training:Features = Auto needs a feature search: add the CtrFallback.Analysis package and call UseFeatureSearch() on the CtrFallback builder.");
        return search.Start(schema);
    }

    /// <summary>
    /// Training:Features = Auto: the holdout is the run's own (the featurized log's split), and the search sees the other
    /// rows only; the collision estimate counts the hashed features the training rows use with the input schema.
    /// </summary>
    private static (ClickLogSchema Schema, IReadOnlyDictionary<string, string> Parameters) CompleteSearch(IFeatureSearchRun search, FeaturizedLog log, CancellationToken cancellationToken)
    {
        using var activity = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.search");
        var found = search.Complete(row => !log.IsHoldout(row), log.DistinctTrainingFeatures(), cancellationToken);
        found.Schema.Validate("Training:Features = Auto");
        activity?.SetTag("ctrfallback.features.crosses", string.Join(',', found.Schema.Crosses));
        activity?.SetTag("ctrfallback.features.hashBits", found.Schema.HashBits);
        return (found.Schema, found.Parameters);
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
                string.Create(CultureInfo.InvariantCulture, $"{malformed.Count:N0} of {total:N0} rows ({share * 100:F2}%) are malformed, more than the {options.Value.MaxMalformedFraction * 100:F2}% allowed (Training:MaxMalformedFraction). First ones:{Environment.NewLine}{examples}"))
            {
                Examples = malformed.First,
                MalformedCount = malformed.Count,
                TotalRows = total,
            };
        }

        LogMalformed(_logger, malformed.Count, total, examples);
    }

    private static (IEstimator<ITransformer> Estimator, Dictionary<string, string> Parameters) CreateTrainer(MLContext ml, TrainingOptions o, float l2)
    {
        // One thread by default: ML.NET's SDCA and SGD run threads as lock-free concurrent passes (Hogwild), whose
        // result depends on thread timing; one thread gives the same weights, bit for bit, for the same log and seed.
        var threads = o.Threads > 0 ? o.Threads : 1;
        var parameters = new Dictionary<string, string>
        {
            ["trainer"] = o.Trainer.ToString(),
            ["threads"] = threads.ToString(CultureInfo.InvariantCulture),
            ["deterministic"] = threads == 1 ? "true" : "false",
        };
        switch (o.Trainer)
        {
            case CtrTrainerKind.Sdca:
                var sdca = new SdcaLogisticRegressionBinaryTrainer.Options
                {
                    L2Regularization = l2,
                    L1Regularization = 0,
                    ConvergenceTolerance = (float)o.ConvergenceTolerance,
                    MaximumNumberOfIterations = o.Iterations > 0 ? o.Iterations : TrainingOptions.DefaultSdcaMaximumIterations,
                    ConvergenceCheckFrequency = o.ConvergenceCheckFrequency,
                    NumberOfThreads = threads,
                    Shuffle = true,
                };
                parameters["l2"] = sdca.L2Regularization.Value.ToString(CultureInfo.InvariantCulture);
                parameters["maxIterations"] = sdca.MaximumNumberOfIterations.Value.ToString(CultureInfo.InvariantCulture);
                parameters["convergenceTolerance"] = o.ConvergenceTolerance.ToString(CultureInfo.InvariantCulture);
                parameters["convergenceCheckFrequency"] = o.ConvergenceCheckFrequency.ToString(CultureInfo.InvariantCulture);
                return (ml.BinaryClassification.Trainers.SdcaLogisticRegression(sdca), parameters);
            case CtrTrainerKind.Sgd:
                var sgd = new SgdCalibratedTrainer.Options
                {
                    L2Regularization = l2,
                    NumberOfIterations = o.Iterations > 0 ? o.Iterations : 5,
                    NumberOfThreads = threads,
                    Shuffle = true,
                };
                parameters["l2"] = sgd.L2Regularization.ToString(CultureInfo.InvariantCulture);
                parameters["maxIterations"] = sgd.NumberOfIterations.ToString(CultureInfo.InvariantCulture);
                return (ml.BinaryClassification.Trainers.SgdCalibrated(sgd), parameters);
            default:
                throw new InvalidOperationException($"{o.Trainer} is not a hashed linear trainer.");
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Stage {Stage} took {Seconds:F2} s over {Rows} rows")]
    private static partial void LogStage(ILogger logger, string stage, double seconds, long rows);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{Malformed} of {Total} rows are malformed (within the allowed share); first ones:\n{Examples}")]
    private static partial void LogMalformed(ILogger logger, long malformed, long total, string examples);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "The holdout is by timestamp, so no row was known to be a training row before the read was done: all {Rows} rows were on disk before {Dropped} negatives were dropped")]
    private static partial void LogSampledAfterRead(ILogger logger, long rows, long dropped);
}
