using System.Buffers.Binary;
using System.Runtime.InteropServices;
using CtrFallback.Data;
using CtrFallback.Features;
using Microsoft.ML.Data;

namespace CtrFallback.Training;

/// <summary>
/// A click log featurized once into a temporary file of fixed-size binary rows, so that training passes stream
/// from disk (the page cache) instead of holding rows as objects: memory stays bounded by the model, not the log.
/// </summary>
internal sealed class FeaturizedLog : IDisposable
{
    private const int Header = 1 + 8 + 4; // label, timestamp seconds, champion score
    private readonly string _path;
    private readonly int _hashed;
    private readonly int _numeric;
    private readonly int _rowSize;
    private long _holdoutTimestamp = long.MaxValue;
    private long _holdoutStartRow = long.MaxValue;
    private long _positives;

    // Rows and clicks per UTC hour (timestamped logs only), for choosing the holdout without another pass.
    private readonly Dictionary<long, (long Rows, long Positives)> _perHour = [];

    private FeaturizedLog(string path, FeatureHasher hasher)
    {
        _path = path;
        Hasher = hasher;
        _hashed = hasher.HashedCount;
        _numeric = hasher.NumericCount;
        _rowSize = Header + (4 * _hashed) + (4 * _numeric);
    }

    /// <summary>The hasher with the numeric scales fitted on this log.</summary>
    public FeatureHasher Hasher { get; private set; }

    public long Rows { get; private set; }

    public long HoldoutRows { get; private set; }

    public long HoldoutPositives { get; private set; }

    public long TrainingRows => Rows - HoldoutRows;

    public long TrainingPositives { get; private set; }

    /// <summary>Rows the last complete pass of <see cref="Vectors"/> returned (after negative downsampling).</summary>
    public long LastPassRows { get; private set; }

    /// <summary>Where the holdout starts, in words, for reports.</summary>
    public string HoldoutDescription { get; private set; } = string.Empty;

    /// <summary>
    /// Reads every row of <paramref name="reader"/>, featurizes it with <paramref name="schema"/>'s hasher and writes it out.
    /// <paramref name="championScorer"/>, when given, scores each row with the current champion so the gate can compare
    /// the two on the very same holdout.
    /// </summary>
    public static FeaturizedLog Build(
        ClickLogReader reader,
        FeatureSchema schema,
        double holdoutFraction,
        Func<ClickLogRow, float>? championScorer,
        Action<long>? progress,
        CancellationToken cancellationToken)
    {
        var hasher = new FeatureHasher(schema);
        var path = Path.Combine(Path.GetTempPath(), $"ctrfallback-{Guid.NewGuid():N}.features");
        var log = new FeaturizedLog(path, hasher);
        try
        {
            log.Write(reader, championScorer, progress, cancellationToken);
            log.SelectHoldout(holdoutFraction, schema.Timestamp is not null);
            return log;
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // A temporary file; the OS cleans its temp folder.
        }
    }

    public bool IsHoldout(long rowIndex, long timestampSeconds) =>
        timestampSeconds != long.MinValue ? timestampSeconds >= _holdoutTimestamp : rowIndex >= _holdoutStartRow;

