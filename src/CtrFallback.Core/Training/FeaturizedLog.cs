using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using CtrFallback.Data;
using CtrFallback.Features;

namespace CtrFallback.Training;

/// <summary>
/// A click log featurized once into a temporary file of fixed-size binary rows, then memory-mapped: trainers read rows
/// in any order (see <see cref="FeaturizedLogView"/>) without copying them into a cache, so memory is the page cache
/// of one compact file, not objects per row.
/// </summary>
/// <remarks>
/// A row is: label (1 byte), timestamp in Unix seconds (8, <see cref="long.MinValue"/> when there is none), the
/// champion's score (4, NaN without one), the hashed indices in ascending order (4 each) and the log-scaled numeric
/// values (4 each, before their fitted scale), in the machine's byte order: the file lives only as long as the run.
/// </remarks>
internal sealed unsafe partial class FeaturizedLog : IDisposable
{
    private const int Header = 1 + 8 + 4;
    private const long NoTimestamp = long.MinValue;
    private readonly string _path;
    private readonly int _hashed;
    private readonly int _numeric;
    private readonly int _rowSize;

    // Rows and clicks per UTC hour, for choosing the holdout without another full pass.
    private readonly Dictionary<long, long> _perHour = [];
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private long _positives;

    // The holdout is every row whose (timestamp, row index) is at or after this cut: the most recent rows, ties in
    // file order.
    private long _cutSeconds = long.MaxValue;
    private long _cutRow = long.MaxValue;
    private int[] _holdout = [];
    private float[] _scales = [];
    private long _memoryBudget = long.MaxValue;

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

    /// <summary>Bytes of one featurized row.</summary>
    public int RowSize => _rowSize;

    /// <summary>Bytes of the featurized file.</summary>
    public long FileBytes => Rows * _rowSize;

    /// <summary>The memory budget this log was built for (<c>Training:MaxInMemoryTrainingBytes</c>).</summary>
    public long MemoryBudgetBytes => _memoryBudget;

    /// <summary>Whether the file is larger than the memory budget, so every scan releases the pages it has passed.</summary>
    public bool IsBounded => FileBytes > _memoryBudget;

    public long Rows { get; private set; }

    public long HoldoutRows => _holdout.Length;

    public long HoldoutPositives { get; private set; }

    public long TrainingRows => Rows - HoldoutRows;

    public long TrainingPositives => _positives - HoldoutPositives;

    /// <summary>Where the holdout starts, in words, for reports.</summary>
    public string HoldoutDescription { get; private set; } = string.Empty;

