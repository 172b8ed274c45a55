using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace CtrFallback.Serving;

/// <summary>
/// Supplies a <see cref="PredictionEnginePool{TData, TPrediction}"/> with a model and tells it when the model changed
/// (the shape of Microsoft.Extensions.ML's <c>ModelLoader</c>, plus reload on demand).
/// </summary>
public abstract class ModelLoader
{
    /// <summary>A token that fires when <see cref="GetModel"/> has a new model.</summary>
    /// <returns>The change token for the current model.</returns>
    public abstract IChangeToken GetReloadToken();

    /// <summary>The current model.</summary>
    /// <returns>The loaded model, shared by every engine of the pool (engines never dispose it).</returns>
    /// <exception cref="ModelNotReadyException">No model has been loaded yet.</exception>
    public abstract ITransformer GetModel();

    /// <summary>Looks for a new model now (re-reads the file, polls the URI or the store's alias); the default does nothing.</summary>
    /// <param name="cancellationToken">Cancels the look.</param>
    /// <returns>A task that completes when the look is done and, if a new model was found, its change token has fired.</returns>
    public virtual Task ReloadAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}
