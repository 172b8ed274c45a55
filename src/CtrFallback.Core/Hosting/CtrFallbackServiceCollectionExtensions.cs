using CtrFallback.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CtrFallback;

/// <summary>Registers CtrFallback's services.</summary>
public static class CtrFallbackServiceCollectionExtensions
{
    /// <summary>The configuration section CtrFallback binds by default.</summary>
    public const string SectionName = "CtrFallback";

    /// <summary>Adds the trainer and its options; every default is added with TryAdd, so the application can replace it.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configureTraining">Adjusts the training options.</param>
    /// <returns>A builder on which adapters hang their <c>Use…</c> extensions.</returns>
    public static ICtrFallbackBuilder AddCtrFallback(this IServiceCollection services, Action<TrainingOptions>? configureTraining = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var training = services.AddOptions<TrainingOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configureTraining is not null)
        {
            training.Configure(configureTraining);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ICtrTrainer, CtrTrainer>();
        return new CtrFallbackBuilder(services);
    }

    /// <summary>Adds CtrFallback with options bound from a configuration section (for example <c>CtrFallback</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section; its <c>Training</c> child binds <see cref="TrainingOptions"/>.</param>
    /// <returns>A builder on which adapters hang their <c>Use…</c> extensions.</returns>
    public static ICtrFallbackBuilder AddCtrFallback(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TrainingOptions>().Bind(configuration.GetSection("Training"));
        return services.AddCtrFallback();
    }

    private sealed class CtrFallbackBuilder(IServiceCollection services) : ICtrFallbackBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
