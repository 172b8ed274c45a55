using System.ComponentModel.DataAnnotations;

namespace CtrFallback.LightGbm;

/// <summary>How the LightGBM trainer grows its trees (bound from <c>CtrFallback:LightGbm</c> by the CLI and workers).</summary>
/// <remarks>Defaults were measured on the neutral 1M-row log (benchmarks/train/README.md).</remarks>
public sealed class LightGbmTrainerOptions
{
    /// <summary>Leaves per tree.</summary>
    /// <value>The default is 63.</value>
    [Range(2, 131_072)]
    public int NumberOfLeaves { get; set; } = 63;

    /// <summary>Shrinkage applied to every tree.</summary>
    /// <value>
    /// The default is 0.2: on the neutral 1M log early stopping ends at about 65 rounds (AUC 0.751, 29 s end to end); 0.1
    /// needs about 140 rounds for a similar AUC and more than twice the time.
    /// </value>
    [Range(1e-4, 1.0)]
    public double LearningRate { get; set; } = 0.2;

    /// <summary>The most boosting rounds; early stopping usually ends the fit sooner. <c>Training:Iterations</c>, when set, overrides it.</summary>
    /// <value>The default is 500.</value>
    [Range(1, 100_000)]
    public int MaximumRounds { get; set; } = 500;

    /// <summary>The fewest training rows a leaf may hold.</summary>
    /// <value>The default is 100.</value>
    [Range(1, int.MaxValue)]
    public int MinimumExampleCountPerLeaf { get; set; } = 100;

    /// <summary>LightGBM's <c>cat_smooth</c>: pulls a category's gradient statistics towards the mean, so rare codes do not split alone.</summary>
    /// <value>The default is 10 (LightGBM's own).</value>
    [Range(0.0, 1e6)]
    public double CategoricalSmoothing { get; set; } = 10;

    /// <summary>Histogram bins per feature; a categorical feature keeps at most this many of its most frequent codes.</summary>
    /// <value>The default is 255.</value>
    [Range(4, 65_535)]
    public int MaximumBinCountPerFeature { get; set; } = 255;

    /// <summary>
    /// Share of the training rows, the most recent ones, held back to stop boosting early. Never the holdout the gate
    /// judges: that is cut off before this trainer sees the rows. 0 turns early stopping off.
    /// </summary>
    /// <value>The default is 0.1.</value>
    [Range(0.0, 0.5)]
    public double EarlyStoppingFraction { get; set; } = 0.1;

    /// <summary>Boosting stops after this many rounds without a better log loss on the early-stopping rows; the best round's trees are kept.</summary>
    /// <value>The default is 20.</value>
    [Range(1, 10_000)]
    public int EarlyStoppingRounds { get; set; } = 20;
}
