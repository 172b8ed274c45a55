using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using CtrFallback.Training;

namespace CtrFallback.Promotion;

/// <summary>Moves the champion alias by hand: promote a version, or roll back to the previous champion.</summary>
/// <remarks>
/// A move never half-happens: the version's promotion tags (<see cref="ModelTags.PreviousChampion"/>,
/// <see cref="ModelTags.PromotedAt"/>, <see cref="ModelTags.RolledBack"/>) are written first and the alias move is the
/// single commit point. When a store call fails before the alias has moved, the champion and its tags stay as they were
/// (a rollback's <see cref="ModelTags.RolledBack"/> mark on the champion is put back); the target may keep tags of a
/// promotion that never completed, which history ignores because rollback follows the current champion's
/// <see cref="ModelTags.PreviousChampion"/>. A failed alias call is checked by reading the alias back, so a move the
/// store committed before its answer was lost is reported as done.
/// <para>
/// Moves through one manager are serialized. A training promotion (<see cref="PromoteCandidateAsync"/>) is refused with a
/// <see cref="ChampionChangeException"/> when the champion is no longer the one its candidate was judged against (a
/// manual promote or rollback won the race): the gate's verdict holds only against the champion it compared. The
/// champion is re-read just before the alias moves; writers in other processes can still slip into that last round trip,
/// as the store has no compare-and-set.
/// </para>
/// </remarks>
public interface IChampionManager
{
    /// <summary>Points the champion alias at a version and triggers a rollout; promoting the current champion re-runs the trigger.</summary>
    /// <param name="version">The version to promote.</param>
    /// <param name="force">Promote even though the version failed the gate (or was never judged).</param>
    /// <param name="cancellationToken">Cancels the call before the alias moves.</param>
    /// <exception cref="ChampionChangeException">The version does not exist, or failed the gate and <paramref name="force"/> is off.</exception>
    /// <exception cref="ModelStoreException">A store call failed before the alias moved; the champion is unchanged.</exception>
    Task<ChampionChange> PromoteAsync(int version, bool force = false, CancellationToken cancellationToken = default);

    /// <summary>Moves the champion back to the version it replaced (its <see cref="ModelTags.PreviousChampion"/>), and triggers a rollout.</summary>
    /// <param name="cancellationToken">Cancels the call before the alias moves.</param>
    /// <exception cref="ChampionChangeException">There is no champion, or no earlier champion to go back to.</exception>
    /// <exception cref="ModelStoreException">A store call failed before the alias moved; the champion and its tags are unchanged.</exception>
    Task<ChampionChange> RollbackAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Points the champion alias at a candidate the training batch has just registered and the gate passed, and triggers
    /// a rollout. The store writes run to their end once started; only the trigger observes cancellation.
    /// </summary>
    /// <param name="previousChampion">The champion the candidate was judged against, if any.</param>
    /// <param name="version">The registered candidate.</param>
    /// <param name="cancellationToken">Cancels the wait for the rollout.</param>
    /// <exception cref="ChampionChangeException">
    /// The champion is no longer <paramref name="previousChampion"/> (it moved while the candidate was trained); the
    /// candidate stays registered, not promoted.
    /// </exception>
    /// <exception cref="ModelStoreException">A store call failed before the alias moved; the champion is unchanged.</exception>
    Task<ChampionChange> PromoteCandidateAsync(int? previousChampion, int version, CancellationToken cancellationToken = default);
}

/// <summary>A champion alias move and the rollout it triggered.</summary>
/// <param name="PreviousVersion">The champion before the move, if any.</param>
/// <param name="Version">The champion now.</param>
/// <param name="Deployment">The deployment trigger's result.</param>
public sealed record ChampionChange(int? PreviousVersion, ModelVersion Version, DeploymentResult Deployment)
{
    /// <summary>
    /// The rollback that followed when the deployment system aborted this move's rollout and asked the alias to follow
    /// (<see cref="DeploymentResult.RollbackRequested"/>); the champion is then <see cref="Rollback"/>'s version.
    /// </summary>
    /// <value>The default is <see langword="null"/>: no rollback followed.</value>
    public ChampionChange? Rollback { get; init; }
}

