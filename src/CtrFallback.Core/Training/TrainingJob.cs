using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using CtrFallback.Data;
using CtrFallback.Promotion;

namespace CtrFallback.Training;

/// <summary>The training batch: load, featurize, train, evaluate, gate, register and, on a pass, promote and trigger a rollout.</summary>
public interface ITrainingJob
{
    /// <summary>The attachment each registered version carries: its evaluation report (ROC, calibration, histograms, gate decision) as HTML.</summary>
    const string EvaluationReportAttachment = "evaluation.html";

    /// <summary>Runs the batch once.</summary>
    /// <param name="request">The click logs and how to read them.</param>
    /// <param name="progress">Receives rows read so far.</param>
    /// <param name="cancellationToken">Cancels the run; before registration nothing in the store changes.</param>
    /// <returns>What was trained, judged, registered and deployed.</returns>
    /// <exception cref="ChampionChangeException">
    /// The candidate passed the gate but the champion it was judged against was replaced while it trained (a manual
    /// promote or rollback); it stays registered, not promoted (see <see cref="IChampionManager.PromoteCandidateAsync"/>).
    /// </exception>
    Task<TrainingJobResult> RunAsync(TrainingJobRequest request, IProgress<long>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>What a training batch reads.</summary>
/// <param name="Files">The click-log files, in time order.</param>
/// <param name="Schema">How to read them.</param>
public sealed record TrainingJobRequest(IReadOnlyList<string> Files, ClickLogSchema Schema);

/// <summary>The outcome of one training batch.</summary>
/// <param name="Training">The trained candidate and its evaluation.</param>
/// <param name="Gate">The gate's decision.</param>
/// <param name="Version">The registered version.</param>
/// <param name="Promoted">Whether the champion alias now points to it (not when an aborted rollout moved it back).</param>
/// <param name="PreviousChampion">The champion before the run, if any.</param>
/// <param name="Deployment">The deployment trigger's result, when the candidate was promoted.</param>
public sealed record TrainingJobResult(
    TrainingResult Training,
    GateDecision Gate,
    ModelVersion Version,
    bool Promoted,
    int? PreviousChampion,
    DeploymentResult? Deployment);

/// <summary>Runs the training batch over the registered trainer, gate, store and trigger.</summary>
internal sealed partial class TrainingJob(
    ICtrTrainer trainer,
    IPromotionGate gate,
    IModelStore store,
    IChampionManager champions,
    IOptions<CtrFallbackOptions> options,
    TimeProvider timeProvider,
    TrainingTelemetry telemetry,
    ILogger<TrainingJob>? logger = null) : ITrainingJob
{
    private readonly ILogger _logger = logger ?? NullLogger<TrainingJob>.Instance;

    public async Task<TrainingJobResult> RunAsync(TrainingJobRequest request, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = options.Value.ModelName;
        var alias = options.Value.ChampionAlias;

        // One trace per batch: the run, and a child activity per stage (the trainer adds featurize, fit and evaluate).
        using var run = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.run");
        run?.SetTag("ctrfallback.model", model);
        run?.SetTag("ctrfallback.alias", alias);
        try
        {
            var clock = Stopwatch.StartNew();
            ModelVersion? champion;
            byte[]? championArtifact;
            using (var stage = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.champion"))
            {
                champion = await store.GetVersionByAliasAsync(model, alias, cancellationToken).ConfigureAwait(false);
                championArtifact = champion is null ? null : await store.DownloadArtifactAsync(model, champion.Version, cancellationToken).ConfigureAwait(false);
                stage?.SetTag("ctrfallback.champion.version", champion?.Version);
            }

            LogChampion(_logger, model, champion?.Version);

            var training = await trainer.TrainAsync(request.Schema, request.Files, championArtifact, progress, cancellationToken).ConfigureAwait(false);
            run?.SetTag("ctrfallback.rows", training.Rows);
            foreach (var (stage, duration) in training.Stages)
            {
                telemetry.StageDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("stage", stage));
            }

            telemetry.RowsRead.Add(training.Rows);
            telemetry.RowsMalformed.Add(training.MalformedRows);

            GateDecision decision;
            using (var stage = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.gate"))
            {
                decision = await gate.EvaluateAsync(
                    new GateInput(training.Evaluation.Metrics, training.ChampionEvaluation?.Metrics, champion?.Version), cancellationToken).ConfigureAwait(false);
                stage?.SetTag("ctrfallback.gate.passed", decision.Passed);
            }

            run?.SetTag("ctrfallback.gate.passed", decision.Passed);
            LogGate(_logger, decision.Passed, string.Join("; ", decision.Reasons));

            // The earlier runs' records, for the report's champion-over-time section (a report without it beats no run).
            IReadOnlyList<Evaluation.ChampionQualityRecord>? history = null;
            if (training.Curves is not null)
            {
                try
                {
                    history = Evaluation.ChampionHistory.From(await store.ListVersionsAsync(model, cancellationToken).ConfigureAwait(false));
                }
                catch (ModelStoreException ex)
                {
                    LogHistoryUnavailable(_logger, model, ex.Message);
                }
            }

            // Last chance to cancel: from here on the run commits (the store makes registration itself atomic).
            cancellationToken.ThrowIfCancellationRequested();
            var tags = new Dictionary<string, string>
            {
                [ModelTags.GatePassed] = decision.Passed ? "true" : "false",
                ["ctrfallback.rows"] = training.Rows.ToString(CultureInfo.InvariantCulture),
                [Evaluation.ChampionHistory.HoldoutTag] = training.Holdout,
                [Evaluation.ChampionHistory.ChampionTag] = champion?.Version.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
            };

            // The champion's score on this newest holdout, kept with the run: `ctrfallback history` reads decay from it.
            if (training.ChampionEvaluation?.Metrics is { } championMetrics)
            {
                foreach (var (key, value) in Evaluation.ChampionHistory.ToTags(championMetrics))
                {
                    tags[key] = value;
                }
            }

            var title = $"{model}: candidate trained {timeProvider.GetUtcNow():yyyy-MM-dd HH:mm} UTC";
            var registration = new ModelRegistration(
                model,
                training.Artifact,
                training.Evaluation.Metrics,
                training.Parameters,
                tags,
                decision,
                training.DataFingerprint,
                training.Curves is { } curves
                    ? new Dictionary<string, ReadOnlyMemory<byte>>
                    {
                        [ITrainingJob.EvaluationReportAttachment] = Encoding.UTF8.GetBytes(
                            history is null ? curves.ToHtml(decision, title) : curves.ToHtmlWithChampionHistory(decision, title, history, champion?.Version)),
                    }
                    : null);
            ModelVersion version;
            using (var stage = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.register"))
            {
                version = await store.RegisterAsync(registration, cancellationToken).ConfigureAwait(false);
                stage?.SetTag("ctrfallback.version", version.Version);
            }

            run?.SetTag("ctrfallback.version", version.Version);
            LogRegistered(_logger, model, version.Version, decision.Passed);

            DeploymentResult? deployment = null;
            var rolledBack = false;
            if (decision.Passed)
            {
                // The version is committed: the alias move runs to its end even if cancellation arrives now. It is refused
                // when the champion is no longer the one the gate compared against.
                using var stage = CtrFallbackActivities.Source.StartActivity("ctrfallback.training.promote");
                var change = await champions.PromoteCandidateAsync(champion?.Version, version.Version, cancellationToken).ConfigureAwait(false);
                (version, deployment) = (change.Version, change.Deployment);
                rolledBack = change.Rollback is not null;
            }

            run?.SetTag("ctrfallback.promoted", decision.Passed);
            telemetry.Runs.Add(1, new KeyValuePair<string, object?>("outcome", decision.Passed ? "promoted" : "rejected"));
            telemetry.StageDuration.Record(clock.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("stage", "total"));
            return new TrainingJobResult(training, decision, version, decision.Passed && !rolledBack, champion?.Version, deployment);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            run.Failed(ex);
            telemetry.Runs.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            LogFailed(_logger, ex.Message);
            throw;
        }
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Could not read {Model}'s earlier runs for the report's champion history ({Reason}); the report goes without it")]
    private static partial void LogHistoryUnavailable(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Training {Model}; current champion: {Champion}")]
    private static partial void LogChampion(ILogger logger, string model, int? champion);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Gate passed: {Passed}. {Reasons}")]
    private static partial void LogGate(ILogger logger, bool passed, string reasons);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Registered {Model} version {Version} (gate passed: {Passed})")]
    private static partial void LogRegistered(ILogger logger, string model, int version, bool passed);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Training batch failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}

/// <summary>
/// The training batch's and champion manager's instruments on the <c>CtrFallback</c> meter, created through the host's
/// <see cref="IMeterFactory"/> (so they are scoped to it and tests can listen to their own), or on a meter of its own
/// when there is no factory.
/// </summary>
internal sealed class TrainingTelemetry : IDisposable
{
    private readonly Meter _meter;

    public TrainingTelemetry(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(CtrFallbackTelemetry.MeterName) ?? new Meter(CtrFallbackTelemetry.MeterName);
        StageDuration = _meter.CreateHistogram<double>("ctrfallback.training.stage.duration", "s", "Duration of a training batch stage (load, train, evaluate, total).");
        RowsRead = _meter.CreateCounter<long>("ctrfallback.training.rows", "{row}", "Well-formed click-log rows read by training batches.");
        RowsMalformed = _meter.CreateCounter<long>("ctrfallback.training.rows.malformed", "{row}", "Malformed click-log rows counted by training batches.");
        Runs = _meter.CreateCounter<long>("ctrfallback.training.runs", "{run}", "Training batches by outcome (promoted, rejected, failed).");
        AliasMoves = _meter.CreateCounter<long>("ctrfallback.alias.moves", "{move}", "Champion alias moves by kind (train, promote, rollback).");
    }

    public Histogram<double> StageDuration { get; }

    public Counter<long> RowsRead { get; }

    public Counter<long> RowsMalformed { get; }

    public Counter<long> Runs { get; }

    public Counter<long> AliasMoves { get; }

    /// <summary>Disposes a meter of its own; a factory's meters are the factory's to dispose.</summary>
    public void Dispose() => _meter.Dispose();
}
