using System.ComponentModel.DataAnnotations;

namespace CtrFallback;

/// <summary>Which ML.NET trainer fits the model.</summary>
public enum CtrTrainerKind
{
    /// <summary>Logistic regression by stochastic dual coordinate ascent: fast and well calibrated on hashed features (the default).</summary>
    Sdca,

    /// <summary>Logistic regression by Hogwild stochastic gradient descent, multi-threaded.</summary>
    Sgd,

    /// <summary>Gradient-boosted trees (LightGBM); slower to train and to score over large hashed spaces.</summary>
    LightGbm,
}

/// <summary>How a model is trained and evaluated.</summary>
public sealed class TrainingOptions
{
    /// <summary>The trainer.</summary>
    /// <value>The default is <see cref="CtrTrainerKind.Sdca"/>.</value>
    public CtrTrainerKind Trainer { get; set; } = CtrTrainerKind.Sdca;

    /// <summary>Share of the most recent rows held out for evaluation.</summary>
    /// <value>The default is 0.1.</value>
    [Range(0.001, 0.9)]
    public double HoldoutFraction { get; set; } = 0.1;

    /// <summary>The run fails when more than this share of rows is malformed.</summary>
    /// <value>The default is 0.001 (0.1%).</value>
    [Range(0.0, 1.0)]
    public double MaxMalformedFraction { get; set; } = 0.001;

    /// <summary>Share of training negatives kept (negative downsampling); predictions are corrected for it.</summary>
    /// <value>The default is 1 (keep all).</value>
    [Range(0.001, 1.0)]
    public double NegativeSampleRate { get; set; } = 1;

    /// <summary>L2 regularization of the logistic regression (per-row loss plus L2 / 2 times the squared weights).</summary>
    /// <value>
    /// The default is <see langword="null"/>: 10 divided by the training rows, the equivalent of scikit-learn's C = 0.1
    /// (1.1e-5 for 900k rows, measured best there; smaller logs need the stronger pull, or rare ids overfit).
    /// </value>
    [Range(0.0, 10.0)]
    public float? L2Regularization { get; set; }

    /// <summary>Passes over the training data (SDCA and SGD) or boosting rounds (LightGBM).</summary>
    /// <value>The default is 0: the trainer's measured default (SDCA at most 30, stopping earlier at <see cref="ConvergenceTolerance"/>; SGD 5; LightGBM 100).</value>
    [Range(0, 10_000)]
    public int Iterations { get; set; }

    /// <summary>SDCA stops when the duality gap falls below this share of the loss.</summary>
    /// <value>
    /// The default is 0.03, measured: ML.NET's own 0.1 stops after a few passes with a biased intercept (150k rows:
    /// calibration 1.24; 1M rows: AUC 0.7717), while 0.03 gives calibration 1.00-1.06 and AUC 0.7737 on 1M rows in
    /// 10 passes; 0.001 gains nothing more and takes twice as long.
    /// </value>
    [Range(1e-7, 1.0)]
    public double ConvergenceTolerance { get; set; } = 0.03;

    /// <summary>Training threads.</summary>
    /// <value>The default is 0: one per core.</value>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>
    /// Training rows are cached in memory, for shuffled passes, when their estimated size is at most this many bytes;
    /// a larger log streams from a temporary file in one fixed shuffled order, so memory stays bounded.
    /// </summary>
    /// <value>The default is 4 GiB (about 8 million Criteo rows).</value>
    [Range(0L, long.MaxValue)]
    public long MaxInMemoryTrainingBytes { get; set; } = 4L << 30;

    /// <summary>Seed for the trainer's randomness.</summary>
    /// <value>The default is 1.</value>
    public int Seed { get; set; } = 1;
}
