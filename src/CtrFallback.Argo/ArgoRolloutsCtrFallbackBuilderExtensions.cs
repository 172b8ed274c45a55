using CtrFallback.Argo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CtrFallback;

/// <summary>Registers the Argo Rollouts deployment trigger on a CtrFallback builder.</summary>
public static class ArgoRolloutsCtrFallbackBuilderExtensions
{
    /// <summary>
    /// Makes an Argo Rollouts restart the <see cref="IDeploymentTrigger"/>, replacing any trigger registered before
    /// (such as Core's no-op trigger). Options are validated at start-up.
    /// </summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configure">Sets the options; may be <see langword="null"/> when they come from elsewhere (for example configuration).</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseArgoRolloutsTrigger(this ICtrFallbackBuilder builder, Action<ArgoRolloutsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<ArgoRolloutsOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return Register(builder, options);
    }

    /// <summary>
    /// Makes an Argo Rollouts restart the <see cref="IDeploymentTrigger"/>, with options bound from a configuration section
    /// (conventionally <see cref="ArgoRolloutsOptions.SectionName"/>, <c>CtrFallback:Argo</c>; keys <c>Namespace</c>,
    /// <c>RolloutName</c>, <c>KubeconfigPath</c>, <c>Context</c>, <c>WaitForCompletion</c>, <c>Timeout</c>, <c>PollInterval</c>, …),
    /// like <c>AddCtrFallback</c> and <c>UseMLflowModelStore</c>.
    /// Replaces any trigger registered before; options are validated at start-up.
    /// </summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configuration">The section (for example <c>configuration.GetSection("CtrFallback:Argo")</c>).</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseArgoRolloutsTrigger(this ICtrFallbackBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = builder.Services.AddOptions<ArgoRolloutsOptions>()
            .Bind(configuration);
        return Register(builder, options);
    }

    private static ICtrFallbackBuilder Register(ICtrFallbackBuilder builder, OptionsBuilder<ArgoRolloutsOptions> options)
    {
        options.ValidateDataAnnotations().ValidateOnStart();
        var services = builder.Services;
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ArgoRolloutsOptions>, ArgoRolloutsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ArgoRolloutsTrigger>();

        // Core registers a no-op trigger with TryAdd; this one must win whatever the order of registration.
        services.RemoveAll<IDeploymentTrigger>();
        services.AddSingleton<IDeploymentTrigger>(sp => sp.GetRequiredService<ArgoRolloutsTrigger>());
        return builder;
    }
}
