using System.IO.Abstractions;
using CtrFallback.Promotion;
using CtrFallback.Store;
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

    /// <summary>
    /// Adds the trainer, promotion gate, training batch and champion manager with their options, the no-op deployment
    /// trigger and the file model store. Every default is added with TryAdd, so the application can replace any of them,
    /// and calling this twice is harmless.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configureTraining">Adjusts the training options.</param>
    /// <returns>A builder on which adapters hang their <c>Use…</c> extensions.</returns>
    public static ICtrFallbackBuilder AddCtrFallback(this IServiceCollection services, Action<TrainingOptions>? configureTraining = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (configureTraining is not null)
        {
            services.Configure(configureTraining);
        }

        // Validators once only: a second call must not repeat every error.
        if (!services.Any(d => d.ServiceType == typeof(CtrFallbackMarker)))
        {
            services.AddSingleton<CtrFallbackMarker>();
            services.AddOptions<TrainingOptions>().ValidateDataAnnotations().ValidateOnStart();
            services.AddOptions<CtrFallbackOptions>().ValidateDataAnnotations().ValidateOnStart();
            services.AddOptions<PromotionGateOptions>().ValidateDataAnnotations().ValidateOnStart();
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new TrainingTelemetry(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<ICtrTrainer, CtrTrainer>();
        services.TryAddSingleton<IPromotionGate, PromotionGate>();
        services.TryAddSingleton<IDeploymentTrigger, NoOpDeploymentTrigger>();
        services.TryAddSingleton<ITrainingJob, TrainingJob>();
        services.TryAddSingleton<ChampionManager>();
        services.TryAddSingleton<IChampionManager>(sp => sp.GetRequiredService<ChampionManager>());
        AddFileModelStoreServices(services);
        services.TryAddSingleton<IModelStore, FileModelStore>();
        return new CtrFallbackBuilder(services);
    }

    /// <summary>
    /// Adds CtrFallback with options bound from a configuration section (for example <c>CtrFallback</c>): the section itself
    /// binds <see cref="CtrFallbackOptions"/>, its <c>Training</c> child <see cref="TrainingOptions"/> and its <c>Gate</c>
    /// child <see cref="PromotionGateOptions"/> and its <c>Store</c> child <see cref="FileModelStoreOptions"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section.</param>
    /// <returns>A builder on which adapters hang their <c>Use…</c> extensions.</returns>
    public static ICtrFallbackBuilder AddCtrFallback(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CtrFallbackOptions>().Bind(configuration);
        services.AddOptions<TrainingOptions>().Bind(configuration.GetSection("Training"));
        services.AddOptions<PromotionGateOptions>().Bind(configuration.GetSection("Gate"));
        services.AddOptions<FileModelStoreOptions>().Bind(configuration.GetSection("Store"));
        return services.AddCtrFallback();
    }

    /// <summary>Uses the file-system model store, replacing any store registered before (such as MLflow's).</summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configure">Adjusts the store's options (for example its <see cref="FileModelStoreOptions.Path"/>).</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseFileModelStore(this ICtrFallbackBuilder builder, Action<FileModelStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddFileModelStoreServices(builder.Services);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        builder.Services.RemoveAll<IModelStore>();
        builder.Services.AddSingleton<IModelStore, FileModelStore>();
        return builder;
    }

    private static void AddFileModelStoreServices(IServiceCollection services)
    {
        // Once only: AddCtrFallback and UseFileModelStore both call this, and each validator would repeat its errors.
        if (!services.Any(d => d.ServiceType == typeof(FileModelStoreValidationMarker)))
        {
            services.AddSingleton<FileModelStoreValidationMarker>();
            services.AddOptions<FileModelStoreOptions>().ValidateDataAnnotations().ValidateOnStart();
        }

        services.TryAddSingleton<IFileSystem>(new FileSystem());
        services.TryAddSingleton(TimeProvider.System);
    }

    private sealed class FileModelStoreValidationMarker;

    private sealed class CtrFallbackMarker;

    private sealed class CtrFallbackBuilder(IServiceCollection services) : ICtrFallbackBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
