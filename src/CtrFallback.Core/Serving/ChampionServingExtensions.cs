using System.Diagnostics.Metrics;
using CtrFallback.Serving;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CtrFallback;

/// <summary>Registers in-process serving of the model store's champion.</summary>
public static class ChampionServingExtensions
{
    /// <summary>
    /// Adds <see cref="ICtrPredictor"/> (in-process, allocation-free per call) and a hosted service that follows the
    /// store's alias. Needs an <see cref="IModelStore"/> (the file store, or <c>UseMLflowModelStore</c>).
    /// </summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configure">Adjusts the serving options.</param>
    /// <returns>The builder.</returns>
    public static ICtrFallbackBuilder AddChampionServing(this ICtrFallbackBuilder builder, Action<ServingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<ServingOptions>().ValidateDataAnnotations().ValidateOnStart();

        // Data annotations do not reach into nested options: the drift section is checked here, naming its keys.
        options.Validate(
            serving => serving.Drift is { } drift && System.ComponentModel.DataAnnotations.Validator.TryValidateObject(drift, new(drift), null, validateAllProperties: true),
            "CtrFallback:Serving:Drift is invalid: SampleEvery must be between 1 and 1,000,000 and Window between 100 and 1,000,000.");
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Unless told otherwise, serve the model and alias that the training batch registers and moves.
        options.PostConfigure<IOptions<CtrFallbackOptions>>((serving, root) =>
        {
            serving.ModelName ??= root.Value.ModelName;
            serving.Alias ??= root.Value.ChampionAlias;
        });

        services.AddOptions<MLOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new ChampionPredictor(sp.GetService<IMeterFactory>(), sp.GetRequiredService<IOptions<ServingOptions>>().Value.Drift));
        services.TryAddSingleton<ICtrPredictor>(sp => sp.GetRequiredService<ChampionPredictor>());
        services.TryAddSingleton<ChampionFollower>();
        services.TryAddSingleton<IChampionFollower>(sp => sp.GetRequiredService<ChampionFollower>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ChampionFollower>(sp => sp.GetRequiredService<ChampionFollower>()));
        return builder;
    }

    /// <summary>Adds champion serving with options bound from a configuration section (normally <c>CtrFallback:Serving</c>).</summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configuration">The section with <c>ModelName</c>, <c>Alias</c>, <c>PollInterval</c>, <c>WarmupPredictions</c>.</param>
    /// <returns>The builder.</returns>
    public static ICtrFallbackBuilder AddChampionServing(this ICtrFallbackBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<ServingOptions>().Bind(configuration);
        return builder.AddChampionServing();
    }
}
