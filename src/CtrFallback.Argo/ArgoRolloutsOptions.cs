using System.ComponentModel.DataAnnotations;

namespace CtrFallback;

/// <summary>
/// Which Argo Rollout to restart when the champion moves, how to reach the Kubernetes API, and how long to wait.
/// Bound from the <c>CtrFallback:Argo</c> configuration section.
/// </summary>
public sealed class ArgoRolloutsOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "CtrFallback:Argo";

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
