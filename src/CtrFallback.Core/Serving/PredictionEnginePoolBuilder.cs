using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CtrFallback.Serving;

/// <summary>Configures the models of a <see cref="PredictionEnginePool{TData, TPrediction}"/>.</summary>
/// <typeparam name="TData">The input type.</typeparam>
/// <typeparam name="TPrediction">The output type.</typeparam>
/// <param name="services">The service collection being configured.</param>
public class PredictionEnginePoolBuilder<TData, TPrediction>(IServiceCollection services)
    where TData : class
    where TPrediction : class, new()
{
    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; } = services ?? throw new ArgumentNullException(nameof(services));
}

/// <summary>
/// Registers <see cref="PredictionEnginePool{TData, TPrediction}"/>. These types mirror Microsoft.Extensions.ML and live
/// together in <c>CtrFallback.Serving</c>, so code written for it moves over by changing one <c>using</c>.
/// </summary>
public static class PredictionEnginePoolServiceCollectionExtensions
{
    /// <summary>Adds a pool of prediction engines for one input and output type; add models with <c>FromFile</c>, <c>FromUri</c> or <c>FromModelStore</c>.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <returns>A builder to add models with.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> AddPredictionEnginePool<TData, TPrediction>(this IServiceCollection services)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.AddHttpClient();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PredictionEnginePool<TData, TPrediction>>();
        return new PredictionEnginePoolBuilder<TData, TPrediction>(services);
    }
}

/// <summary>Adds models to a <see cref="PredictionEnginePoolBuilder{TData, TPrediction}"/>.</summary>
public static class PredictionEnginePoolBuilderExtensions
{
    /// <summary>How often a watched file's identity is polled, as a backstop to directory events.</summary>
    public static readonly TimeSpan FilePollInterval = TimeSpan.FromSeconds(5);

    /// <summary>How often a URI is polled unless told otherwise.</summary>
    public static readonly TimeSpan DefaultUriPeriod = TimeSpan.FromMinutes(5);

    /// <summary>Adds the default model from a file, reloaded when the file changes.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="filePath">An ML.NET model zip or a CtrFallback model artifact.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string filePath)
        where TData : class
        where TPrediction : class, new() => builder.FromFile(string.Empty, filePath, watchForChanges: true);

    /// <summary>Adds the default model from a file.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="filePath">An ML.NET model zip or a CtrFallback model artifact.</param>
    /// <param name="watchForChanges">Whether to reload when the file is replaced, renamed over or swapped through a symlink.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string filePath, bool watchForChanges)
        where TData : class
        where TPrediction : class, new() => builder.FromFile(string.Empty, filePath, watchForChanges);

    /// <summary>Adds a named model from a file, reloaded when the file changes.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="filePath">An ML.NET model zip or a CtrFallback model artifact.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string filePath)
        where TData : class
        where TPrediction : class, new() => builder.FromFile(modelName, filePath, watchForChanges: true);

