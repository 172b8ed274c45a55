namespace CtrFallback;

/// <summary>
/// Scores impressions with the serving model, in-process, on the caller's thread. Thread-safe; allocation-free per call.
/// </summary>
public interface ICtrPredictor
{
    /// <summary><see langword="true"/> once a model is loaded.</summary>
    bool IsReady { get; }

    /// <summary>The model currently serving, or <see langword="null"/> before the first one is loaded.</summary>
    ServingModelInfo? CurrentModel { get; }

    /// <summary>The schema of the model currently serving, to lay out impressions; <see langword="null"/> before the first load.</summary>
    FeatureSchema? Schema { get; }

    /// <summary>Predicts the click probability of one impression.</summary>
    /// <param name="impression">The impression, laid out by the serving model's <see cref="Schema"/>.</param>
    /// <returns>The probability and the version of the model that produced it.</returns>
    /// <exception cref="ModelNotReadyException">No model is loaded yet.</exception>
    CtrPrediction Predict(Impression impression);

    /// <summary>Predicts the click probability of one impression, or returns <see langword="false"/> when no model is loaded yet.</summary>
    /// <param name="impression">The impression.</param>
    /// <param name="prediction">The prediction, when one was made.</param>
    bool TryPredict(Impression impression, out CtrPrediction prediction);

    /// <summary>
    /// Scores candidate ads that share one request context (the fallback case: pick the best of N ads for a slot).
    /// A field a candidate leaves unset takes the context's value; context-only features are computed once.
    /// </summary>
    /// <param name="context">The request's fields (site, device, time, …).</param>
    /// <param name="candidates">One impression per candidate ad with the ad's own fields set.</param>
    /// <param name="ctrs">Receives one probability per candidate; at least as long as <paramref name="candidates"/>.</param>
    /// <returns>The version label of the model that scored them all.</returns>
    /// <exception cref="ModelNotReadyException">No model is loaded yet.</exception>
    string PredictCandidates(Impression context, ReadOnlySpan<Impression> candidates, Span<float> ctrs);
}

/// <summary>A predicted click probability and the model version that produced it.</summary>
/// <param name="Ctr">The probability of a click, in [0, 1].</param>
/// <param name="ModelVersion">The producing model's label, for example <c>ctr/3</c>.</param>
public readonly record struct CtrPrediction(float Ctr, string ModelVersion);

/// <summary>What is known about the model serving now.</summary>
/// <param name="Version">The registered version, as listed by the store.</param>
/// <param name="LoadedAt">When it was loaded into this process.</param>
public sealed record ServingModelInfo(ModelVersion Version, DateTimeOffset LoadedAt)
{
    /// <summary>The label reported with predictions, for example <c>ctr/3</c>.</summary>
    public string Label => Version.Label;
}

/// <summary>Prediction was asked for before any model was loaded.</summary>
public sealed class ModelNotReadyException : InvalidOperationException
{
    /// <summary>Creates the exception with the default message.</summary>
    public ModelNotReadyException()
        : base("No CTR model is loaded yet: the champion has not been found or loaded. Check readiness (ICtrPredictor.IsReady) or use TryPredict.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public ModelNotReadyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public ModelNotReadyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
