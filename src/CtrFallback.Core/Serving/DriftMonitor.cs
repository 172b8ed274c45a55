using System.Runtime.CompilerServices;
using CtrFallback.Features;
using CtrFallback.Training;

namespace CtrFallback.Serving;

/// <summary>
/// One served version's live drift: a sliding window of sampled impressions (a ring of their score bins and per-field
/// states, with running sums), compared with the version's <see cref="TrainingProfile"/>. Sampling is a per-thread
/// countdown, so unsampled predictions pay one thread-static decrement; a sampled one reuses the prediction's value
/// hashes and takes a short lock. Nothing allocates after construction.
/// </summary>
internal sealed class DriftMonitor
{
    // Field states in the ring.
    private const byte Present = 0;
    private const byte Missing = 1;
    private const byte Unseen = 2;

    [ThreadStatic]
    private static int t_countdown;

    private readonly TrainingProfile _profile;
    private readonly ModelVersion _version;
    private readonly double[] _edges;
    private readonly HashSet<uint>[] _frequent;
    private readonly uint[] _missingHashes;
    private readonly int _numeric;
    private readonly int _fields;
    private readonly int _window;
    private readonly int _sampleEvery;
    private readonly Lock _gate = new();

    // The window: per slot its score, bin and field states; and the sums over the slots in use.
    private readonly float[] _scores;
    private readonly byte[] _bins;
    private readonly byte[] _states;
    private readonly long[] _binCounts;
    private readonly long[] _missing;
    private readonly long[] _unseen;
    private double _scoreSum;
    private int _next;
    private int _count;

    public DriftMonitor(TrainingProfile profile, FeatureHasher hasher, ModelVersion version, ServingDriftOptions options)
    {
        _profile = profile;
        _version = version;
        _edges = [.. profile.ScoreEdges];
        _numeric = hasher.NumericCount;
        _fields = hasher.NumericCount + hasher.CategoricalCount;
        _frequent = Enumerable.Range(0, hasher.CategoricalCount).Select(i => new HashSet<uint>(profile.Fields[_numeric + i].FrequentValues ?? [])).ToArray();
        _missingHashes = Enumerable.Range(0, hasher.CategoricalCount).Select(hasher.MissingHash).ToArray();
        _window = options.Window;
        _sampleEvery = options.SampleEvery;
        _scores = new float[_window];
        _bins = new byte[_window];
        _states = new byte[_window * _fields];
        _binCounts = new long[_edges.Length + 1];
        _missing = new long[_fields];
        _unseen = new long[_fields];
    }

    /// <summary>Whether this prediction is one of the sampled (one in <see cref="ServingDriftOptions.SampleEvery"/> per thread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ShouldSample()
    {
        // The countdown is per thread, not per monitor: one left longer by a monitor sampling less often is cut short.
        var left = --t_countdown;
        if (left > 0 && left < _sampleEvery)
        {
            return false;
        }

        t_countdown = _sampleEvery;
        return true;
    }

    /// <summary>Adds a sampled row from its raw numeric values and categorical hashes.</summary>
    public void Observe(ReadOnlySpan<double> numeric, ReadOnlySpan<uint> hashes, float score)
    {
        Span<byte> states = stackalloc byte[_fields];
        for (var i = 0; i < _numeric; i++)
        {
            states[i] = double.IsNaN(numeric[i]) ? Missing : Present;
        }

        for (var i = 0; i < hashes.Length; i++)
        {
            var hash = hashes[i];
            states[_numeric + i] = hash == _missingHashes[i] ? Missing : _frequent[i].Contains(hash) ? Present : Unseen;
        }

        var bin = (byte)TrainingProfile.Bin(_edges, score);
        lock (_gate)
        {
            var slot = _next;
            var row = _states.AsSpan(slot * _fields, _fields);
            if (_count == _window)
            {
                // The oldest sample leaves the window.
                _binCounts[_bins[slot]]--;
                _scoreSum -= _scores[slot];
                Count(row, -1);
            }
            else
            {
                _count++;
            }

            states.CopyTo(row);
            Count(row, 1);
            _bins[slot] = bin;
            _scores[slot] = score;
            _binCounts[bin]++;
            _scoreSum += score;
            _next = slot + 1 == _window ? 0 : slot + 1;
        }
    }

    /// <summary>Empties the window (after the server's request warm-up, whose made-up impressions are not traffic).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            Array.Clear(_binCounts);
            Array.Clear(_missing);
            Array.Clear(_unseen);
            _scoreSum = 0;
            _count = 0;
            _next = 0;
        }
    }

    /// <summary>The window against the profile, now.</summary>
    public ServingDrift Snapshot()
    {
        lock (_gate)
        {
            var n = _count;
            var fields = new FieldDrift[_fields];
            for (var i = 0; i < _fields; i++)
            {
                var profile = _profile.Fields[i];
                double? unseen = null;
                double? trainingUnseen = null;
                if (i >= _numeric)
                {
                    var present = n - _missing[i];
                    unseen = present == 0 ? null : (double)_unseen[i] / present;
                    trainingUnseen = 1 - profile.FrequentShare;
                }

                fields[i] = new FieldDrift(profile.Field, n == 0 ? null : (double)_missing[i] / n, profile.MissingShare, unseen, trainingUnseen);
            }

            return new ServingDrift(
                _version.ModelName,
                _version.Version,
                n,
                _sampleEvery,
                n == 0 ? null : TrainingProfile.Psi(_profile.ScoreShares, _binCounts, n),
                n == 0 ? null : _scoreSum / n,
                _profile.MeanPredictedCtr,
                _profile.ObservedCtr,
                fields);
        }
    }

    private void Count(ReadOnlySpan<byte> states, int delta)
    {
        for (var i = 0; i < states.Length; i++)
        {
            switch (states[i])
            {
                case Missing:
                    _missing[i] += delta;
                    break;
                case Unseen:
                    _unseen[i] += delta;
                    break;
            }
        }
    }
}
