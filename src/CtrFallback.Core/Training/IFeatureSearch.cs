using CtrFallback.Data;

namespace CtrFallback.Training;

/// <summary>
/// Chooses a schema's crosses and hash width from evidence in the training rows (<c>Training:Features = Auto</c>).
/// A seam, as <see cref="IRawFieldModelFamily"/> is for trees: the search lives in CtrFallback.Analysis, beside the
/// analysis it shares its code with, so a DSP that only serves does not carry it.
/// </summary>
public interface IFeatureSearch
{
    /// <summary>Reads the files, looks only at the training rows, and returns the schema to train with.</summary>
    /// <param name="schema">The input schema: its fields are kept, its crosses kept and added to.</param>
    /// <param name="files">The click-log files, in time order.</param>
    /// <param name="isTrainingRow">Whether a well-formed row (numbered from 0 in file order) is a training row; the search must use no other.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The chosen schema and what it was chosen on, as registered parameters.</returns>
    FeatureSearchResult Search(ClickLogSchema schema, IReadOnlyList<string> files, Func<long, bool> isTrainingRow, CancellationToken cancellationToken);
}

/// <summary>What a feature search chose.</summary>
/// <param name="Schema">The schema to train with.</param>
/// <param name="Parameters">What was chosen and on what evidence, added to the registered parameters (keys start with <c>features.</c>).</param>
public sealed record FeatureSearchResult(ClickLogSchema Schema, IReadOnlyDictionary<string, string> Parameters);
