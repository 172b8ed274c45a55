using CtrFallback.LightGbm;
using CtrFallback.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CtrFallback;

/// <summary>Registers the LightGBM trainer and its tree evaluator.</summary>
public static class LightGbmCtrFallbackBuilderExtensions
{
    /// <summary>
    /// Lets <c>Training:Trainer = LightGbm</c> train gradient-boosted trees on the raw fields, and lets this process load
    /// and serve tree artifacts (<see cref="ICtrPredictor"/>, the prediction engine pool, batch scoring). Calling it twice
    /// is harmless.
    /// </summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseLightGbmTrainer(this ICtrFallbackBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        if (!services.Any(d => d.ServiceType == typeof(LightGbmMarker)))
        {
            services.AddSingleton<LightGbmMarker>();
            services.AddOptions<LightGbmTrainerOptions>().ValidateDataAnnotations().ValidateOnStart();
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRawFieldModelFamily, LightGbmModelFamily>());

        // Loading an artifact needs no container (batch scoring is static): the scorer half is registered process-wide.
        RegisterForScoring();
        return builder;
    }

    /// <summary>Like <see cref="UseLightGbmTrainer(ICtrFallbackBuilder)"/>, with the trees' options adjusted in code.</summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configure">Adjusts the trees' options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseLightGbmTrainer(this ICtrFallbackBuilder builder, Action<LightGbmTrainerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder.UseLightGbmTrainer();
    }

    /// <summary>Like <see cref="UseLightGbmTrainer(ICtrFallbackBuilder)"/>, with the options bound from a configuration section (for example <c>CtrFallback:LightGbm</c>).</summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <param name="configuration">The section.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseLightGbmTrainer(this ICtrFallbackBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<LightGbmTrainerOptions>().Bind(configuration);
        return builder.UseLightGbmTrainer();
    }

    /// <summary>
    /// Registers the tree evaluator process-wide without a container, so that <see cref="Serving.ClickLogScoring"/> and
    /// the champion follower can load tree artifacts; a trainer registered this way uses the default options.
    /// </summary>
    public static void RegisterForScoring() =>
        RawFieldModelFamilies.Register(new LightGbmModelFamily(Options.Create(new LightGbmTrainerOptions())));

    private sealed class LightGbmMarker;
}
