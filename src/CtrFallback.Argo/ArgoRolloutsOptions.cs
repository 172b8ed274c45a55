using System.ComponentModel.DataAnnotations;

namespace CtrFallback;

/// <summary>
/// Which Argo Rollout to update when the champion moves (a restart, or a canary that pins the version in the pod
/// template), how to reach the Kubernetes API, how long to wait, and what an aborted rollout does to the alias.
/// Bound from the <c>CtrFallback:Argo</c> configuration section.
/// </summary>
public sealed class ArgoRolloutsOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "CtrFallback:Argo";

    /// <summary>
    /// The environment variable a <see cref="ArgoTriggerMode.Canary"/> promotion sets in the pod template: the serving
    /// option <c>CtrFallback:Serving:Version</c>, which makes a pod serve exactly that version whatever the alias says.
    /// </summary>
    public const string VersionVariable = "CtrFallback__Serving__Version";

    /// <summary>How a promotion reaches the pods (<c>CtrFallback:Argo:Mode</c>).</summary>
    /// <value>The default is <see cref="ArgoTriggerMode.Restart"/>.</value>
    public ArgoTriggerMode Mode { get; set; } = ArgoTriggerMode.Restart;

    /// <summary>
    /// The container of the pod template whose <see cref="VersionVariable"/> a canary promotion sets
    /// (<c>CtrFallback:Argo:ContainerName</c>).
    /// </summary>
    /// <value>The default is <see langword="null"/>: the template's first container.</value>
    [MinLength(1)]
    public string? ContainerName { get; set; }

    /// <summary>
    /// Whether a Rollout that ends Degraded or aborted (a failed canary analysis) moves the champion alias back to the
    /// previous champion, through the champion manager and recorded as a rollback, so store and cluster agree
    /// (<c>CtrFallback:Argo:RollbackAliasOnAbort</c>).
    /// </summary>
    /// <value>The default is <see langword="false"/>: the failure is reported and the alias stays.</value>
    public bool RollbackAliasOnAbort { get; set; }

    /// <summary>The namespace the Rollout lives in (configuration key <c>CtrFallback:Argo:Namespace</c>).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Namespace { get; set; } = string.Empty;

    /// <summary>The Rollout's name (configuration key <c>CtrFallback:Argo:RolloutName</c>).</summary>
    [Required(AllowEmptyStrings = false)]
    public string RolloutName { get; set; } = string.Empty;

    /// <summary>
    /// A kubeconfig file to read the API server, credentials and TLS settings from (<c>CtrFallback:Argo:KubeconfigPath</c>).
    /// When unset, the in-cluster service account of the pod is used.
    /// </summary>
    /// <value>The default is <see langword="null"/>: in-cluster service account.</value>
    public string? KubeconfigPath { get; set; }

    /// <summary>The kubeconfig context to use (<c>CtrFallback:Argo:Context</c>); only with <see cref="KubeconfigPath"/>.</summary>
    /// <value>The default is <see langword="null"/>: the kubeconfig's current context.</value>
    public string? Context { get; set; }

    /// <summary>Whether to wait until the Rollout has restarted and is Healthy (<c>CtrFallback:Argo:WaitForCompletion</c>).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool WaitForCompletion { get; set; } = true;

    /// <summary>How long the whole trigger may take, restart request and wait included (<c>CtrFallback:Argo:Timeout</c>).</summary>
    /// <value>The default is 10 minutes.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the Rollout is read while waiting (<c>CtrFallback:Argo:PollInterval</c>).</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many times a call that failed transiently (5xx, 429, connection error, <see cref="AttemptTimeout"/>) is retried (<c>CtrFallback:Argo:MaxRetryAttempts</c>).</summary>
    /// <value>The default is 4.</value>
    [Range(0, 20)]
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>
    /// How long one call to the Kubernetes API may take before it is abandoned and retried as a transient failure
    /// (<c>CtrFallback:Argo:AttemptTimeout</c>), so that one hung request does not use up the whole <see cref="Timeout"/>.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The delay before the first retry; it doubles with each further retry (<c>CtrFallback:Argo:RetryDelay</c>).</summary>
    /// <value>The default is 1 second.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>How the Argo trigger makes the pods serve a new champion.</summary>
public enum ArgoTriggerMode
{
    /// <summary>Restart every pod (<c>spec.restartAt</c>, as <c>kubectl argo rollouts restart</c>); each loads the alias's version. Canary steps do not run.</summary>
    Restart,

    /// <summary>
    /// Set <see cref="ArgoRolloutsOptions.VersionVariable"/> in the pod template to the new version: a new revision, so
    /// Argo's canary steps and analysis run old and new versions side by side before the new one takes all pods.
    /// </summary>
    Canary,
}
