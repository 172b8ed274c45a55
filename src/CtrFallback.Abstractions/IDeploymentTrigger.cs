namespace CtrFallback;

/// <summary>Makes serving pick up a newly promoted champion (for example an Argo Rollouts restart).</summary>
public interface IDeploymentTrigger
{
    /// <summary>Triggers the rollout of a version an alias now points to and, if configured, waits for it to finish.</summary>
    /// <param name="request">Which model, version and alias moved.</param>
    /// <param name="cancellationToken">Cancels the trigger or the wait.</param>
    /// <returns>What happened; a failure carries the deployment system's own message.</returns>
    Task<DeploymentResult> TriggerAsync(DeploymentRequest request, CancellationToken cancellationToken = default);
}

/// <summary>Which alias moved to which version.</summary>
/// <param name="ModelName">The registered model's name.</param>
/// <param name="Version">The version the alias now points to.</param>
/// <param name="Alias">The alias that moved.</param>
public sealed record DeploymentRequest(string ModelName, int Version, string Alias);

/// <summary>How a deployment ended.</summary>
public enum DeploymentStatus
{
    /// <summary>Nothing to do (the no-op trigger, or serving follows the alias in-process).</summary>
    Skipped,

    /// <summary>The rollout was requested and not waited for.</summary>
    Requested,

    /// <summary>The rollout finished and serving is healthy.</summary>
    Succeeded,

    /// <summary>The rollout failed (for example the Rollout went Degraded or was aborted).</summary>
    Failed,

    /// <summary>The rollout did not finish in time.</summary>
    TimedOut,
}

/// <summary>The outcome of a deployment trigger.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Message">What happened, in words; for failures the deployment system's own message.</param>
public sealed record DeploymentResult(DeploymentStatus Status, string Message)
{
    /// <summary>
    /// The deployment system turned back to the version before (for example an Argo canary aborted by its analysis) and
    /// asks that the champion alias follow, so store and cluster agree: the champion manager then rolls the alias back,
    /// recorded as a rollback. Set only on a failure, and only when the trigger is configured to ask.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool RollbackRequested { get; init; }

    /// <summary><see langword="true"/> unless the deployment failed or timed out.</summary>
    public bool IsSuccess => Status is DeploymentStatus.Skipped or DeploymentStatus.Requested or DeploymentStatus.Succeeded;
}

/// <summary>Configures CtrFallback's services; adapters hang <c>Use…</c> extensions on it.</summary>
public interface ICtrFallbackBuilder
{
    /// <summary>The service collection being configured.</summary>
    Microsoft.Extensions.DependencyInjection.IServiceCollection Services { get; }
}
