using Microsoft.Extensions.Options;
using CtrFallback.Data;
using CtrFallback.Training;

namespace CtrFallback.TrainingWorker;

/// <summary>Runs the training batch once (then stops the host) or on an interval, and shuts down cleanly on SIGTERM.</summary>
internal sealed partial class TrainingWorkerService(
    ITrainingJob job,
    IOptions<WorkerOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<TrainingWorkerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        try
        {
            do
            {
                await RunOnceAsync(o, stoppingToken);
                if (o.Interval is not { } interval)
                {
                    break;
                }

                LogNextRun(logger, timeProvider.GetUtcNow() + interval);
                await Task.Delay(interval, timeProvider, stoppingToken);
            }
            while (!stoppingToken.IsCancellationRequested);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogCancelled(logger);
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, ex.Message);
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private async Task RunOnceAsync(WorkerOptions o, CancellationToken stoppingToken)
    {
        var schema = o.SchemaFile is not null ? ClickLogSchema.Load(o.SchemaFile) : ClickLogSchema.FromPreset(o.Format);
        // Files, folders and globs are resolved (and CtrFallback:Training:Window applied) by the trainer, so the run's
        // parameters record exactly the files it read.
        var files = o.Data;
        var result = await job.RunAsync(new TrainingJobRequest(files, schema), null, stoppingToken);
        var m = result.Training.Evaluation.Metrics;
        LogResult(logger, result.Version.Label, result.Promoted, m.Auc, m.NormalizedEntropy, m.Calibration, string.Join("; ", result.Gate.Reasons));
        if (result.Deployment is { IsSuccess: false } deployment)
        {
            LogDeploymentFailed(logger, deployment.Message);
            Environment.ExitCode = 3;
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Trained {Version}: promoted {Promoted}, AUC {Auc:F4}, NE {NormalizedEntropy:F4}, calibration {Calibration:F3}. Gate: {Reasons}")]
    private static partial void LogResult(ILogger logger, string version, bool promoted, double auc, double normalizedEntropy, double calibration, string reasons);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Next training batch at {Next:O}")]
    private static partial void LogNextRun(ILogger logger, DateTimeOffset next);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Training batch cancelled by shutdown; the store is as it was before the unfinished run")]
    private static partial void LogCancelled(ILogger logger);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Training batch failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "The champion moved but the deployment failed: {Message}")]
    private static partial void LogDeploymentFailed(ILogger logger, string message);
}
