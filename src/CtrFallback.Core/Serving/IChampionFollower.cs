namespace CtrFallback.Serving;

/// <summary>
/// Keeps the in-process predictor on the model store's champion: polls the alias, downloads, verifies, loads,
/// warms and swaps. A failed reload leaves the serving model in place.
/// </summary>
public interface IChampionFollower
{
    /// <summary>Checks the alias now (instead of waiting for the next poll) and swaps in its version when it is new and sound.</summary>
    /// <param name="cancellationToken">Cancels the check; the serving model is left as it was.</param>
    /// <returns>What the check did.</returns>
    Task<ChampionReloadResult> ReloadAsync(CancellationToken cancellationToken = default);

    /// <summary>The version served regardless of the alias (<see cref="ServingOptions.Version"/>), or <see langword="null"/> when the alias is followed.</summary>
    int? PinnedVersion { get; }

    /// <summary>Counts since start: impressions scored, versions swapped in, failed checks. The same figures are on the meter.</summary>
    ChampionServingStatistics Statistics { get; }

    /// <summary>
    /// The served version's live drift against its training profile over the current window (<c>CtrFallback:Serving:Drift</c>);
    /// <see langword="null"/> when nothing is served, drift is off, or the version's artifact has no profile (older artifacts).
    /// </summary>
    ServingDrift? Drift => null;

    /// <summary>Empties the served version's drift window, so impressions that were not traffic (a request warm-up) do not count.</summary>
    void RestartDriftWindow()
    {
    }
}

/// <summary>What the in-process predictor has done since the process started.</summary>
/// <param name="Predictions">Impressions scored.</param>
/// <param name="Reloads">Champion versions loaded and swapped in.</param>
/// <param name="FailedReloads">Checks or loads that failed; the serving model (if any) kept serving.</param>
public sealed record ChampionServingStatistics(long Predictions, long Reloads, long FailedReloads);

/// <summary>What one check of the champion alias did.</summary>
/// <param name="Outcome">The outcome.</param>
/// <param name="Version">The version the alias pointed to, when the store answered.</param>
/// <param name="Message">A sentence a person can read: why a version was rejected, or what was loaded.</param>
public sealed record ChampionReloadResult(ChampionReloadOutcome Outcome, ModelVersion? Version, string Message);

/// <summary>The outcome of a champion check.</summary>
public enum ChampionReloadOutcome
{
    /// <summary>A new version was loaded, warmed and swapped in.</summary>
    Loaded,

    /// <summary>The alias still points at the version being served.</summary>
    Unchanged,

    /// <summary>The model or its alias does not exist yet.</summary>
    NoChampion,

    /// <summary>The alias points at a version rejected before (corrupt, checksum or schema); it is not tried again until the alias moves.</summary>
    PreviouslyRejected,

    /// <summary>The check or the load failed; the serving model (if any) keeps serving.</summary>
    Failed,
}
