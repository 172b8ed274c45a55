using CtrFallback.Data;

namespace CtrFallback.Training;

/// <summary>
/// Chooses a schema's crosses and hash width from evidence in the training rows (<c>Training:Features = Auto</c>).
/// A seam, as <see cref="IRawFieldModelFamily"/> is for trees: the search lives in CtrFallback.Analysis, beside the
/// analysis it shares its code with, so a DSP that only serves does not carry it.
/// </summary>
/// <remarks>
/// The trainer shows the search every row as it featurizes the log for training (one read of the files serves both),
/// and asks for the result once the holdout is known: the search keeps what it needs (a sample) and must look at the
/// training rows only.
/// </remarks>
public interface IFeatureSearch
{
    /// <summary>Starts a search over one run's rows.</summary>
    /// <param name="schema">The input schema: its fields are kept, its crosses kept and added to.</param>
    /// <returns>The search, to be shown every row and then completed once.</returns>
    IFeatureSearchRun Start(ClickLogSchema schema);
}

/// <summary>One feature search in progress: it sees every well-formed row in file order, then chooses.</summary>
public interface IFeatureSearchRun
{
    /// <summary>Shows the search one row as training reads it.</summary>
    /// <param name="row">The row's number among the well-formed rows, from 0 in file order.</param>
    /// <param name="label">Whether it was clicked.</param>
    /// <param name="categoricalHashes">The featurizer's 32-bit hash of each categorical field's value, in schema order (an empty value has a hash of its own).</param>
    void Add(long row, bool label, ReadOnlySpan<uint> categoricalHashes);

    /// <summary>Chooses the schema from the training rows seen.</summary>
    /// <param name="isTrainingRow">Whether a row is a training row; the search must use no other.</param>
    /// <param name="trainingFeatures">Distinct hashed features of the training rows with the input schema (the collision estimate's input).</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The chosen schema and what it was chosen on, as registered parameters.</returns>
    FeatureSearchResult Complete(Func<long, bool> isTrainingRow, long trainingFeatures, CancellationToken cancellationToken);
}

/// <summary>What a feature search chose.</summary>
/// <param name="Schema">The schema to train with.</param>
/// <param name="Parameters">What was chosen and on what evidence, added to the registered parameters (keys start with <c>features.</c>).</param>
public sealed record FeatureSearchResult(ClickLogSchema Schema, IReadOnlyDictionary<string, string> Parameters);