    /// <summary>Adds a named model from a file.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="filePath">An ML.NET model zip or a CtrFallback model artifact.</param>
    /// <param name="watchForChanges">Whether to reload when the file is replaced, renamed over or swapped through a symlink.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromFile<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string filePath, bool watchForChanges)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        return builder.WithLoader(modelName, sp => new FileModelLoader(
            sp.GetRequiredService<IOptions<MLOptions>>().Value.MLContext,
            filePath,
            watchForChanges,
            sp.GetRequiredService<TimeProvider>(),
            FilePollInterval,
            LoggerFor(sp)));
    }

    /// <summary>Adds the default model from a URI, polled every 5 minutes.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string uri)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(string.Empty, new Uri(uri), DefaultUriPeriod);

    /// <summary>Adds the default model from a URI, polled every 5 minutes.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, Uri uri)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(string.Empty, uri, DefaultUriPeriod);

    /// <summary>Adds a named model from a URI, polled every 5 minutes.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string uri)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(modelName, new Uri(uri), DefaultUriPeriod);

    /// <summary>Adds a named model from a URI, polled every 5 minutes.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, Uri uri)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(modelName, uri, DefaultUriPeriod);

    /// <summary>Adds the default model from a URI.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <param name="period">How often to poll.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(string.Empty, new Uri(uri), period);

    /// <summary>Adds the default model from a URI.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <param name="period">How often to poll.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, Uri uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(string.Empty, uri, period);

    /// <summary>Adds a named model from a URI.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <param name="period">How often to poll.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new() => builder.FromUri(modelName, new Uri(uri), period);

    /// <summary>
    /// Adds a named model from a URI, fetched through <see cref="IHttpClientFactory"/> (client
    /// <c>CtrFallback.ModelLoader</c>); polling goes on whether or not the server sends an ETag.
    /// </summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="uri">Where the model is served.</param>
    /// <param name="period">How often to poll.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromUri<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, Uri uri, TimeSpan period)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        return builder.WithLoader(modelName, sp =>
        {
            var loader = new UriModelLoader(
                sp.GetRequiredService<IOptions<MLOptions>>().Value.MLContext,
                sp.GetRequiredService<IHttpClientFactory>(),
                uri,
                period,
                sp.GetRequiredService<TimeProvider>(),
                LoggerFor(sp));
            loader.Start();
            return loader;
        });
    }

    /// <summary>
    /// Adds a model that follows a model store's alias (the store verifies each download's SHA-256). The model's
    /// transformer reads CtrFallback's featurized vector; to score raw impressions use <see cref="ICtrPredictor"/>.
    /// </summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="modelName">The registered model's name in the store, also the pool's name for it.</param>
    /// <param name="alias">The alias to follow.</param>
    /// <param name="period">How often to check the alias; the default is 30 seconds.</param>
    /// <returns>The builder.</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> FromModelStore<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, string alias = ModelAliases.Champion, TimeSpan? period = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(modelName);
        ArgumentException.ThrowIfNullOrEmpty(alias);
        var every = period ?? TimeSpan.FromSeconds(30);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(every, TimeSpan.Zero);
        return builder.WithLoader(modelName, sp =>
        {
            var loader = new ModelStoreLoader(
                sp.GetRequiredService<IOptions<MLOptions>>().Value.MLContext,
                sp.GetRequiredService<IModelStore>(),
                modelName,
                alias,
                every,
                sp.GetRequiredService<TimeProvider>(),
                LoggerFor(sp));
            loader.Start();
            return loader;
        });
    }

    private static PredictionEnginePoolBuilder<TData, TPrediction> WithLoader<TData, TPrediction>(this PredictionEnginePoolBuilder<TData, TPrediction> builder, string modelName, Func<IServiceProvider, ModelLoader> create)
        where TData : class
        where TPrediction : class, new()
    {
        // The pool asks the options factory once per name (under a Lazy), so each loader is created once.
        builder.Services.AddOptions<PredictionEnginePoolOptions<TData, TPrediction>>(modelName)
            .Configure<IServiceProvider>((options, sp) => options.ModelLoader = create(sp));
        return builder;
    }

    private static ILogger LoggerFor(IServiceProvider sp) =>
        sp.GetService<ILoggerFactory>()?.CreateLogger("CtrFallback.Serving.ModelLoader") ?? NullLogger.Instance;
}

/// <summary>Predicts with a pooled engine: rent, predict, return (in a <see langword="finally"/>).</summary>
public static class PredictionEnginePoolExtensions
{
    /// <summary>Predicts with the default model.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="pool">The pool.</param>
    /// <param name="example">The input.</param>
    /// <returns>The prediction.</returns>
    public static TPrediction Predict<TData, TPrediction>(this PredictionEnginePool<TData, TPrediction> pool, TData example)
        where TData : class
        where TPrediction : class, new() => pool.Predict(string.Empty, example);

    /// <summary>Predicts with a named model.</summary>
    /// <typeparam name="TData">The input type.</typeparam>
    /// <typeparam name="TPrediction">The output type.</typeparam>
    /// <param name="pool">The pool.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="example">The input.</param>
    /// <returns>The prediction.</returns>
    public static TPrediction Predict<TData, TPrediction>(this PredictionEnginePool<TData, TPrediction> pool, string modelName, TData example)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(pool);
        var engine = pool.GetPredictionEngine(modelName);
        try
        {
            return engine.Predict(example);
        }
        finally
        {
            pool.ReturnPredictionEngine(modelName, engine);
        }
    }
}
