using CtrFallback.Data;
namespace CtrFallback.Training;

/// <summary>Trains and evaluates a CTR model from click logs.</summary>
public interface ICtrTrainer
{
    /// <summary>
    /// Reads the logs, featurizes them once, trains on all but the most recent rows and evaluates on the holdout;
    /// when a champion artifact is given, scores it on the very same holdout.
    /// </summary>
    /// <param name="schema">How to read the logs and which columns feed the model.</param>
    /// <param name="files">The click-log files, in time order.</param>
    /// <param name="championArtifact">The current champion's artifact, to be scored on the same holdout, or <see langword="null"/>.</param>
    /// <param name="progress">Receives the number of rows read so far.</param>
    /// <param name="cancellationToken">Cancels the run; nothing is written anywhere but a temporary file, which is removed.</param>
    /// <returns>The candidate with its evaluation.</returns>
    /// <exception cref="ClickLogFormatException">Too many rows are malformed, or there are too few rows to train and evaluate.</exception>
    /// <exception cref="ClickLogSchemaException">The schema does not fit the files.</exception>
    Task<TrainingResult> TrainAsync(
        ClickLogSchema schema,
        IReadOnlyList<string> files,
        byte[]? championArtifact = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default);
}
