using System.IO.Abstractions;
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
    /// Adds the trainer, the file model store (the default <see cref="IModelStore"/>) and their options; every default is
    /// added with TryAdd, so the application can replace it.
    /// </summary>
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
        AddFileModelStoreServices(services);
        services.TryAddSingleton<IModelStore, FileModelStore>();
        return new CtrFallbackBuilder(services);
    }

    /// <summary>Adds CtrFallback with options bound from a configuration section (for example <c>CtrFallback</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">
    /// The section; its <c>Training</c> child binds <see cref="TrainingOptions"/> and its <c>Store</c> child binds
    /// <see cref="FileModelStoreOptions"/>.
    /// </param>
    /// <returns>A builder on which adapters hang their <c>Use…</c> extensions.</returns>
    public static ICtrFallbackBuilder AddCtrFallback(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TrainingOptions>().Bind(configuration.GetSection("Training"));
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

    private sealed class CtrFallbackBuilder(IServiceCollection services) : ICtrFallbackBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
