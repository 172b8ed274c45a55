namespace CtrFallback.Evaluation;

/// <summary>Holdout metrics with calibration by score bucket.</summary>
/// <param name="Metrics">AUC, log loss, normalized entropy, calibration, rows and positives.</param>
/// <param name="Calibration">Mean predicted and observed CTR per score bucket (deciles), lowest scores first.</param>
public sealed record EvaluationReport(ModelMetrics Metrics, IReadOnlyList<CalibrationBucket> Calibration);

/// <summary>One score bucket of a calibration table.</summary>
/// <param name="Bucket">1-based bucket number, lowest scores first.</param>
/// <param name="Rows">Rows in the bucket.</param>
/// <param name="MeanPredicted">Mean predicted CTR.</param>
/// <param name="Observed">Observed CTR.</param>
public sealed record CalibrationBucket(int Bucket, long Rows, double MeanPredicted, double Observed);
