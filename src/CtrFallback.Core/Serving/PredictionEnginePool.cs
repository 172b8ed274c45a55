using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace CtrFallback.Serving;

/// <summary>
/// Pools ML.NET <see cref="PredictionEngine{TSrc, TDst}"/>s (not thread-safe) per named model and swaps the pool when
/// the model's loader reports a new model. The public shape of Microsoft.Extensions.ML's pool, without its reload bugs:
/// a reload disposes the old generation's engines, an engine rented before a swap is disposed on return instead of
/// joining the new pool, engines never own (dispose) the shared model, and named pools are created exactly once.
/// </summary>
/// <typeparam name="TData">The input type.</typeparam>
/// <typeparam name="TPrediction">The output type.</typeparam>
public class PredictionEnginePool<TData, TPrediction> : IDisposable
    where TData : class
    where TPrediction : class, new()
{
    private readonly MLContext _ml;
    private readonly IOptionsFactory<PredictionEnginePoolOptions<TData, TPrediction>> _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<NamedModel>> _models = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Creates the pool; the DI container calls this.</summary>
    /// <param name="serviceProvider">The container, for the logger.</param>
    /// <param name="mlContextOptions">The shared ML.NET context.</param>
    /// <param name="predictionEngineOptions">Creates the options (the loader) of each named model.</param>
    public PredictionEnginePool(
        IServiceProvider serviceProvider,
        IOptions<MLOptions> mlContextOptions,
        IOptionsFactory<PredictionEnginePoolOptions<TData, TPrediction>> predictionEngineOptions)
    {
        ArgumentNullException.ThrowIfNull(serviceProvider);
        ArgumentNullException.ThrowIfNull(mlContextOptions);
        ArgumentNullException.ThrowIfNull(predictionEngineOptions);
        _ml = mlContextOptions.Value.MLContext;
        _options = predictionEngineOptions;
        _logger = (serviceProvider.GetService(typeof(ILoggerFactory)) as ILoggerFactory)?.CreateLogger("CtrFallback.Serving.PredictionEnginePool") ?? NullLogger.Instance;
    }

    /// <summary>The default model (the one registered without a name).</summary>
    /// <returns>The current model.</returns>
    public ITransformer GetModel() => GetModel(string.Empty);

    /// <summary>A named model.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <returns>The current model.</returns>
    public ITransformer GetModel(string modelName) => Get(modelName).Current.Model;

    /// <summary>Rents an engine of the default model; give it back with <see cref="ReturnPredictionEngine(PredictionEngine{TData, TPrediction})"/>.</summary>
    /// <returns>An engine that only the caller uses until it is returned.</returns>
    public PredictionEngine<TData, TPrediction> GetPredictionEngine() => GetPredictionEngine(string.Empty);

    /// <summary>Rents an engine of a named model; give it back with <see cref="ReturnPredictionEngine(string, PredictionEngine{TData, TPrediction})"/>.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <returns>An engine that only the caller uses until it is returned.</returns>
    public PredictionEngine<TData, TPrediction> GetPredictionEngine(string modelName) => Get(modelName).Rent();

    /// <summary>Returns an engine of the default model.</summary>
    /// <param name="engine">The engine rented from this pool.</param>
    public void ReturnPredictionEngine(PredictionEngine<TData, TPrediction> engine) => ReturnPredictionEngine(string.Empty, engine);

    /// <summary>Returns an engine of a named model; an engine of a model that has since been replaced is disposed, not pooled.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="engine">The engine rented from this pool.</param>
    public void ReturnPredictionEngine(string modelName, PredictionEngine<TData, TPrediction> engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Get(modelName).Return(engine);
    }

    /// <summary>Asks a model's loader to look for a new model now and, if it found one, swaps the pool to it before returning.</summary>
    /// <param name="modelName">The model's name; the default model is the empty string.</param>
    /// <param name="cancellationToken">Cancels the look.</param>
    /// <returns>A task that completes when the look is done.</returns>
    public Task ReloadAsync(string modelName = "", CancellationToken cancellationToken = default) => Get(modelName).ReloadAsync(cancellationToken);

    /// <summary>Disposes every pooled engine and every loader that is disposable.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Counts the engines of a model that exist now (pooled or rented), across generations; for tests and diagnostics.</summary>
    internal int LiveEngineCount(string modelName) => Get(modelName).LiveEngineCount;

    /// <summary>The generation (number of swaps + 1) of a model's pool; for tests and diagnostics.</summary>
    internal long GenerationOf(string modelName) => Get(modelName).Current.Number;

    /// <summary>Disposes the pool's engines and loaders.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
        {
            return;
        }

        _disposed = true;
        foreach (var entry in _models.Values)
        {
            if (entry.IsValueCreated)
            {
                entry.Value.Dispose();
            }
        }
    }

    private NamedModel Get(string modelName)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Lazy with ExecutionAndPublication: concurrent first calls for one name build one pool and one loader.
        return _models.GetOrAdd(modelName, static (name, pool) => new Lazy<NamedModel>(() => pool.Create(name), LazyThreadSafetyMode.ExecutionAndPublication), this).Value;
    }

    private NamedModel Create(string modelName)
    {
        var loader = _options.Create(modelName).ModelLoader
            ?? throw new InvalidOperationException($"No model named '{modelName}' is registered with the prediction engine pool; register it with FromFile, FromUri or FromModelStore.");
        return new NamedModel(modelName, loader, _ml, _logger);
    }

    /// <summary>One named model: its loader, the current generation of engines and the retired ones still out on loan.</summary>
    private sealed class NamedModel : IDisposable
    {
        private readonly string _name;
        private readonly ModelLoader _loader;
        private readonly MLContext _ml;
        private readonly ILogger _logger;
        private readonly Lock _swap = new();
        private readonly ConcurrentDictionary<Generation, byte> _retired = new();
        private readonly IDisposable _subscription;
        private volatile Generation? _current;
        private long _generations;

        public NamedModel(string name, ModelLoader loader, MLContext ml, ILogger logger)
        {
            (_name, _loader, _ml, _logger) = (name, loader, ml, logger);
            _subscription = ChangeToken.OnChange(loader.GetReloadToken, Swap);
        }

        public Generation Current
        {
            get
            {
                if (_current is { } current)
                {
                    return current;
                }

                lock (_swap)
                {
                    return _current ??= new Generation(++_generations, _loader.GetModel(), _ml);
                }
            }
        }

        public int LiveEngineCount => (_current?.LiveCount ?? 0) + _retired.Keys.Sum(g => g.LiveCount);

        public PredictionEngine<TData, TPrediction> Rent() => Current.Rent();

        public void Return(PredictionEngine<TData, TPrediction> engine)
        {
            if (_current is { } current && current.Owns(engine))
            {
                current.Return(engine);
                return;
            }

            // Rented before a swap: dispose it with its generation, never let it join the new pool.
            foreach (var generation in _retired.Keys)
            {
                if (generation.Owns(engine))
                {
                    generation.Return(engine);
                    if (generation.LiveCount == 0)
                    {
                        _retired.TryRemove(generation, out _);
                    }

                    return;
                }
            }

            engine.Dispose();
        }

        public async Task ReloadAsync(CancellationToken cancellationToken)
        {
            await _loader.ReloadAsync(cancellationToken).ConfigureAwait(false);

            // The token callback swaps too; this makes "reloaded" hold when the call returns, even for a loader without a token.
            Swap();
        }

        public void Dispose()
        {
            _subscription.Dispose();
            lock (_swap)
            {
                _current?.Retire();
                _current = null;
            }

            (_loader as IDisposable)?.Dispose();
        }

        private void Swap()
        {
            ITransformer model;
            try
            {
                model = _loader.GetModel();
            }
            catch (ModelNotReadyException)
            {
                return;
            }

            lock (_swap)
            {
                if (_current is { } current && ReferenceEquals(current.Model, model))
                {
                    return;
                }

                var next = new Generation(++_generations, model, _ml);
                var previous = Interlocked.Exchange(ref _current, next);
                if (previous is not null)
                {
                    previous.Retire();
                    if (previous.LiveCount > 0)
                    {
                        _retired.TryAdd(previous, 0);
                    }
                }

                ServingLog.PoolReloaded(_logger, _name, next.Number);
            }
        }
    }

    /// <summary>The engines of one model instance: idle ones in a queue, every live one in a set, so returns can be told apart by generation.</summary>
    private sealed class Generation(long number, ITransformer model, MLContext ml)
    {
        private readonly int _maxIdle = Environment.ProcessorCount * 2;
        private readonly ConcurrentQueue<PredictionEngine<TData, TPrediction>> _idle = new();
        private readonly ConcurrentDictionary<PredictionEngine<TData, TPrediction>, byte> _live = new(ReferenceEqualityComparer.Instance);
        private volatile bool _retired;

        public long Number { get; } = number;

        public ITransformer Model { get; } = model;

        public int LiveCount => _live.Count;

        public bool Owns(PredictionEngine<TData, TPrediction> engine) => _live.ContainsKey(engine);

        public PredictionEngine<TData, TPrediction> Rent()
        {
            if (_idle.TryDequeue(out var engine))
            {
                return engine;
            }

            // OwnsTransformer = false: disposing an engine must never dispose the model every engine shares.
            engine = ml.Model.CreatePredictionEngine<TData, TPrediction>(Model, new PredictionEngineOptions { OwnsTransformer = false });
            _live.TryAdd(engine, 0);
            return engine;
        }

        public void Return(PredictionEngine<TData, TPrediction> engine)
        {
            if (_retired || _idle.Count >= _maxIdle)
            {
                Destroy(engine);
                return;
            }

            _idle.Enqueue(engine);

            // Retire may have drained the queue between the check above and the enqueue: drain again.
            if (_retired)
            {
                Drain();
            }
        }

        public void Retire()
        {
            _retired = true;
            Drain();
        }

        private void Drain()
        {
            while (_idle.TryDequeue(out var engine))
            {
                Destroy(engine);
            }
        }

        private void Destroy(PredictionEngine<TData, TPrediction> engine)
        {
            if (_live.TryRemove(engine, out _))
            {
                engine.Dispose();
            }
        }
    }
}
