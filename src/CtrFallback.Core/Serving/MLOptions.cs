using Microsoft.ML;

namespace CtrFallback.Serving;

/// <summary>The one <see cref="Microsoft.ML.MLContext"/> of a service provider, shared by every pool, loader and the champion follower.</summary>
public sealed class MLOptions
{
    /// <summary>The shared ML.NET context.</summary>
    /// <value>The default is a context with seed 0, created once per service provider.</value>
    public MLContext MLContext { get; set; } = new(seed: 0);
}

/// <summary>The options of one named model of a <see cref="PredictionEnginePool{TData, TPrediction}"/>: its loader.</summary>
/// <typeparam name="TData">The input type.</typeparam>
/// <typeparam name="TPrediction">The output type.</typeparam>
public sealed class PredictionEnginePoolOptions<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    /// <summary>The loader of this model; set by <c>FromFile</c>, <c>FromUri</c>, <c>FromModelStore</c> or the application.</summary>
    public ModelLoader? ModelLoader { get; set; }
}
