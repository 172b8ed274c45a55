using System.Collections.Concurrent;

namespace CtrFallback.InferenceServer;

/// <summary>
/// Reuses <see cref="Impression"/>s and the JSON reader of the serving layout, so a request allocates neither.
/// The layout is fixed by the first model served (later champions must match it), so one pool serves every swap.
/// </summary>
internal sealed class ImpressionPool(ICtrPredictor predictor, UnknownFields unknownFields)
{
    private readonly int _max = Environment.ProcessorCount * 64;
    private readonly ConcurrentQueue<Impression> _idle = new();
    private volatile ImpressionJsonReader? _reader;
    private int _count;

    /// <summary>The JSON reader for the serving layout.</summary>
    /// <exception cref="ModelNotReadyException">No model is loaded yet.</exception>
    public ImpressionJsonReader Reader
    {
        get
        {
            var schema = predictor.Schema ?? throw new ModelNotReadyException();
            var reader = _reader;
            if (reader is null || !ReferenceEquals(reader.Schema, schema))
            {
                _reader = reader = new ImpressionJsonReader(schema, unknownFields);
            }

            return reader;
        }
    }

    public Impression Rent()
    {
        var schema = predictor.Schema ?? throw new ModelNotReadyException();
        while (_idle.TryDequeue(out var impression))
        {
            Interlocked.Decrement(ref _count);
            if (ReferenceEquals(impression.Schema, schema))
            {
                return impression;
            }
        }

        return new Impression(schema);
    }

    public void Return(Impression impression)
    {
        impression.Clear();
        if (Interlocked.Increment(ref _count) <= _max)
        {
            _idle.Enqueue(impression);
        }
        else
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
