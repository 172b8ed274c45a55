using CtrFallback.MLflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CtrFallback;

/// <summary>Registers the MLflow Model Registry as CtrFallback's <see cref="IModelStore"/>.</summary>
public static class MLflowModelStoreExtensions
{
    /// <summary>
    /// Uses the MLflow Model Registry as the model store, replacing any store registered before (such as Core's file store).
    /// </summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configure">Sets options in code; unset values fall back to the <c>MLFLOW_TRACKING_*</c> environment variables.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseMLflowModelStore(this ICtrFallbackBuilder builder, Action<MLflowModelStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<MLflowModelStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddStore(builder);
    }

    /// <summary>
    /// Uses the MLflow Model Registry as the model store, bound from a configuration section (conventionally
    /// <see cref="MLflowModelStoreOptions.SectionName"/>, <c>CtrFallback:MLflow</c>), replacing any store registered before.
    /// </summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configuration">The section holding <c>TrackingUri</c>, <c>ExperimentName</c>, <c>Token</c>, ….</param>
    /// <param name="configure">Further settings applied after binding.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseMLflowModelStore(
        this ICtrFallbackBuilder builder,
        IConfiguration configuration,
        Action<MLflowModelStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = builder.Services.AddOptions<MLflowModelStoreOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddStore(builder);
    }

    private static ICtrFallbackBuilder AddStore(ICtrFallbackBuilder builder)
    {
        var services = builder.Services;

        // Core registers its file store with TryAdd; choosing MLflow replaces it whatever the call order.
        services.RemoveAll<IModelStore>();
        services.AddSingleton<IModelStore, MLflowModelStore>();

        // A second call only adds its option settings: a second resilience handler would multiply the retries.
        if (services.Any(d => d.ServiceType == typeof(MLflowModelStoreMarker)))
        {
            return builder;
        }

        services.AddSingleton<MLflowModelStoreMarker>();
        services.AddOptions<MLflowModelStoreOptions>()
            .PostConfigure(o => o.ApplyEnvironmentFallbacks(Environment.GetEnvironmentVariable))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        // AddHttpClient also adds logging. The store is a singleton, so it asks the factory for a client per call rather than holding one: handlers
        // then rotate as IHttpClientFactory intends (DNS changes are picked up). No resilience handler: the store runs each
        // whole call in its own Polly pipeline (MLflowRestClient), so that a create can look for what a lost reply committed.
        services.AddHttpClient(MLflowModelStore.HttpClientName, (sp, client) =>
        {
            var o = sp.GetRequiredService<IOptions<MLflowModelStoreOptions>>().Value;
            var baseUri = o.TrackingUri!.ToString();
            client.BaseAddress = new Uri(baseUri.EndsWith('/') ? baseUri : baseUri + "/");
            client.Timeout = Timeout.InfiniteTimeSpan; // the store's pipeline times each attempt
            client.DefaultRequestHeaders.Authorization = MLflowRestClient.AuthorizationFor(o);
        });

        return builder;
    }

    private sealed class MLflowModelStoreMarker;
}