/// <summary>The champion cannot be changed as asked; the message says why.</summary>
public sealed class ChampionChangeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChampionChangeException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Why.</param>
    public ChampionChangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">Why.</param>
    /// <param name="innerException">The cause.</param>
    public ChampionChangeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Promotes and rolls back over the store's alias, recording each promotion on the version's tags.</summary>
internal sealed partial class ChampionManager(
    IModelStore store,
    IDeploymentTrigger trigger,
    IOptions<CtrFallbackOptions> options,
    TimeProvider timeProvider,
    TrainingTelemetry telemetry,
    ILogger<ChampionManager>? logger = null) : IChampionManager
{
    /// <summary>The <see cref="ModelTags.PreviousChampion"/> value of a version that replaced no champion.</summary>
    internal const string NoPreviousChampion = "none";

    private readonly ILogger _logger = logger ?? NullLogger<ChampionManager>.Instance;

    // One move at a time through this manager: reading the champion and moving the alias must not interleave with
    // another move, or the previous-champion tag would name a version that was not the one replaced. Never disposed:
    // without AvailableWaitHandle a SemaphoreSlim holds nothing that needs it.
    private readonly SemaphoreSlim _moves = new(1, 1);

    public async Task<ChampionChange> PromoteAsync(int version, bool force = false, CancellationToken cancellationToken = default)
    {
        var (model, alias) = (options.Value.ModelName, options.Value.ChampionAlias);
        var target = await store.GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false)
            ?? throw new ChampionChangeException($"{model} has no version {version}.");
        if (target.Gate is { Passed: false } && !force)
        {
            throw new ChampionChangeException(
                $"{model}/{version} failed the promotion gate ({string.Join("; ", target.Gate.Criteria.Where(c => !c.Passed).Select(c => c.Reason))}); promote it with force to override the gate.");
        }

        await _moves.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = await store.GetVersionByAliasAsync(model, alias, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return await MoveAsync(current, target, "promote", cancellationToken, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _moves.Release();
        }
    }

    public async Task<ChampionChange> RollbackAsync(CancellationToken cancellationToken = default)
    {
        await _moves.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RollbackLockedAsync(cancellationToken, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _moves.Release();
        }
    }

    /// <summary>The rollback itself, under <see cref="_moves"/>: the one path for a rollback by hand and one a trigger asked for.</summary>
    private async Task<ChampionChange> RollbackLockedAsync(CancellationToken beforeCommit, CancellationToken triggerCancellation)
    {
        var (model, alias) = (options.Value.ModelName, options.Value.ChampionAlias);
        var current = await store.GetVersionByAliasAsync(model, alias, beforeCommit).ConfigureAwait(false)
            ?? throw new ChampionChangeException($"{model} has no '{alias}' to roll back.");
        var versions = await store.ListVersionsAsync(model, beforeCommit).ConfigureAwait(false);
        var previous = PreviousChampionOf(current, versions)
            ?? throw new ChampionChangeException($"{model}/{current.Version} replaced no earlier champion: there is nothing to roll back to.");
        beforeCommit.ThrowIfCancellationRequested();
        return await MoveAsync(current, previous, "rollback", beforeCommit, triggerCancellation).ConfigureAwait(false);
    }

    public async Task<ChampionChange> PromoteCandidateAsync(int? previousChampion, int version, CancellationToken cancellationToken = default)
    {
        var (model, alias) = (options.Value.ModelName, options.Value.ChampionAlias);

        // The version is committed: the move runs to its end whatever the token says; only the trigger observes it.
        await _moves.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var target = await store.GetVersionAsync(model, version, CancellationToken.None).ConfigureAwait(false)
                ?? throw new ChampionChangeException($"{model} has no version {version}.");
            var current = await store.GetVersionByAliasAsync(model, alias, CancellationToken.None).ConfigureAwait(false);
            return await MoveAsync(current, target, "train", CancellationToken.None, cancellationToken, expected: previousChampion).ConfigureAwait(false);
        }
        finally
        {
            _moves.Release();
        }
    }

    /// <summary>
    /// The version the champion replaced, from its <see cref="ModelTags.PreviousChampion"/> tag. A champion promoted before
    /// that tag existed falls back to the most recently promoted other version that was not rolled back, among versions
    /// without the tag (a version carrying it that is not champion may be a promotion that never completed).
    /// </summary>
    private static ModelVersion? PreviousChampionOf(ModelVersion current, IReadOnlyList<ModelVersion> versions)
    {
        if (current.Tags.TryGetValue(ModelTags.PreviousChampion, out var recorded))
        {
            return int.TryParse(recorded, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number != current.Version
                ? versions.FirstOrDefault(v => v.Version == number)
                : null;
        }

        return versions
            .Where(v => v.Version != current.Version && !IsTrue(v.Tags, ModelTags.RolledBack) && !v.Tags.ContainsKey(ModelTags.PreviousChampion))
            .Select(v => (Version: v, PromotedAt: PromotedAt(v)))
            .Where(v => v.PromotedAt is not null)
            .OrderByDescending(v => v.PromotedAt)
            .ThenByDescending(v => v.Version.Version)
            .Select(v => v.Version)
            .FirstOrDefault();
    }

    private static DateTimeOffset? PromotedAt(ModelVersion version) =>
        version.Tags.TryGetValue(ModelTags.PromotedAt, out var at) && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;

    /// <summary>
    /// Moves the alias from <paramref name="current"/> to <paramref name="target"/>: tags first, then the alias (the commit
    /// point), then the trigger. Called under <see cref="_moves"/>.
    /// </summary>
    /// <param name="current">The champion now, if any.</param>
    /// <param name="target">The version to make champion.</param>
    /// <param name="kind">train, promote or rollback.</param>
    /// <param name="beforeCommit">Observed up to the alias move (and not after: a moved alias is always reported).</param>
    /// <param name="triggerCancellation">Cancels the wait for the rollout.</param>
    /// <param name="expected">For a training promotion, the champion the candidate was judged against.</param>
    private async Task<ChampionChange> MoveAsync(
        ModelVersion? current,
        ModelVersion target,
        string kind,
        CancellationToken beforeCommit,
        CancellationToken triggerCancellation,
        int? expected = null)
    {
        var (model, alias) = (options.Value.ModelName, options.Value.ChampionAlias);
        if (kind == "train")
        {
            EnsureChampionIs(expected, current?.Version, target.Version);
        }

        if (current?.Version == target.Version)
        {
            // Already champion: nothing to record or move; the rollout runs again (a failed one can be retried this way).
            var again = await TriggerAsync(new DeploymentRequest(model, target.Version, alias), triggerCancellation).ConfigureAwait(false);
            return new ChampionChange(current.Version, target, again);
        }

        // 1. Tags, before the alias: if any write fails, the champion has not moved. A rollback marks the champion it
        // leaves, and keeps its target's previous-champion tag so that a second rollback goes one step further back.
        // The previous-champion tag goes first: a version with promotedAt but without it would pass for one promoted
        // before the tag existed, which rollback's fallback trusts.
        var tags = new List<KeyValuePair<string, string>>(3);
        if (kind != "rollback")
        {
            tags.Add(new(ModelTags.PreviousChampion, current?.Version.ToString(CultureInfo.InvariantCulture) ?? NoPreviousChampion));
        }

        tags.Add(new(ModelTags.PromotedAt, timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)));
        tags.Add(new(ModelTags.RolledBack, "false"));

        var rolledBackBefore = current?.Tags.GetValueOrDefault(ModelTags.RolledBack);
        var markedRolledBack = false;
        try
        {
            foreach (var (key, value) in tags)
            {
                await store.SetVersionTagAsync(model, target.Version, key, value, beforeCommit).ConfigureAwait(false);
            }

            if (kind == "rollback")
            {
                markedRolledBack = true;
                await store.SetVersionTagAsync(model, current!.Version, ModelTags.RolledBack, "true", beforeCommit).ConfigureAwait(false);
            }

            // Re-read just before the commit: a writer elsewhere may have moved the alias since it was read.
            var now = await store.GetVersionByAliasAsync(model, alias, beforeCommit).ConfigureAwait(false);
            if (now?.Version != current?.Version)
            {
                throw new ChampionChangeException(
                    $"{model}'s '{alias}' moved from {Describe(current?.Version)} to {Describe(now?.Version)} while {model}/{target.Version} was being promoted ({kind}); nothing was moved. Look at the new champion, then try again.");
            }

            beforeCommit.ThrowIfCancellationRequested();
        }
        catch when (markedRolledBack)
        {
            await RestoreRolledBackAsync(model, current!.Version, rolledBackBefore).ConfigureAwait(false);
            throw;
        }

        // 2. The commit point.
        await SetAliasCheckedAsync(model, alias, target.Version, current, rolledBackBefore, kind).ConfigureAwait(false);
        telemetry.AliasMoves.Add(1, new KeyValuePair<string, object?>("kind", kind));
        LogMoved(_logger, model, alias, current?.Version, target.Version, kind);

        // 3. Reported from what was read and written: no store call after the commit can turn a done move into an error.
        var recorded = new Dictionary<string, string>(target.Tags, StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            recorded[key] = value;
        }

        var moved = target with { Tags = recorded, Aliases = [.. target.Aliases.Append(alias).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)] };
        var deployment = await TriggerAsync(new DeploymentRequest(model, target.Version, alias), triggerCancellation).ConfigureAwait(false);
        var change = new ChampionChange(current?.Version, moved, deployment);

        // The deployment system turned back (an aborted canary) and asks the alias to follow: roll back as by hand, still
        // under the lock, so store and cluster agree. A rollback's own failure asks nothing more (no loop).
        if (kind != "rollback" && !deployment.IsSuccess && deployment.RollbackRequested && current is not null)
        {
            change = await FollowAbortAsync(change, triggerCancellation).ConfigureAwait(false);
        }

        return change;
    }

    /// <summary>Rolls the alias back after a rollout the deployment system aborted; the promotion's change carries the rollback.</summary>
    private async Task<ChampionChange> FollowAbortAsync(ChampionChange promotion, CancellationToken triggerCancellation)
    {
        var model = options.Value.ModelName;
        try
        {
            // The rollout has already failed: the store writes run to their end, only the new trigger observes cancellation.
            var rollback = await RollbackLockedAsync(CancellationToken.None, triggerCancellation).ConfigureAwait(false);
            LogRolledBackAfterAbort(_logger, model, promotion.Version.Version, rollback.Version.Version);
            return promotion with
            {
                Deployment = promotion.Deployment with
                {
                    Message = $"{promotion.Deployment.Message} The champion alias was moved back to {rollback.Version.Label} (rollback); its rollout: {rollback.Deployment.Status}: {rollback.Deployment.Message}",
                },
                Rollback = rollback,
            };
        }
        catch (Exception ex) when (ex is ChampionChangeException or ModelStoreException or IOException or HttpRequestException or TimeoutException)
        {
            LogRollbackAfterAbortFailed(_logger, model, promotion.Version.Version, ex);
            return promotion with
            {
                Deployment = promotion.Deployment with
                {
                    Message = $"{promotion.Deployment.Message} Moving the champion alias back failed, so it still points at {promotion.Version.Label} while the cluster serves the stable version: {ex.Message} Roll back by hand.",
                },
            };
        }
    }

    private void EnsureChampionIs(int? expected, int? actual, int candidate)
    {
        if (expected != actual)
        {
            var model = options.Value.ModelName;
            throw new ChampionChangeException(
                $"{model}/{candidate} was judged against champion {Describe(expected)}, but the champion is now {Describe(actual)} (moved by another promotion or rollback while it trained); it stays registered, not promoted. Compare it with the new champion and promote it by hand if it should serve.");
        }
    }

    /// <summary>
    /// Moves the alias. When the call fails, the alias is read back: the store may have committed the move before its
    /// answer was lost, and then the move is done. Otherwise a rollback's mark on the champion is put back.
    /// </summary>
    private async Task SetAliasCheckedAsync(string model, string alias, int version, ModelVersion? current, string? rolledBackBefore, string kind)
    {
        try
        {
            await store.SetAliasAsync(model, alias, version, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ModelStoreException or IOException or HttpRequestException or TimeoutException)
        {
            ModelVersion? now;
            try
            {
                now = await store.GetVersionByAliasAsync(model, alias, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception readBack) when (readBack is ModelStoreException or IOException or HttpRequestException or TimeoutException)
            {
                LogAliasUnknown(_logger, model, alias, version, readBack);
                throw new ModelStoreException(
                    $"Moving {model}'s '{alias}' to {version} failed and the alias could not be read back, so whether it moved is unknown; read it and promote again if needed. {ex.Message}",
                    ex);
            }

            if (now?.Version == version)
            {
                LogAliasMovedDespiteError(_logger, model, alias, version, ex.Message);
                return;
            }

            if (kind == "rollback" && current is not null)
            {
                await RestoreRolledBackAsync(model, current.Version, rolledBackBefore).ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Best effort: puts back the champion's rolled-back mark a failed rollback wrote ("false" stands for none).</summary>
    private async Task RestoreRolledBackAsync(string model, int version, string? before)
    {
        try
        {
            await store.SetVersionTagAsync(model, version, ModelTags.RolledBack, before ?? "false", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ModelStoreException or IOException or HttpRequestException or TimeoutException)
        {
            LogRestoreFailed(_logger, model, version, ex);
        }
    }

    private static string Describe(int? version) => version is { } v ? $"v{v.ToString(CultureInfo.InvariantCulture)}" : "none";

    /// <summary>Runs the trigger, turning its exceptions into a failed result so that a moved alias is always reported.</summary>
    private async Task<DeploymentResult> TriggerAsync(DeploymentRequest request, CancellationToken cancellationToken)
    {
        DeploymentResult result;
        try
        {
            result = await trigger.TriggerAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result = new DeploymentResult(DeploymentStatus.Failed, $"the deployment trigger failed: {ex.Message}");
        }

        LogDeployment(_logger, request.ModelName, request.Version, result.Status, result.Message);
        return result;
    }

    private static bool IsTrue(IReadOnlyDictionary<string, string> tags, string key) =>
        tags.TryGetValue(key, out var value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Moved {Model} alias '{Alias}' from {From} to {To} ({Kind})")]
    private static partial void LogMoved(ILogger logger, string model, string alias, int? from, int to, string kind);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Deployment of {Model}/{Version}: {Status}: {Message}")]
    private static partial void LogDeployment(ILogger logger, string model, int version, DeploymentStatus status, string message);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Moving {Model} alias '{Alias}' to {Version} reported an error ({Error}), but the alias points there: the store committed the move")]
    private static partial void LogAliasMovedDespiteError(ILogger logger, string model, string alias, int version, string error);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Error, Message = "Moving {Model} alias '{Alias}' to {Version} failed and the alias could not be read back")]
    private static partial void LogAliasUnknown(ILogger logger, string model, string alias, int version, Exception exception);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "The rollout of {Model}/{Version} was aborted and asked the alias to follow: rolled back to {RolledBackTo}")]
    private static partial void LogRolledBackAfterAbort(ILogger logger, string model, int version, int rolledBackTo);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Error, Message = "The rollout of {Model}/{Version} was aborted, and moving the alias back failed")]
    private static partial void LogRollbackAfterAbortFailed(ILogger logger, string model, int version, Exception exception);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "Could not put back the rolled-back tag of {Model}/{Version} after a failed rollback")]
    private static partial void LogRestoreFailed(ILogger logger, string model, int version, Exception exception);
}
