using System.ComponentModel.DataAnnotations;

namespace CtrFallback.Promotion;

/// <summary>The promotion gate's criteria: absolute thresholds, and how much a candidate may lose against the champion.</summary>
public sealed class PromotionGateOptions : IValidatableObject
{
    /// <summary>Minimum holdout AUC.</summary>
    /// <value>The default is 0.6.</value>
    [Range(0.0, 1.0)]
    public double MinAuc { get; set; } = 0.6;

    /// <summary>Maximum holdout normalized entropy (1 is no better than predicting the base rate).</summary>
    /// <value>The default is 0.99.</value>
    [Range(0.0, 10.0)]
    public double MaxNormalizedEntropy { get; set; } = 0.99;

    /// <summary>Lowest acceptable calibration (mean predicted CTR / observed CTR).</summary>
    /// <value>The default is 0.9.</value>
    [Range(0.0, 10.0)]
    public double MinCalibration { get; set; } = 0.9;

    /// <summary>Highest acceptable calibration.</summary>
    /// <value>The default is 1.1.</value>
    [Range(0.0, 10.0)]
    public double MaxCalibration { get; set; } = 1.1;

    /// <summary>Fewest holdout rows a verdict may rest on.</summary>
    /// <value>The default is 1,000.</value>
    [Range(0, long.MaxValue)]
    public long MinHoldoutRows { get; set; } = 1_000;

    /// <summary>Fewest clicks in the holdout a verdict may rest on.</summary>
    /// <value>The default is 50.</value>
    [Range(0, long.MaxValue)]
    public long MinHoldoutPositives { get; set; } = 50;

    /// <summary>How much AUC the candidate may lose against the champion on the same holdout.</summary>
    /// <value>The default is 0.002.</value>
    [Range(0.0, 1.0)]
    public double MaxAucLoss { get; set; } = 0.002;

    /// <summary>How much normalized entropy the candidate may gain (worsen) against the champion on the same holdout.</summary>
    /// <value>The default is 0.002.</value>
    [Range(0.0, 10.0)]
    public double MaxNormalizedEntropyIncrease { get; set; } = 0.002;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinCalibration > MaxCalibration)
        {
            yield return new ValidationResult(
                $"MinCalibration ({MinCalibration}) must not exceed MaxCalibration ({MaxCalibration}).",
                [nameof(MinCalibration), nameof(MaxCalibration)]);
        }
    }
}
