namespace CtrFallback;

/// <summary>Holdout metrics of a model: ranking, log loss, normalized entropy and calibration.</summary>
/// <param name="Auc">Area under the ROC curve.</param>
/// <param name="LogLoss">Average log loss (natural log).</param>
/// <param name="NormalizedEntropy">Log loss divided by the entropy of the holdout's own click rate; lower is better, 1 is no better than the base rate.</param>
/// <param name="Calibration">Mean predicted CTR divided by observed CTR; 1 is ideal.</param>
/// <param name="Rows">Number of holdout rows.</param>
/// <param name="Positives">Number of clicks in the holdout.</param>
public sealed record ModelMetrics(
    double Auc,
    double LogLoss,
    double NormalizedEntropy,
    double Calibration,
    long Rows,
    long Positives)
{
    /// <summary>Metric names as stored in model stores (MLflow metric keys, metadata files).</summary>
    public static class Names
    {
        /// <summary>AUC.</summary>
        public const string Auc = "auc";

        /// <summary>Log loss.</summary>
        public const string LogLoss = "logLoss";

        /// <summary>Normalized entropy.</summary>
        public const string NormalizedEntropy = "normalizedEntropy";

        /// <summary>Calibration ratio.</summary>
        public const string Calibration = "calibration";

        /// <summary>Holdout rows.</summary>
        public const string Rows = "rows";

        /// <summary>Holdout positives.</summary>
        public const string Positives = "positives";
    }

    /// <summary>The metrics as a name-to-value map, keyed by <see cref="Names"/>.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        [Names.Auc] = Auc,
        [Names.LogLoss] = LogLoss,
        [Names.NormalizedEntropy] = NormalizedEntropy,
        [Names.Calibration] = Calibration,
        [Names.Rows] = Rows,
        [Names.Positives] = Positives,
    };

    /// <summary>Reads metrics back from a name-to-value map; returns <see langword="null"/> when one is missing.</summary>
    /// <param name="values">The map written by <see cref="ToDictionary"/>.</param>
    public static ModelMetrics? FromDictionary(IReadOnlyDictionary<string, double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.TryGetValue(Names.Auc, out var auc)
            && values.TryGetValue(Names.LogLoss, out var logLoss)
            && values.TryGetValue(Names.NormalizedEntropy, out var ne)
            && values.TryGetValue(Names.Calibration, out var calibration)
            && values.TryGetValue(Names.Rows, out var rows)
            && values.TryGetValue(Names.Positives, out var positives)
            ? new ModelMetrics(auc, logLoss, ne, calibration, (long)rows, (long)positives)
            : null;
    }
}