    /// <summary>Streams rows as ML.NET feature vectors.</summary>
    /// <param name="holdout">The holdout (<see langword="true"/>) or the training rows.</param>
    /// <param name="negativeSampleRate">Keep this share of training negatives (1 keeps all); the choice is fixed per row, so every pass sees the same rows.</param>
    /// <param name="shuffleSeed">For training rows: a seed for one fixed shuffled order, the same on every pass (the holdout always streams in file order).</param>
    public IEnumerable<FeatureVectorRow> Vectors(bool holdout, double negativeSampleRate = 1, int shuffleSeed = 0)
    {
        var row = new FeatureVectorRow();
        var indices = new int[_hashed + _numeric];
        var values = new float[_hashed + _numeric];
        var hashed = new int[_hashed];
        var dense = new float[_numeric];
        var scales = Hasher.NumericScales;
        var keepBelow = (ulong)(negativeSampleRate * ulong.MaxValue);
        long returned = 0;
        foreach (var (index, buffer) in holdout ? RawRows(HoldoutScanStart) : ShuffledRows(shuffleSeed))
        {
            var label = buffer[0] != 0;
            var ts = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(1));
            if (IsHoldout(index, ts) != holdout)
            {
                continue;
            }

            if (!holdout && !label && negativeSampleRate < 1 && Split(index) >= keepBelow)
            {
                continue;
            }

            var count = ToSparse(buffer, hashed, dense, indices, values, scales);
            row.Label = label;
            row.Features = new VBuffer<float>(Hasher.Dimension, count, values, indices);
            row.ChampionScore = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(9)));
            returned++;
            yield return row;
        }

        LastPassRows = returned;
    }

    /// <summary>Labels and champion scores of the holdout, in row order.</summary>
    public (bool[] Labels, float[] ChampionScores) HoldoutLabels()
    {
        var labels = new bool[HoldoutRows];
        var champion = new float[HoldoutRows];
        var k = 0;
        foreach (var (index, buffer) in RawRows(HoldoutScanStart))
        {
            if (IsHoldout(index, BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(1))))
            {
                labels[k] = buffer[0] != 0;
                champion[k++] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(9)));
            }
        }

        return (labels, champion);
    }

    private static ulong Split(long index)
    {
        var x = (ulong)index + 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private int ToSparse(byte[] buffer, int[] hashed, float[] dense, int[] indices, float[] values, IReadOnlyList<float> scales)
    {
        var span = buffer.AsSpan(Header);
        for (var i = 0; i < _hashed; i++)
        {
            hashed[i] = BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]);
        }

        for (var i = 0; i < _numeric; i++)
        {
            dense[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(span[(4 * (_hashed + i))..])) * scales[i];
        }

        return Hasher.ToSparse(hashed, dense, indices, values);
    }

    /// <summary>
    /// Rows in a fixed pseudo-random order: blocks in shuffled order, rows shuffled within each block. Time-ordered logs
    /// otherwise end every pass on the most recent rows, which skews the learned bias; memory stays one block.
    /// </summary>
    private IEnumerable<(long Index, byte[] Buffer)> ShuffledRows(int seed)
    {
        const int BlockRows = 4096;
        var random = new Random(seed);
        var blocks = new long[(Rows + BlockRows - 1) / BlockRows];
        for (long b = 0; b < blocks.Length; b++)
        {
            blocks[b] = b;
        }

        random.Shuffle(blocks);
        var block = new byte[BlockRows * _rowSize];
        var order = new int[BlockRows];
        var row = new byte[_rowSize];
        using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        foreach (var b in blocks)
        {
            var first = b * BlockRows;
            var count = (int)Math.Min(BlockRows, Rows - first);
            stream.Position = first * _rowSize;
            stream.ReadExactly(block, 0, count * _rowSize);
            for (var i = 0; i < count; i++)
            {
                order[i] = i;
            }

            random.Shuffle(order.AsSpan(0, count));
            for (var i = 0; i < count; i++)
            {
                Buffer.BlockCopy(block, order[i] * _rowSize, row, 0, _rowSize);
                yield return (first + order[i], row);
            }
        }
    }

    /// <summary>Where a holdout scan must start: the holdout's first row when split by row, else the beginning.</summary>
    private long HoldoutScanStart => _holdoutStartRow == long.MaxValue ? 0 : _holdoutStartRow;

    private IEnumerable<(long Index, byte[] Buffer)> RawRows(long start = 0)
    {
        var buffer = new byte[_rowSize];
        using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        stream.Position = start * _rowSize;
        for (var index = start; index < Rows; index++)
        {
            stream.ReadExactly(buffer);
            yield return (index, buffer);
        }
    }

    private void Write(ClickLogReader reader, Func<ClickLogRow, float>? championScorer, Action<long>? progress, CancellationToken cancellationToken)
    {
        var hasher = Hasher;
        var buffer = new byte[_rowSize];
        var hashes = new uint[hasher.CategoricalCount];
        var indices = new int[_hashed];
        var dense = new float[_numeric];
        var sumSquares = new double[_numeric];
        long positives = 0;
        using (var stream = new FileStream(_path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.None))
        {
            while (reader.Read())
            {
                if ((Rows & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Invoke(Rows);
                }

                var row = reader.Row;
                for (var i = 0; i < hashes.Length; i++)
                {
                    hashes[i] = hasher.HashCategorical(i, row.Categorical(i));
                }

                hasher.Featurize(row.Numeric, hashes, row.Timestamp, indices, dense);
                for (var i = 0; i < _numeric; i++)
                {
                    sumSquares[i] += (double)dense[i] * dense[i];
                }

                buffer[0] = row.Label ? (byte)1 : (byte)0;
                positives += row.Label ? 1 : 0;
                if (row.Timestamp is { } timestamp)
                {
                    var seconds = timestamp.ToUnixTimeSeconds();
                    ref var hour = ref CollectionsMarshal.GetValueRefOrAddDefault(_perHour, seconds - (((seconds % 3600) + 3600) % 3600), out _);
                    hour = (hour.Rows + 1, hour.Positives + (row.Label ? 1 : 0));
                }

                BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(1), row.Timestamp?.ToUnixTimeSeconds() ?? long.MinValue);
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(9), BitConverter.SingleToInt32Bits(championScorer?.Invoke(row) ?? float.NaN));
                var span = buffer.AsSpan(Header);
                for (var i = 0; i < _hashed; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(span[(4 * i)..], indices[i]);
                }

                for (var i = 0; i < _numeric; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(span[(4 * (_hashed + i))..], BitConverter.SingleToInt32Bits(dense[i]));
                }

                stream.Write(buffer);
                Rows++;
            }
        }

        // Scale each log-count to unit root-mean-square: linear trainers need normalized inputs beside 0/1 indicators.
        var scales = sumSquares.Select(s => Rows == 0 || s <= 0 ? 1f : (float)(1 / Math.Sqrt(s / Rows))).ToArray();
        Hasher = new FeatureHasher(hasher.Schema, scales);
        _positives = positives;
    }

    private void SelectHoldout(double fraction, bool byTimestamp)
    {
        var target = (long)Math.Round(Rows * fraction);
        if (byTimestamp)
        {
            // Time-ordered split: a random split leaks future clicks into training. The most recent hours are held
            // out, from the per-hour counts gathered while writing (rows without a timestamp stay in training).
            foreach (var (hour, (rows, positives)) in _perHour.OrderByDescending(h => h.Key))
            {
                if (HoldoutRows >= target && HoldoutRows > 0)
                {
                    break;
                }

                HoldoutRows += rows;
                HoldoutPositives += positives;
                _holdoutTimestamp = hour;
            }

            HoldoutDescription = _holdoutTimestamp == long.MaxValue
                ? "no timestamps: empty holdout"
                : $"rows at or after {DateTimeOffset.FromUnixTimeSeconds(_holdoutTimestamp):yyyy-MM-dd HH:mm} UTC";
        }
        else
        {
            _holdoutStartRow = Rows - target;
            HoldoutDescription = $"the last {target:N0} rows";
            foreach (var (_, buffer) in RawRows(_holdoutStartRow))
            {
                HoldoutRows++;
                HoldoutPositives += buffer[0];
            }
        }

        TrainingPositives = _positives - HoldoutPositives;
    }
}

/// <summary>One featurized row as ML.NET sees it.</summary>
internal sealed class FeatureVectorRow
{
    public bool Label { get; set; }

    public VBuffer<float> Features { get; set; }

    [NoColumn]
    public float ChampionScore { get; set; }
}
