using k8s;
using Microsoft.Extensions.Options;

namespace CtrFallback.Argo;

/// <summary>Checks what data annotations cannot: times, and that the chosen way to reach the cluster is usable.</summary>
internal sealed class ArgoRolloutsOptionsValidator : IValidateOptions<ArgoRolloutsOptions>
{
    public ValidateOptionsResult Validate(string? name, ArgoRolloutsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (options.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"CtrFallback:Argo:Timeout must be positive (was {options.Timeout}).");
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add($"CtrFallback:Argo:PollInterval must be positive (was {options.PollInterval}).");
        }
        else if (options.PollInterval > options.Timeout && options.Timeout > TimeSpan.Zero)
        {
            failures.Add($"CtrFallback:Argo:PollInterval ({options.PollInterval}) must not exceed Timeout ({options.Timeout}).");
        }

        if (options.AttemptTimeout <= TimeSpan.Zero)
        {
            failures.Add($"CtrFallback:Argo:AttemptTimeout must be positive (was {options.AttemptTimeout}).");
        }

        if (options.RetryDelay < TimeSpan.Zero)
        {
            failures.Add($"CtrFallback:Argo:RetryDelay must not be negative (was {options.RetryDelay}).");
        }

        if (string.IsNullOrWhiteSpace(options.KubeconfigPath))
        {
            if (!string.IsNullOrWhiteSpace(options.Context))
            {
                failures.Add($"CtrFallback:Argo:Context ('{options.Context}') needs CtrFallback:Argo:KubeconfigPath; the in-cluster service account has no contexts.");
            }
            else if (!KubernetesClientConfiguration.IsInCluster())
            {
                failures.Add("CtrFallback:Argo:KubeconfigPath is not set and this process is not running in a Kubernetes pod (no service account token or KUBERNETES_SERVICE_HOST): set a kubeconfig file.");
            }
        }
        else if (!File.Exists(options.KubeconfigPath))
        {
            failures.Add($"CtrFallback:Argo:KubeconfigPath '{options.KubeconfigPath}' does not exist.");
        }
        else
        {
            try
            {
                // Reading it now turns a wrong context or a broken file into a start-up error, not a failed promotion.
                _ = KubernetesClientConfiguration.BuildConfigFromConfigFile(options.KubeconfigPath, options.Context);
            }
            catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or IOException or YamlDotNet.Core.YamlException)
            {
                failures.Add($"CtrFallback:Argo:KubeconfigPath '{options.KubeconfigPath}' (context '{options.Context ?? "current"}') cannot be used: {ex.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
