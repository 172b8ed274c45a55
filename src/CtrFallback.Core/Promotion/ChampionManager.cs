using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using CtrFallback.Training;

namespace CtrFallback.Promotion;

/// <summary>Moves the champion alias by hand: promote a version, or roll back to the previous champion.</summary>
public interface IChampionManager
{
    /// <summary>Points the champion alias at a version and triggers a rollout; promoting the current champion re-runs the trigger.</summary>
    /// <param name="version">The version to promote.</param>
    /// <param name="force">Promote even though the version failed the gate (or was never judged).</param>
    /// <param name="cancellationToken">Cancels the call before the alias moves.</param>
    /// <exception cref="ChampionChangeException">The version does not exist, or failed the gate and <paramref name="force"/> is off.</exception>
    Task<ChampionChange> PromoteAsync(int version, bool force = false, CancellationToken cancellationToken = default);

    /// <summary>Moves the champion back to the version that held it before the current one, and triggers a rollout.</summary>
    /// <param name="cancellationToken">Cancels the call before the alias moves.</param>
    /// <exception cref="ChampionChangeException">There is no champion, or no earlier champion to go back to.</exception>
    Task<ChampionChange> RollbackAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Points the champion alias at a candidate the training batch has just registered and the gate passed, and triggers
    /// a rollout. The alias move runs to its end once started; only the trigger observes cancellation.
    /// </summary>
    /// <param name="previousChampion">The champion the candidate was judged against, if any.</param>
    /// <param name="version">The registered candidate.</param>
    /// <param name="cancellationToken">Cancels the wait for the rollout.</param>
    Task<ChampionChange> PromoteCandidateAsync(int? previousChampion, int version, CancellationToken cancellationToken = default);
}

/// <summary>A champion alias move and the rollout it triggered.</summary>
/// <param name="PreviousVersion">The champion before the move, if any.</param>
/// <param name="Version">The champion now.</param>
/// <param name="Deployment">The deployment trigger's result.</param>
public sealed record ChampionChange(int? PreviousVersion, ModelVersion Version, DeploymentResult Deployment);

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
    private readonly ILogger _logger = logger ?? NullLogger<ChampionManager>.Instance;

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

        var current = await store.GetVersionByAliasAsync(model, alias, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await MoveAsync(current?.Version, version, "promote", cancellationToken).ConfigureAwait(false);
    }

    public async Task<ChampionChange> RollbackAsync(CancellationToken cancellationToken = default)
    {
        var (model, alias) = (options.Value.ModelName, options.Value.ChampionAlias);
        var current = await store.GetVersionByAliasAsync(model, alias, cancellationToken).ConfigureAwait(false)
            ?? throw new ChampionChangeException($"{model} has no '{alias}' to roll back.");

        // The previous champion: the most recently promoted other version that was not itself rolled back.
        var versions = await store.ListVersionsAsync(model, cancellationToken).ConfigureAwait(false);
        var previous = versions
            .Where(v => v.Version != current.Version && !IsTrue(v.Tags, ModelTags.RolledBack))
            .Select(v => (Version: v, PromotedAt: v.Tags.TryGetValue(ModelTags.PromotedAt, out var at) && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : (DateTimeOffset?)null))
            .Where(v => v.PromotedAt is not null)
            .OrderByDescending(v => v.PromotedAt)
            .ThenByDescending(v => v.Version.Version)
            .Select(v => v.Version)
            .FirstOrDefault()
            ?? throw new ChampionChangeException($"{model}/{current.Version} is the only version ever promoted: there is nothing to roll back to.");

        await store.SetVersionTagAsync(model, current.Version, ModelTags.RolledBack, "true", cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await MoveAsync(current.Version, previous.Version, "rollback", cancellationToken).ConfigureAwait(false);
    }

    public Task<ChampionChange> PromoteCandidateAsync(int? previousChampion, int version, CancellationToken cancellationToken = default) =>
        MoveAsync(previousChampion, version, "train", cancellationToken);

    /// <summary>
    /// Points the champion alias at <paramref name="to"/>, records the promotion on its tags and runs the trigger. The
    /// store writes run to their end whatever the token says (callers check it before): an alias move is never left
    /// half-recorded. Only the trigger (which may wait for a rollout) observes cancellation.
    /// </summary>
    private async Task<ChampionChange> MoveAsync(int? from, int to, string kind, CancellationToken cancellationToken)
    {
        var (model, alias) = (options.Value.ModelName, options.Value.ChampionAlias);
        await store.SetAliasAsync(model, alias, to, CancellationToken.None).ConfigureAwait(false);
        await store.SetVersionTagAsync(model, to, ModelTags.PromotedAt, timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
        await store.SetVersionTagAsync(model, to, ModelTags.RolledBack, "false", CancellationToken.None).ConfigureAwait(false);
        telemetry.AliasMoves.Add(1, new KeyValuePair<string, object?>("kind", kind));
        LogMoved(_logger, model, alias, from, to, kind);
        var version = await store.GetVersionAsync(model, to, CancellationToken.None).ConfigureAwait(false)
            ?? throw new ChampionChangeException($"{model}/{to} vanished after the alias moved.");
        var deployment = await TriggerAsync(new DeploymentRequest(model, to, alias), cancellationToken).ConfigureAwait(false);
        return new ChampionChange(from, version, deployment);
    }

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
}
