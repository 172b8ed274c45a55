using System.Collections.Concurrent;

namespace CtrFallback.Training;

/// <summary>
/// A family of models that learns from the raw fields instead of the hashed features: numerics as numbers (NaN when
/// missing), categoricals as codes of a per-field vocabulary that Core learns from the training rows and keeps in the
/// artifact, the schema's timestamp as hour and day. Contributed by an optional package (CtrFallback.LightGbm's
/// gradient-boosted trees), so Core itself carries no tree library.
/// </summary>
/// <remarks>
/// Core does the reading, the time-ordered holdout, the vocabulary, the champion's scores, the evaluation and the
/// artifact; a family only fits a model to a table of numbers and scores rows of that table. Implementations must be
/// thread-safe.
/// </remarks>
public interface IRawFieldModelFamily
{
    /// <summary>The trainer this family is; written to the artifact, so serving finds the family again.</summary>
    CtrTrainerKind Trainer { get; }

    /// <summary>Fits a model to the training rows of <paramref name="table"/>.</summary>
    /// <param name="table">The featurized click log; its training rows exclude the holdout the gate judges.</param>
    /// <param name="options">The training options (seed, threads, iterations).</param>
    /// <param name="cancellationToken">Cancels the fit.</param>
    /// <returns>The model as ML.NET saves it (the artifact's <c>model.zip</c>), with the settings used.</returns>
    RawFieldModel Train(RawFieldTable table, TrainingOptions options, CancellationToken cancellationToken);

    /// <summary>Makes an allocation-free scorer of a model this family trained, from the ML.NET model loaded from its artifact.</summary>
    /// <param name="model">The artifact's ML.NET model.</param>
    /// <param name="features">The features of a row (<see cref="RawFieldTable.FeatureNames"/>), in table order.</param>
    /// <returns>A thread-safe scorer.</returns>
    IRawFieldScorer CreateScorer(Microsoft.ML.ITransformer model, IReadOnlyList<RawFieldFeature> features);
}

/// <summary>Scores one row of raw-field features; thread-safe and allocation-free.</summary>
public interface IRawFieldScorer
{
    /// <summary>The click probability of one row.</summary>
    /// <param name="features">The row's features in table order (categoricals as their codes).</param>
    /// <returns>The probability, before any negative-sampling correction.</returns>
    float Predict(ReadOnlySpan<float> features);
}

/// <summary>One feature of a raw-field table.</summary>
/// <param name="Name">The field name (<c>@hour</c> and <c>@day</c> for the timestamp's features).</param>
/// <param name="Levels">0 for a numeric feature; for a categorical one the number of codes (0 = rare or unseen, 1 = empty, then the vocabulary).</param>
public sealed record RawFieldFeature(string Name, int Levels)
{
    /// <summary>Whether the feature holds vocabulary codes.</summary>
    public bool IsCategorical => Levels > 0;
}

/// <summary>A click log as a row-major table of raw-field features, with labels and the rows to train on.</summary>
public sealed class RawFieldTable
{
    /// <summary>The features of every row, in order.</summary>
    public required IReadOnlyList<RawFieldFeature> Features { get; init; }

    /// <summary>Row-major values: row r's features are <c>Values[(r * Features.Count)..((r + 1) * Features.Count)]</c>.</summary>
    public required ReadOnlyMemory<float> Values { get; init; }

    /// <summary>Every row's label (clicked or not).</summary>
    public required ReadOnlyMemory<bool> Labels { get; init; }

    /// <summary>The rows to train on, in time order (oldest first): never the holdout.</summary>
    public required ReadOnlyMemory<int> TrainingRows { get; init; }

    /// <summary>The names of <see cref="Features"/>, for reports.</summary>
    public IEnumerable<string> FeatureNames => Features.Select(f => f.Name);

    /// <summary>One row's features.</summary>
    /// <param name="row">The row.</param>
    /// <returns>Its values.</returns>
    public ReadOnlySpan<float> Row(int row) => Values.Span.Slice(row * Features.Count, Features.Count);
}

/// <summary>A fitted raw-field model.</summary>
/// <param name="Model">The ML.NET model (a transformer over a <c>Features</c> vector) as ML.NET saves it.</param>
/// <param name="Parameters">The settings used, as registered with the version.</param>
public sealed record RawFieldModel(byte[] Model, IReadOnlyDictionary<string, string> Parameters);

/// <summary>
/// The raw-field model families this process can train and serve. A family's package registers itself (for example
/// <c>UseLightGbmTrainer()</c>). Process-wide, like <see cref="System.Text.Encoding.RegisterProvider"/>, because artifacts
/// are also loaded where no container is at hand (<see cref="Serving.ClickLogScoring"/>).
/// </summary>
public static class RawFieldModelFamilies
{
    private static readonly ConcurrentDictionary<CtrTrainerKind, IRawFieldModelFamily> Families = new();

    /// <summary>Registers a family; a later registration for the same trainer replaces it.</summary>
    /// <param name="family">The family.</param>
    public static void Register(IRawFieldModelFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        Families[family.Trainer] = family;
    }

    /// <summary>Finds the family of a trainer.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="family">The family, when registered.</param>
    /// <returns>Whether it is registered.</returns>
    public static bool TryGet(CtrTrainerKind trainer, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IRawFieldModelFamily? family) =>
        Families.TryGetValue(trainer, out family);

    /// <summary>The family of a trainer, or an error that names the package to add.</summary>
    internal static IRawFieldModelFamily Require(CtrTrainerKind trainer) =>
        TryGet(trainer, out var family)
            ? family
            : throw new InvalidOperationException(
                $"The {trainer} trainer lives in the CtrFallback.{trainer} package: reference it and call Use{trainer}Trainer() on the CtrFallback builder (Training:Trainer is {trainer}, or the model artifact was trained with it).");

    /// <summary>Whether a trainer learns from the raw fields (as opposed to Core's own hashed linear models).</summary>
    internal static bool IsRawField(CtrTrainerKind trainer) => trainer == CtrTrainerKind.LightGbm;
}
