using System.ComponentModel.DataAnnotations;

namespace CtrFallback.Training;

/// <summary>Which ML.NET trainer fits the model.</summary>
public enum CtrTrainerKind
{
    /// <summary>Logistic regression by stochastic dual coordinate ascent: fast and well calibrated on hashed features (the default).</summary>
    Sdca,

    /// <summary>Logistic regression by Hogwild stochastic gradient descent, multi-threaded.</summary>
    Sgd,

    /// <summary>
    /// Gradient-boosted trees (LightGBM) on the raw fields: numerics as numbers, categoricals through a per-field
    /// vocabulary (<see cref="TrainingOptions.VocabularyMinCount"/>). Lives in the CtrFallback.LightGbm package
    /// (<c>UseLightGbmTrainer()</c>).
    /// </summary>
    LightGbm,
}

/// <summary>Where a hashed model's crosses and hash width come from.</summary>
public enum FeatureSelection
{
    /// <summary>The schema's own crosses and hash bits.</summary>
    Schema,

    /// <summary>
    /// The schema plus the pairwise crosses with significant held-out gain and the hash bits the collision estimate
    /// asks for, found by an <see cref="IFeatureSearch"/> on the training rows only (never the holdout the gate judges).
    /// The CtrFallback.Analysis package provides it (<c>UseFeatureSearch()</c>).
    /// </summary>
    Auto,
}

/// <summary>How a model is trained and evaluated.</summary>
public sealed class TrainingOptions
{
    /// <summary>The trainer.</summary>
    /// <value>The default is <see cref="CtrTrainerKind.Sdca"/>.</value>
    public CtrTrainerKind Trainer { get; set; } = CtrTrainerKind.Sdca;

    /// <summary>Where the crosses and hash width come from (hashed linear trainers).</summary>
    /// <value>The default is <see cref="FeatureSelection.Schema"/>.</value>
    public FeatureSelection Features { get; set; } = FeatureSelection.Schema;

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

    /// <summary>Passes over the training data (SDCA and SGD) or the most boosting rounds (LightGBM).</summary>
    /// <value>
    /// The default is 0: the trainer's own stopping rule. SDCA runs until its relative duality gap is below
    /// <see cref="ConvergenceTolerance"/>, at most 100 passes, and reports the passes it ran; SGD runs 5; LightGBM its
    /// package's default rounds, stopping early on a slice of the training rows.
    /// </value>
    [Range(0, 10_000)]
    public int Iterations { get; set; }

    /// <summary>SDCA stops when its duality gap falls below this share of the primal loss.</summary>
    /// <value>
    /// The default is 0.04, measured with checks every 5 passes: 10 passes on the neutral 200k- and 1M-row logs, holdout
    /// AUC 0.7610 and 0.7739 (scikit-learn 0.7616 and 0.7734); 0.03 takes 15 passes on the 1M log for the same AUC.
    /// ML.NET's own 0.1 stops after a few passes at AUC 0.770. The intercept is refitted exactly afterwards (see the
    /// trainer), so calibration does not depend on how tight this is.
    /// </value>
    [Range(1e-7, 1.0)]
    public double ConvergenceTolerance { get; set; } = 0.04;

    /// <summary>Training threads.</summary>
    /// <value>
    /// The default is 0: one thread, which makes the result deterministic (the same log, schema and options give the
    /// same weights, bit for bit). ML.NET's SDCA and SGD run more threads as concurrent lock-free passes whose result
    /// depends on thread timing, so a gate verdict could too.
    /// </value>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>
    /// Memory budget for the featurized log. A featurized log up to this size is memory-mapped whole and every training
    /// pass visits its rows in a fresh random order; a larger one is visited a window of this size at a time (windows
    /// and the rows within each in a fresh random order every pass), each window's pages released after it, so memory
    /// stays bounded by this budget.
    /// </summary>
    /// <value>The default is 4 GiB (about 18 million Criteo rows of 233 bytes).</value>
    [Range(1L << 20, long.MaxValue)]
    public long MaxInMemoryTrainingBytes { get; set; } = 4L << 30;

    /// <summary>SDCA checks its convergence criterion after every this many passes (each check costs one more pass).</summary>
    /// <value>The default is 5: a check costs about as much as a pass, and a 1M-row log needs about 10 passes.</value>
    [Range(1, 1000)]
    public int ConvergenceCheckFrequency { get; set; } = 5;

    /// <summary>Folder for the training batch's temporary featurized log (removed when the run ends, however it ends).</summary>
    /// <value>The default is <see langword="null"/>: the system temp folder.</value>
    public string? TempDirectory { get; set; }

    /// <summary>SDCA's pass limit when <see cref="Iterations"/> is 0; the fit normally stops earlier, at <see cref="ConvergenceTolerance"/>.</summary>
    internal const int DefaultSdcaMaximumIterations = 100;

    /// <summary>
    /// Raw-field trainers (LightGBM): a categorical value gets its own code when seen at least this many times in the
    /// training rows; rarer values share one "rare" code, and the empty value has its own.
    /// </summary>
    /// <value>
    /// The default is 100, measured with LightGBM on the neutral 1M log: 20 (the XGBoost peer's setting) keeps up to 18k
    /// values a field and every boosting round sorts them, 4 minutes for AUC 0.758; 100 keeps up to ~1.3k, AUC 0.751 in 29 s;
    /// 1000 loses signal (AUC 0.745).
    /// </value>
    [Range(1, int.MaxValue)]
    public int VocabularyMinCount { get; set; } = 100;

    /// <summary>
    /// Train on the most recent partitions only: a number of days or hours (<c>7d</c>, <c>36h</c>) counted back from the
    /// end of the newest Hive-style partition (<c>dt=YYYY-MM-DD</c>, optionally <c>hour=HH</c>) among the files given.
    /// When no file is in a partition and the schema has a timestamp, the rows whose timestamp is later than the newest
    /// timestamp of the data less the window (found by a reading pass of its own).
    /// </summary>
    /// <value>The default is <see langword="null"/>: every file given.</value>
    [RegularExpression(@"^\s*[1-9][0-9]*[dDhH]\s*$", ErrorMessage = "Training:Window must be a positive number of days or hours such as '7d' or '36h'.")]
    public string? Window { get; set; }

    /// <summary>Seed for the trainer's randomness.</summary>
    /// <value>The default is 1.</value>
    public int Seed { get; set; } = 1;
}
