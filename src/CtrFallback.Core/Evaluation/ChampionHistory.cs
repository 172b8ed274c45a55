using System.Globalization;

namespace CtrFallback.Evaluation;

/// <summary>
/// One training run as the champion's record shows it: the champion the run scored on its newest holdout, how it did
/// there, and how the candidate did on the same rows.
/// </summary>
/// <param name="Version">The version the run registered (runs are numbered by their versions).</param>
/// <param name="TrainedAt">When the version was registered.</param>
/// <param name="Holdout">The holdout the run scored, in words (its newest rows).</param>
/// <param name="Champion">The champion when the run trained, if there was one.</param>
/// <param name="ChampionMetrics">The champion's metrics on the run's holdout, when recorded (runs before this record existed have none).</param>
/// <param name="CandidateMetrics">The candidate's metrics on the same holdout.</param>
/// <param name="GatePassed">The gate's verdict on the candidate, if it was judged.</param>
public sealed record ChampionQualityRecord(
    int Version,
    DateTimeOffset TrainedAt,
    string? Holdout,
    int? Champion,
    ModelMetrics? ChampionMetrics,
    ModelMetrics? CandidateMetrics,
    bool? GatePassed);

/// <summary>
/// The champion's quality run after run, from the store's records alone: each training run scores the champion on
/// its newest holdout and records the result on the version it registers, so a champion that decays shows it before
/// a candidate replaces it. Works on any <see cref="IModelStore"/> (file store, MLflow).
/// </summary>
public static class ChampionHistory
{
    /// <summary>The prefix of the version tags that hold the champion's metrics on the run's holdout (<c>…auc</c>, <c>…normalizedEntropy</c>, …).</summary>
    public const string TagPrefix = "ctrfallback.championOnHoldout.";

    /// <summary>The tag recording which version was champion when the run trained (empty for none).</summary>
    public const string ChampionTag = "ctrfallback.championAtTraining";

    /// <summary>The tag describing the run's holdout.</summary>
    public const string HoldoutTag = "ctrfallback.holdout";

    /// <summary>The tags that record a champion's metrics on a run's holdout, as the training batch writes them.</summary>
    /// <param name="champion">The champion's metrics.</param>
    /// <returns>Tag names (<see cref="TagPrefix"/> + <see cref="ModelMetrics.Names"/>) and round-trip values.</returns>
    public static IReadOnlyDictionary<string, string> ToTags(ModelMetrics champion)
    {
        ArgumentNullException.ThrowIfNull(champion);
        return champion.ToDictionary().ToDictionary(m => TagPrefix + m.Key, m => m.Value.ToString("R", CultureInfo.InvariantCulture), StringComparer.Ordinal);
    }

    /// <summary>The champion's metrics a version's run recorded, or <see langword="null"/> when it recorded none.</summary>
    /// <param name="version">A registered version.</param>
    public static ModelMetrics? ChampionMetricsOf(ModelVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in version.Tags)
        {
            if (key.StartsWith(TagPrefix, StringComparison.Ordinal) &&
                double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                values[key[TagPrefix.Length..]] = number;
            }
        }

        return ModelMetrics.FromDictionary(values);
    }

    /// <summary>One record per version, oldest run first.</summary>
    /// <param name="versions">The model's versions.</param>
    public static IReadOnlyList<ChampionQualityRecord> From(IEnumerable<ModelVersion> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        return versions
            .OrderBy(v => v.Version)
            .Select(v => new ChampionQualityRecord(
                v.Version,
                v.CreatedAt,
                v.Tags.TryGetValue(HoldoutTag, out var holdout) && holdout.Length > 0 ? holdout : null,
                v.Tags.TryGetValue(ChampionTag, out var champion) && int.TryParse(champion, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null,
                ChampionMetricsOf(v),
                v.HoldoutMetrics,
                v.Gate?.Passed))
            .ToList();
    }

    /// <summary>Reads a model's versions from the store and returns its champion history, oldest run first.</summary>
    /// <param name="store">The model store.</param>
    /// <param name="modelName">The registered model.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static async Task<IReadOnlyList<ChampionQualityRecord>> ReadAsync(IModelStore store, string modelName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        return From(await store.ListVersionsAsync(modelName, cancellationToken).ConfigureAwait(false));
    }
}
