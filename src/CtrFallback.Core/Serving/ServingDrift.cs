namespace CtrFallback.Serving;

/// <summary>
/// The served version's live drift against its training profile, over the current window of sampled impressions. The
/// same figures are on the meter (<c>ctrfallback.serving.drift.*</c>).
/// </summary>
/// <param name="ModelName">The served model's name.</param>
/// <param name="Version">The served version; a reload starts a fresh window.</param>
/// <param name="WindowImpressions">Sampled impressions in the window (at most <see cref="ServingDriftOptions.Window"/>).</param>
/// <param name="SampleEvery">One impression in this many is sampled.</param>
/// <param name="ScorePsi">Population stability index of the window's scores against the holdout's score bins (<see langword="null"/> while the window is empty); above 0.25 is commonly read as a shift.</param>
/// <param name="MeanPredictedCtr">The window's mean predicted CTR (<see langword="null"/> while the window is empty).</param>
/// <param name="TrainingMeanPredictedCtr">The holdout's mean predicted CTR.</param>
/// <param name="TrainingObservedCtr">The holdout's observed CTR.</param>
/// <param name="Fields">Per schema field: numeric fields, then categorical fields, in schema order.</param>
public sealed record ServingDrift(
    string ModelName,
    int Version,
    long WindowImpressions,
    int SampleEvery,
    double? ScorePsi,
    double? MeanPredictedCtr,
    double TrainingMeanPredictedCtr,
    double TrainingObservedCtr,
    IReadOnlyList<FieldDrift> Fields);

/// <summary>One field's live coverage against training.</summary>
/// <param name="Field">The field's name.</param>
/// <param name="MissingShare">The window's share of impressions without a value (<see langword="null"/> while the window is empty).</param>
/// <param name="TrainingMissingShare">The training rows' share without a value.</param>
/// <param name="UnseenShare">
/// For a categorical field, the share of the window's impressions with a value whose value is not among the training
/// profile's frequent values; <see langword="null"/> for a numeric field or while no impression in the window has the field.
/// </param>
/// <param name="TrainingUnseenShare">The same share in training (one minus the frequent values' coverage); <see langword="null"/> for a numeric field.</param>
public sealed record FieldDrift(string Field, double? MissingShare, double TrainingMissingShare, double? UnseenShare, double? TrainingUnseenShare)
{
    /// <summary>Live missing share minus training's (signed): 1 minus the training share when a field stopped arriving.</summary>
    public double? MissingShareChange => MissingShare - TrainingMissingShare;

    /// <summary>Live unseen-value share minus training's (signed); <see langword="null"/> for a numeric field or without evidence.</summary>
    public double? UnseenShareChange => UnseenShare - TrainingUnseenShare;
}
