using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CtrFallback.Serving;

/// <summary>
/// The in-process <see cref="ICtrPredictor"/>: scores on the caller's thread with the model the champion follower last
/// swapped in. The model is one volatile reference, so a swap is atomic and an in-flight prediction finishes on the
/// model it started with.
/// </summary>
internal sealed class ChampionPredictor : ICtrPredictor, IAliasFollowerTarget, IDisposable
{
    private volatile ServingState? _state;
    private volatile FeatureSchema? _layout;

    private readonly ServingDriftOptions _drift;

    public ChampionPredictor(IMeterFactory? meterFactory = null, ServingDriftOptions? drift = null)
    {
        _drift = drift ?? new ServingDriftOptions();
        Metrics = new ServingMetrics(meterFactory, () => CurrentModel, () => Drift);
    }

    public ServingMetrics Metrics { get; }

    public bool IsReady => _state is not null;

    public ServingModelInfo? CurrentModel => _state?.Info;

    /// <summary>
    /// The layout of the first model served. Later models must have the same fields (the follower checks), so an
    /// impression built from this schema stays valid across swaps.
    /// </summary>
    public FeatureSchema? Schema => _layout;

    internal CtrModel? CurrentCtrModel => _state?.Model;

    /// <summary>The served version's drift over its current window; <see langword="null"/> when off or its artifact has no training profile.</summary>
    public ServingDrift? Drift => _state?.Drift?.Snapshot();

    /// <summary>Empties the served version's drift window.</summary>
    public void RestartDriftWindow() => _state?.Drift?.Clear();

    public CtrPrediction Predict(Impression impression)
    {
        // Hot path: one volatile read, the hand-written featurize + dot product, a striped counter; no allocation.
        ArgumentNullException.ThrowIfNull(impression);
        var state = _state ?? throw new ModelNotReadyException();
        EnsureLayout(impression.Schema, state);
        var ctr = Score(state, impression);
        Metrics.CountPredictions(1);
        return new CtrPrediction(ctr, state.Label);
    }

    public bool TryPredict(Impression impression, out CtrPrediction prediction)
    {
        ArgumentNullException.ThrowIfNull(impression);
        var state = _state;
        if (state is null)
        {
            prediction = default;
            return false;
        }

        EnsureLayout(impression.Schema, state);
        prediction = new CtrPrediction(Score(state, impression), state.Label);
        Metrics.CountPredictions(1);
        return true;
    }

    public string PredictCandidates(Impression context, ReadOnlySpan<Impression> candidates, Span<float> ctrs)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (ctrs.Length < candidates.Length)
        {
            throw new ArgumentException($"ctrs has room for {ctrs.Length} probabilities; {candidates.Length} candidates were given.", nameof(ctrs));
        }

        var state = _state ?? throw new ModelNotReadyException();
        EnsureLayout(context.Schema, state);
        var model = state.Model;
        var hasher = model.Hasher;
        var drift = state.Drift;

        // Hot path: context hashes once per call, spans on the stack, no allocation.
        Span<uint> contextHashes = stackalloc uint[hasher.CategoricalCount];
        Span<uint> hashes = stackalloc uint[hasher.CategoricalCount];
        Span<double> numeric = stackalloc double[hasher.NumericCount];
        var contextCategorical = context.Categorical;
        var contextNumeric = context.Numeric;
        for (var i = 0; i < contextHashes.Length; i++)
        {
            contextHashes[i] = hasher.HashCategorical(i, contextCategorical[i]);
        }

        for (var c = 0; c < candidates.Length; c++)
        {
            var candidate = candidates[c] ?? throw new ArgumentException($"Candidate {c} is null.", nameof(candidates));
            EnsureLayout(candidate.Schema, state);
            var categorical = candidate.Categorical;
            for (var i = 0; i < hashes.Length; i++)
            {
                hashes[i] = candidate.IsCategoricalSet(i) ? hasher.HashCategorical(i, categorical[i]) : contextHashes[i];
            }

            var values = candidate.Numeric;
            for (var i = 0; i < numeric.Length; i++)
            {
                numeric[i] = candidate.IsNumericSet(i) ? values[i] : contextNumeric[i];
            }

            var timestamp = candidate.IsTimestampSet ? candidate.Timestamp : context.Timestamp;
            ctrs[c] = model.Predict(numeric, hashes, timestamp);
            if (drift is not null && drift.ShouldSample())
            {
                drift.Observe(numeric, hashes, ctrs[c]);
            }
        }

        Metrics.CountPredictions(candidates.Length);
        return state.Label;
    }

    /// <summary>Swaps in a loaded, warmed model; returns the one it replaced (which in-flight predictions may still be using).</summary>
    internal CtrModel? Publish(CtrModel model, ModelVersion version, DateTimeOffset loadedAt)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(version);
        _layout ??= model.Schema;
        // Each version gets a window of its own: a reload starts drift afresh.
        var drift = _drift.Enabled && model.Metadata.Profile is { } profile ? new DriftMonitor(profile, model.Hasher, version, _drift) : null;
        var previous = Interlocked.Exchange(ref _state, new ServingState(model, new ServingModelInfo(version, loadedAt), drift));
        return previous?.Model;
    }

    ModelVersion? IAliasFollowerTarget.CurrentVersion => CurrentModel?.Version;

    FeatureSchema? IAliasFollowerTarget.Layout => Schema;

    CtrModel? IAliasFollowerTarget.Publish(CtrModel model, ModelVersion version, DateTimeOffset loadedAt) => Publish(model, version, loadedAt);

    void IAliasFollowerTarget.Reloaded() => Metrics.Reloaded();

    void IAliasFollowerTarget.ReloadFailed(string reason) => Metrics.ReloadFailed(reason);

    public void Dispose() => Metrics.Dispose();

    private void EnsureLayout(FeatureSchema schema, ServingState state)
    {
        if (!ReferenceEquals(schema, _layout) && !ReferenceEquals(schema, state.Model.Schema) && !SchemaLayout.SameFields(schema, state.Model.Schema))
        {
            ThrowLayoutMismatch(schema, state.Model.Schema);
        }
    }

    /// <summary>One impression's score; one in <see cref="ServingDriftOptions.SampleEvery"/> is also shown to drift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Score(ServingState state, Impression impression) =>
        state.Drift is { } drift && drift.ShouldSample() ? PredictSampled(state.Model, drift, impression) : state.Model.Predict(impression);

    /// <summary>A prediction sampled for drift: the same score as <see cref="CtrModel.Predict(Impression)"/>, whose hashes drift reuses.</summary>
    private static float PredictSampled(CtrModel model, DriftMonitor drift, Impression impression)
    {
        Span<uint> hashes = stackalloc uint[model.Hasher.CategoricalCount];
        model.HashCategorical(impression, hashes);
        var ctr = model.Predict(impression.Numeric, hashes, impression.Timestamp);
        drift.Observe(impression.Numeric, hashes, ctr);
        return ctr;
    }

    [DoesNotReturn]
    private static void ThrowLayoutMismatch(FeatureSchema actual, FeatureSchema expected) =>
        throw new ArgumentException($"The impression is laid out for another schema ({SchemaLayout.Difference(expected, actual)}); build impressions from ICtrPredictor.Schema.", "impression");

    /// <summary>What one swap publishes; the label is built once here, so predictions do not allocate it.</summary>
    private sealed class ServingState(CtrModel model, ServingModelInfo info, DriftMonitor? drift)
    {
        public DriftMonitor? Drift { get; } = drift;

        public CtrModel Model { get; } = model;

        public ServingModelInfo Info { get; } = info;

        public string Label { get; } = info.Label;
    }
}