    /// <summary>
    /// Reads every row of <paramref name="reader"/>, featurizes it with <paramref name="schema"/>'s hasher and writes it
    /// to a new file in <paramref name="directory"/>. <paramref name="championScorer"/>, when given, scores each row with
    /// the current champion so the gate can compare the two on the very same holdout.
    /// </summary>
    public static FeaturizedLog Build(
        ClickLogReader reader,
        FeatureSchema schema,
        double holdoutFraction,
        Func<ClickLogRow, float>? championScorer,
        string directory,
        Action<long>? progress,
        CancellationToken cancellationToken,
        long memoryBudgetBytes = long.MaxValue,
        RowObserver? observer = null)
    {
        var hasher = new FeatureHasher(schema);
        var path = Path.Combine(directory, $"ctrfallback-{Guid.NewGuid():N}.features");
        var log = new FeaturizedLog(path, hasher) { _memoryBudget = memoryBudgetBytes };
        try
        {
            log.Write(reader, championScorer, observer, progress, cancellationToken);
            log.Map();
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
        if (_view is not null)
        {
            if (_base is not null)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _base = null;
            }

            _view.Dispose();
            _view = null;
        }

        _map?.Dispose();
        _map = null;
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // A temporary file; the OS cleans its temp folder.
        }
    }

    /// <summary>Whether a row is in the holdout.</summary>
    public bool IsHoldout(long row) => IsHoldout(row, Timestamp(row));

    /// <summary>The training rows (in file order), less the negatives that negative downsampling drops.</summary>
    /// <param name="negativeSampleRate">Keep this share of training negatives (1 keeps all); the choice is fixed per row.</param>
    public int[] TrainingRowIndices(double negativeSampleRate)
    {
        var keepBelow = (ulong)(negativeSampleRate * ulong.MaxValue);
        var rows = new List<int>((int)Math.Min(int.MaxValue, TrainingRows));
        var scan = new Scan(this);
        for (var row = 0; row < Rows; row++)
        {
            scan.Passed(row);
            if (IsHoldout(row) || (negativeSampleRate < 1 && !Label(row) && Split(row) >= keepBelow))
            {
                continue;
            }

            rows.Add(row);
        }

        scan.Done();

        return [.. rows];
    }

    /// <summary>The holdout rows, in file order.</summary>
    public int[] HoldoutRowIndices() => _holdout;

    /// <summary>Labels and champion scores of the holdout, in the order of <see cref="HoldoutRowIndices"/>.</summary>
    public (bool[] Labels, float[] ChampionScores) HoldoutLabels()
    {
        var labels = new bool[_holdout.Length];
        var champion = new float[_holdout.Length];
        var scan = new Scan(this);
        for (var k = 0; k < _holdout.Length; k++)
        {
            scan.Passed(_holdout[k]);
            labels[k] = Label(_holdout[k]);
            champion[k] = ChampionScore(_holdout[k]);
        }

        scan.Done();
        return (labels, champion);
    }

    public bool Label(long row) => _base[row * _rowSize] != 0;

    /// <summary>The champion's score of a row (NaN when the log was built without a champion).</summary>
    public float ChampionScore(long row) => MemoryMarshal.Read<float>(RowSpan(row).Slice(9, 4));

    /// <summary>
    /// Distinct hashed features the training rows use, by linear counting over the hash space (occupied slots m·(1 − e^(−D/m))
    /// solved for D): what the collision estimate needs, counted on the features themselves, with no second read of the log.
    /// </summary>
    /// <remarks>When every slot is taken the count is only a lower bound, m·ln m (the rows fill the space).</remarks>
    public long DistinctTrainingFeatures()
    {
        var space = Hasher.HashSpace;
        var occupied = new ulong[(space + 63) / 64];
        var scan = new Scan(this);
        for (var row = 0; row < Rows; row++)
        {
            scan.Passed(row);
            if (IsHoldout(row))
            {
                continue;
            }

            var hashed = (int*)(_base + (row * _rowSize) + Header);
            for (var i = 0; i < _hashed; i++)
            {
                occupied[hashed[i] >> 6] |= 1UL << (hashed[i] & 63);
            }
        }

        scan.Done();
        long taken = 0;
        foreach (var word in occupied)
        {
            taken += System.Numerics.BitOperations.PopCount(word);
        }

        return taken >= space
            ? (long)Math.Ceiling(space * Math.Log(space))
            : (long)Math.Round(-space * Math.Log(1 - ((double)taken / space)));
    }

    /// <summary>Writes one row in the sparse form ML.NET's vectors need (see <see cref="FeatureHasher.ToSparseSorted"/>).</summary>
    /// <returns>The number of entries written.</returns>
    public int ReadSparse(long row, Span<int> indices, Span<float> values)
    {
        // The file is this process's own temporary file: its ints and floats are read in the machine's byte order (as
        // they were written) straight from the mapping.
        var hashed = (int*)(_base + (row * _rowSize) + Header);
        return Hasher.ToSparseSorted(new ReadOnlySpan<int>(hashed, _hashed), new ReadOnlySpan<float>(hashed + _hashed, _numeric), _scales, indices, values);
    }

    /// <summary>Drops the process's mapping of a range of rows (the page cache keeps them), so a bounded pass stays bounded.</summary>
    public void Release(long firstRow, long rowCount)
    {
        if (!OperatingSystem.IsLinux() || rowCount <= 0)
        {
            return;
        }

        const long Page = 4096;
        var start = (long)_base + (firstRow * _rowSize);
        var end = start + (rowCount * _rowSize);
        var alignedStart = (start + Page - 1) & ~(Page - 1);
        var alignedEnd = end & ~(Page - 1);
        if (alignedEnd > alignedStart)
        {
            _ = Native.madvise((nint)alignedStart, (nuint)(alignedEnd - alignedStart), Native.MadvDontNeed);
        }
    }

    private static ulong Split(long index)
    {
        var x = (ulong)index + 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private static long HourOf(long seconds) => seconds == NoTimestamp ? NoTimestamp : seconds - (((seconds % 3600) + 3600) % 3600);

    private ReadOnlySpan<byte> RowSpan(long row) => new(_base + (row * _rowSize), _rowSize);

    private long Timestamp(long row) => MemoryMarshal.Read<long>(RowSpan(row).Slice(1, 8));

    private bool IsHoldout(long row, long seconds) =>
        seconds > _cutSeconds || (seconds == _cutSeconds && row >= _cutRow);

    private void Map()
    {
        if (Rows == 0)
        {
            return;
        }

        _map = MemoryMappedFile.CreateFromFile(_path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, FileBytes, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
    }

    private void Write(ClickLogReader reader, Func<ClickLogRow, float>? championScorer, RowObserver? observer, Action<long>? progress, CancellationToken cancellationToken)
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

                if (Rows == int.MaxValue)
                {
                    throw new NotSupportedException($"A training batch holds at most {int.MaxValue:N0} rows; split the log.");
                }

                var row = reader.Row;
                for (var i = 0; i < hashes.Length; i++)
                {
                    hashes[i] = hasher.HashCategorical(i, row.Categorical(i));
                }

                hasher.Featurize(row.Numeric, hashes, row.Timestamp, indices, dense);
                observer?.Invoke(row, hashes);

                // Sorted once here, not on every training pass.
                SmallSort.Sort(indices);
                for (var i = 0; i < _numeric; i++)
                {
                    sumSquares[i] += (double)dense[i] * dense[i];
                }

                buffer[0] = row.Label ? (byte)1 : (byte)0;
                positives += row.Label ? 1 : 0;
                var seconds = row.Timestamp?.ToUnixTimeSeconds() ?? NoTimestamp;
                CollectionsMarshal.GetValueRefOrAddDefault(_perHour, HourOf(seconds), out _)++;
                MemoryMarshal.Write(buffer.AsSpan(1), seconds);
                MemoryMarshal.Write(buffer.AsSpan(9), championScorer?.Invoke(row) ?? float.NaN);
                MemoryMarshal.AsBytes(indices.AsSpan()).CopyTo(buffer.AsSpan(Header));
                MemoryMarshal.AsBytes(dense.AsSpan()).CopyTo(buffer.AsSpan(Header + (4 * _hashed)));

                stream.Write(buffer);
                Rows++;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();

        // Scale each log-count to unit root-mean-square: linear trainers need normalized inputs beside 0/1 indicators.
        var scales = sumSquares.Select(s => Rows == 0 || s <= 0 ? 1f : (float)(1 / Math.Sqrt(s / Rows))).ToArray();
        Hasher = new FeatureHasher(hasher.Schema, scales, hasher.HasherVersion);
        _scales = scales;
        _positives = positives;
    }

    private void SelectHoldout(double fraction, bool byTimestamp)
    {
        var target = (long)Math.Round(Rows * fraction);
        if (target == 0)
        {
            HoldoutDescription = "too few rows: empty holdout";
            return;
        }

        if (!byTimestamp)
        {
            (_cutSeconds, _cutRow) = (NoTimestamp, Rows - target);
            HoldoutDescription = $"the last {target:N0} rows in file order";
        }
        else
        {
            // Time-ordered split: a random split leaks future clicks into training. The holdout is the most recent
            // rows by timestamp; rows of the same time (a one-hour extract, say) are split by file order, so every
            // log gets about the share asked for. The per-hour counts find the boundary hour; only its rows are sorted.
            long above = 0;
            var boundary = NoTimestamp;
            foreach (var (hour, rows) in _perHour.OrderByDescending(h => h.Key))
            {
                boundary = hour;
                if (above + rows >= target)
                {
                    break;
                }

                above += rows;
            }

            var need = target - above;
            var keys = new List<(long Seconds, long Row)>();
            var keyScan = new Scan(this);
            for (long row = 0; row < Rows; row++)
            {
                keyScan.Passed(row);
                var seconds = Timestamp(row);
                if (HourOf(seconds) == boundary)
                {
                    keys.Add((seconds, row));
                }
            }

            keyScan.Done();
            keys.Sort();
            (_cutSeconds, _cutRow) = keys[(int)(keys.Count - Math.Min(need, keys.Count))];
            var tied = keys.Count(k => k.Seconds == _cutSeconds);
            var heldAtCut = keys.Count(k => k.Seconds == _cutSeconds && k.Row >= _cutRow);
            HoldoutDescription = _cutSeconds == NoTimestamp
                ? $"the last {target:N0} rows in file order (the rows have no timestamps)"
                : $"the most recent {target:N0} rows by timestamp: rows at or after {DateTimeOffset.FromUnixTimeSeconds(_cutSeconds):yyyy-MM-dd HH:mm:ss} UTC"
                  + (heldAtCut < tied ? $", of the {tied:N0} rows at that time the last {heldAtCut:N0} in file order" : string.Empty);
        }

        var holdout = new List<int>((int)target);
        var scan = new Scan(this);
        for (var row = 0; row < Rows; row++)
        {
            scan.Passed(row);
            if (IsHoldout(row))
            {
                holdout.Add(row);
                HoldoutPositives += Label(row) ? 1 : 0;
            }
        }

        scan.Done();
        _holdout = [.. holdout];
    }

    /// <summary>
    /// A scan in ascending file order that, when the file is larger than the memory budget, drops the pages of each
    /// chunk of rows once past it, so a pass over a large log keeps memory bounded as training passes do.
    /// </summary>
    internal struct Scan(FeaturizedLog log)
    {
        private const long ChunkRows = 1 << 16;
        private long _released;

        public void Passed(long row)
        {
            if (log.IsBounded && row - _released >= 2 * ChunkRows)
            {
                var end = row - ChunkRows;
                log.Release(_released, end - _released);
                _released = end;
            }
        }

        public readonly void Done()
        {
            if (log.IsBounded)
            {
                log.Release(_released, log.Rows - _released);
            }
        }
    }

    private static partial class Native
    {
        public const int MadvDontNeed = 4;

        [LibraryImport("libc", SetLastError = true)]
        public static partial int madvise(nint address, nuint length, int advice);
    }
}

/// <summary>Sees one row of a click log as it is featurized, with its categorical hashes.</summary>
internal delegate void RowObserver(ClickLogRow row, ReadOnlySpan<uint> categoricalHashes);

/// <summary>One featurized row as ML.NET sees it (serving's ML.NET engine and offline scoring).</summary>
internal sealed class FeatureVectorRow
{
    public bool Label { get; set; }

    public Microsoft.ML.Data.VBuffer<float> Features { get; set; }

    [Microsoft.ML.Data.NoColumn]
    public float ChampionScore { get; set; }
}
