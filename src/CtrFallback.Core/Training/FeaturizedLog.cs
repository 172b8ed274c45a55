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
/// <para>
/// A row is: label (1 byte), timestamp in Unix seconds (8, <see cref="long.MinValue"/> when there is none), the
/// champion's score (4, NaN without one), the row's number among the rows read (4), the hashed indices in ascending
/// order (4 each) and the log-scaled numeric values (4 each, before their fitted scale), in the machine's byte order:
/// the file lives only as long as the run.
/// </para>
/// <para>
/// Negative downsampling happens as the log is written: the file holds the kept training rows and the holdout only.
/// A row waits, in full, in a tail of chunk files while it could still be a holdout row; once it is certainly a
/// training row, a negative the sample drops is forgotten and a kept row moves to the file. With a holdout by file
/// order that is a bounded distance behind the read (the tail is about the holdout's size); with a holdout by timestamp
/// no row is certain before the newest has been read, so the whole log waits and is sampled once the read is done.
/// </para>
/// </remarks>
internal sealed unsafe partial class FeaturizedLog : IDisposable
{
    private const int Header = 1 + 8 + 4 + 4;
    private const long NoTimestamp = long.MinValue;

    // Undecided rows wait in files of about this size: small beside the tail, large enough to be read in one call.
    private const int TailChunkBytes = 4 << 20;
    private readonly string _path;
    private readonly int _hashed;
    private readonly int _numeric;
    private readonly int _rowSize;
    private readonly double _holdoutFraction;
    private readonly bool _byTimestamp;
    private readonly double _negativeSampleRate;
    private readonly ulong _keepBelow;
    private readonly int _tailChunkRows;

    // Rows and clicks per UTC hour, for choosing the holdout without another full pass.
    private readonly Dictionary<long, long> _perHour = [];

    // The tail: rows read but not yet settled, oldest chunk first.
    private readonly Queue<TailChunk> _tail = new();
    private readonly List<int> _holdout = [];
    private readonly List<int> _holdoutRead = [];

    // The hash slots the training rows use (every training row, kept or dropped), for the collision estimate.
    private readonly ulong[] _trainingSlots;
    private byte[] _chunkBuffer = [];
    private long _tailRows;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private long _positives;

    // The holdout is every row whose (timestamp, row number) is at or after this cut: the most recent rows, ties in
    // file order. Until the read is done the cut is past every row, so whatever is settled before is a training row.
    private long _cutSeconds = long.MaxValue;
    private long _cutRow = long.MaxValue;
    private float[] _scales = [];
    private long _memoryBudget = long.MaxValue;

    private FeaturizedLog(string path, FeatureHasher hasher, double holdoutFraction, bool byTimestamp, double negativeSampleRate, int tailChunkRows)
    {
        _path = path;
        Hasher = hasher;
        _hashed = hasher.HashedCount;
        _numeric = hasher.NumericCount;
        _rowSize = Header + (4 * _hashed) + (4 * _numeric);
        _holdoutFraction = holdoutFraction;
        _byTimestamp = byTimestamp;
        _negativeSampleRate = negativeSampleRate;
        _keepBelow = (ulong)(negativeSampleRate * ulong.MaxValue);
        _tailChunkRows = tailChunkRows > 0 ? tailChunkRows : Math.Max(1, TailChunkBytes / _rowSize);
        _trainingSlots = new ulong[(hasher.HashSpace + 63) / 64];
    }

    /// <summary>The hasher with the numeric scales fitted on this log.</summary>
    public FeatureHasher Hasher { get; private set; }

    /// <summary>Bytes of one featurized row.</summary>
    public int RowSize => _rowSize;

    /// <summary>Bytes of the featurized file.</summary>
    public long FileBytes => StoredRows * _rowSize;

    /// <summary>The memory budget this log was built for (<c>Training:MaxInMemoryTrainingBytes</c>).</summary>
    public long MemoryBudgetBytes => _memoryBudget;

    /// <summary>Whether the file is larger than the memory budget, so every scan releases the pages it has passed.</summary>
    public bool IsBounded => FileBytes > _memoryBudget;

    /// <summary>Well-formed rows read.</summary>
    public long Rows { get; private set; }

    /// <summary>Rows in the file: the kept training rows and the holdout. Row arguments of this class count these.</summary>
    public long StoredRows { get; private set; }

    /// <summary>Training negatives the negative downsampling dropped.</summary>
    public long DroppedNegatives { get; private set; }

    /// <summary>Whether some rows were settled while the log was still being read (a holdout by file order, with sampling).</summary>
    public bool SampledDuringRead { get; private set; }

    /// <summary>The most rows on disk at once while the log was written: the file's rows and the tail's.</summary>
    public long PeakRowsHeld { get; private set; }

    public long HoldoutRows => _holdout.Count;

    public long HoldoutPositives { get; private set; }

    /// <summary>Training rows read, before negative downsampling.</summary>
    public long TrainingRows => Rows - HoldoutRows;

    public long TrainingPositives => _positives - HoldoutPositives;

    /// <summary>Where the holdout starts, in words, for reports.</summary>
    public string HoldoutDescription { get; private set; } = string.Empty;

    /// <summary>
    /// Reads every row of <paramref name="reader"/>, featurizes it with <paramref name="schema"/>'s hasher and writes the
    /// holdout and the training rows that <paramref name="negativeSampleRate"/> keeps to a new file in
    /// <paramref name="directory"/>. <paramref name="championScorer"/>, when given, scores each row with the current
    /// champion so the gate can compare the two on the very same holdout. <paramref name="negativeSampleRate"/> is the
    /// share of training negatives kept (1 keeps all; the choice is fixed per row number); <paramref name="tailChunkRows"/>
    /// the rows per chunk file of the undecided tail (0 for chunks of about 4 MiB).
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
        RowObserver? observer = null,
        double negativeSampleRate = 1,
        int tailChunkRows = 0)
    {
        var hasher = new FeatureHasher(schema);
        var path = Path.Combine(directory, $"ctrfallback-{Guid.NewGuid():N}.features");
        var log = new FeaturizedLog(path, hasher, holdoutFraction, schema.Timestamp is not null, negativeSampleRate, tailChunkRows) { _memoryBudget = memoryBudgetBytes };
        try
        {
            log.Write(reader, championScorer, observer, progress, cancellationToken);
            log.Map();
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
        foreach (var path in _tail.Where(c => !c.InPlace).Select(c => c.Path).Append(_path))
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // A temporary file; the OS cleans its temp folder.
            }
        }

        _tail.Clear();
    }

    /// <summary>Whether a row is in the holdout.</summary>
    /// <param name="readRow">The row's number among the well-formed rows read, from 0 in file order (not a stored row).</param>
    public bool IsHoldout(long readRow) => readRow <= int.MaxValue && CollectionsMarshal.AsSpan(_holdoutRead).BinarySearch((int)readRow) >= 0;

    /// <summary>The stored training rows (in file order): every training row the negative downsampling kept.</summary>
    public int[] TrainingRowIndices()
    {
        var rows = new int[StoredRows - HoldoutRows];
        var next = 0;
        var holdout = 0;
        for (var row = 0; row < StoredRows; row++)
        {
            if (holdout < _holdout.Count && _holdout[holdout] == row)
            {
                holdout++;
                continue;
            }

            rows[next++] = row;
        }

        return rows;
    }

    /// <summary>The stored holdout rows, in file order.</summary>
    public int[] HoldoutRowIndices() => [.. _holdout];

    /// <summary>The read numbers (see <see cref="IsHoldout"/>) of stored rows.</summary>
    public int[] ReadRows(int[] rows)
    {
        var read = new int[rows.Length];
        for (var k = 0; k < rows.Length; k++)
        {
            read[k] = ReadRow(rows[k]);
        }

        return read;
    }

    /// <summary>A stored row's number among the rows read.</summary>
    public int ReadRow(long row) => MemoryMarshal.Read<int>(RowSpan(row).Slice(13, 4));

    /// <summary>Labels and champion scores of the holdout, in the order of <see cref="HoldoutRowIndices"/>.</summary>
    public (bool[] Labels, float[] ChampionScores) HoldoutLabels()
    {
        var labels = new bool[_holdout.Count];
        var champion = new float[_holdout.Count];
        var scan = new Scan(this);
        for (var k = 0; k < _holdout.Count; k++)
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
    /// Distinct hashed features the training rows use (all of them, the ones the sampling dropped too), by linear
    /// counting over the hash space (occupied slots m·(1 − e^(−D/m)) solved for D): what the collision estimate needs,
    /// counted on the features themselves as the rows are settled, with no second read of the log.
    /// </summary>
    /// <remarks>When every slot is taken the count is only a lower bound, m·ln m (the rows fill the space).</remarks>
    public long DistinctTrainingFeatures()
    {
        var space = Hasher.HashSpace;
        long taken = 0;
        foreach (var word in _trainingSlots)
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

    /// <summary>The per-row hash that negative downsampling keeps a negative by: kept when below the rate's share of the range.</summary>
    internal static ulong Split(long readRow)
    {
        var x = (ulong)readRow + 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private static long HourOf(long seconds) => seconds == NoTimestamp ? NoTimestamp : seconds - (((seconds % 3600) + 3600) % 3600);

    private ReadOnlySpan<byte> RowSpan(long row) => new(_base + (row * _rowSize), _rowSize);

    private bool IsAtOrAfterCut(long readRow, long seconds) =>
        seconds > _cutSeconds || (seconds == _cutSeconds && readRow >= _cutRow);

    private void Map()
    {
        if (StoredRows == 0)
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
        reader.HashCategoricalsAhead(hasher);
        var buffer = new byte[_rowSize];
        var categorical = hasher.CategoricalCount;
        var batchHashes = Array.Empty<uint>();
        var indices = new int[_hashed];
        var dense = new float[_numeric];
        var sumSquares = new double[_numeric];
        long positives = 0;
        using (var file = new FileStream(_path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 20, FileOptions.None))
        {
            // Without sampling nothing is dropped: rows go straight to the file and are settled there once all are read.
            var inPlace = _negativeSampleRate >= 1;
            if (inPlace)
            {
                _tail.Enqueue(new TailChunk(_path, 0, InPlace: true));
            }

            FileStream? chunk = null;
            var chunkFirst = 0;
            try
            {
                ReadOnlySpan<ClickLogRow> rows = default;
                var next = 0;
                while (true)
                {
                    if (next == rows.Length)
                    {
                        rows = reader.ReadRows();
                        next = 0;
                        if (rows.IsEmpty)
                        {
                            break;
                        }

                        // The batch's categoricals hashed together: a typed source's columns are then read in order.
                        if (batchHashes.Length < rows.Length * categorical)
                        {
                            batchHashes = new uint[rows.Length * categorical];
                        }

                        ClickLogRow.HashCategoricals(hasher, rows, batchHashes);
                    }

                    var row = rows[next];
                    var hashes = batchHashes.AsSpan(next++ * categorical, categorical);
                    if ((Rows & 0xFFFF) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        progress?.Invoke(Rows);
                    }

                    if (Rows == int.MaxValue)
                    {
                        throw new NotSupportedException($"A training batch holds at most {int.MaxValue:N0} rows; split the log.");
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
                    MemoryMarshal.Write(buffer.AsSpan(13), (int)Rows);
                    MemoryMarshal.AsBytes(indices.AsSpan()).CopyTo(buffer.AsSpan(Header));
                    MemoryMarshal.AsBytes(dense.AsSpan()).CopyTo(buffer.AsSpan(Header + (4 * _hashed)));

                    if (inPlace)
                    {
                        file.Write(buffer);
                    }
                    else
                    {
                        chunkFirst = chunk is null ? (int)Rows : chunkFirst;
                        chunk ??= OpenChunk(chunkFirst);
                        chunk.Write(buffer);
                    }

                    Rows++;
                    _tailRows++;
                    if (chunk is not null && Rows - chunkFirst == _tailChunkRows)
                    {
                        chunk.Dispose();
                        chunk = null;
                    }

                    if (!inPlace)
                    {
                        SettleCertainTrainingRows(file);
                    }
                }
            }
            finally
            {
                chunk?.Dispose();
            }

            cancellationToken.ThrowIfCancellationRequested();
            file.Flush();
            PeakRowsHeld = Math.Max(PeakRowsHeld, StoredRows + _tailRows);
            SelectHoldout();
            while (_tail.Count > 0)
            {
                Settle(file);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();

        // Scale each log-count to unit root-mean-square: linear trainers need normalized inputs beside 0/1 indicators.
        var scales = sumSquares.Select(s => Rows == 0 || s <= 0 ? 1f : (float)(1 / Math.Sqrt(s / Rows))).ToArray();
        Hasher = new FeatureHasher(hasher.Schema, scales, hasher.HasherVersion);
        _scales = scales;
        _positives = positives;
    }

    private FileStream OpenChunk(int firstRow)
    {
        var path = $"{_path}.tail{_tail.Count}-{firstRow}";
        _tail.Enqueue(new TailChunk(path, firstRow, InPlace: false));
        return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.None);
    }

    /// <summary>
    /// With a holdout by file order, settles the tail's oldest (closed) chunks once all their rows are certainly training rows:
    /// after n rows the holdout is the last round(n·f), and n − round(n·f) never falls by more than one as n grows, so
    /// every row below n − round(n·f) − 1 stays a training row however long the log turns out to be.
    /// </summary>
    private void SettleCertainTrainingRows(FileStream file)
    {
        if (_byTimestamp)
        {
            return;
        }

        var certain = Rows - (long)Math.Round(Rows * _holdoutFraction) - 1;
        while (_tail.Count > 0 && _tail.Peek().FirstRow + _tailChunkRows <= certain)
        {
            Settle(file);
            SampledDuringRead = true;
        }
    }

    /// <summary>
    /// Moves the oldest tail chunk's holdout rows and kept training rows to the file, in order, and deletes the chunk
    /// (a chunk in place is the file itself, all of it kept). A training row's features count for the collision
    /// estimate whether the sampling keeps it or not.
    /// </summary>
    private void Settle(FileStream file)
    {
        var chunk = _tail.Peek();
        var readRow = chunk.FirstRow;
        var held = StoredRows + _tailRows;
        foreach (var rows in Blocks(chunk.Path))
        {
            for (var k = 0; k < rows; k++, readRow++)
            {
                var row = _chunkBuffer.AsSpan(k * _rowSize, _rowSize);
                var label = row[0] != 0;
                if (IsAtOrAfterCut(readRow, MemoryMarshal.Read<long>(row[1..])))
                {
                    _holdout.Add((int)StoredRows);
                    _holdoutRead.Add(readRow);
                    HoldoutPositives += label ? 1 : 0;
                }
                else
                {
                    foreach (var slot in MemoryMarshal.Cast<byte, int>(row.Slice(Header, 4 * _hashed)))
                    {
                        _trainingSlots[slot >> 6] |= 1UL << (slot & 63);
                    }

                    if (_negativeSampleRate < 1 && !label && Split(readRow) >= _keepBelow)
                    {
                        DroppedNegatives++;
                        continue;
                    }
                }

                if (!chunk.InPlace)
                {
                    file.Write(row);
                    held++;
                }

                StoredRows++;
            }
        }

        // The chunk's kept rows are in the file and still in the chunk until it is deleted.
        PeakRowsHeld = Math.Max(PeakRowsHeld, held);
        _tailRows -= readRow - chunk.FirstRow;
        _tail.Dequeue();
        if (!chunk.InPlace)
        {
            File.Delete(chunk.Path);
        }
    }

    /// <summary>Reads a file of rows into the chunk buffer, a block of about 4 MiB at a time.</summary>
    /// <returns>The rows in the buffer, block after block.</returns>
    private IEnumerable<int> Blocks(string path)
    {
        var blockBytes = Math.Max(1, TailChunkBytes / _rowSize) * _rowSize;
        if (_chunkBuffer.Length < blockBytes)
        {
            _chunkBuffer = new byte[blockBytes];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        int bytes;
        while ((bytes = stream.ReadAtLeast(_chunkBuffer.AsSpan(0, blockBytes), blockBytes, throwOnEndOfStream: false)) > 0)
        {
            yield return bytes / _rowSize;
        }
    }

    /// <summary>Sets the holdout's cut, once every row has been read; the rows still in the tail are the ones it can cut.</summary>
    private void SelectHoldout()
    {
        var target = (long)Math.Round(Rows * _holdoutFraction);
        if (target == 0)
        {
            HoldoutDescription = "too few rows: empty holdout";
            return;
        }

        if (!_byTimestamp)
        {
            (_cutSeconds, _cutRow) = (NoTimestamp, Rows - target);
            HoldoutDescription = $"the last {target:N0} rows in file order";
            return;
        }

        // Time-ordered split: a random split leaks future clicks into training. The holdout is the most recent rows by
        // timestamp; rows of the same time (a one-hour extract, say) are split by file order, so every log gets about
        // the share asked for. The per-hour counts find the boundary hour; only its rows are sorted. Nothing was settled
        // during the read, so every row is in the tail.
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
        foreach (var chunk in _tail)
        {
            long readRow = chunk.FirstRow;
            foreach (var rows in Blocks(chunk.Path))
            {
                for (var k = 0; k < rows; k++, readRow++)
                {
                    var seconds = MemoryMarshal.Read<long>(_chunkBuffer.AsSpan((k * _rowSize) + 1, 8));
                    if (HourOf(seconds) == boundary)
                    {
                        keys.Add((seconds, readRow));
                    }
                }
            }
        }

        keys.Sort();
        (_cutSeconds, _cutRow) = keys[(int)(keys.Count - Math.Min(need, keys.Count))];
        var tied = keys.Count(k => k.Seconds == _cutSeconds);
        var heldAtCut = keys.Count(k => k.Seconds == _cutSeconds && k.Row >= _cutRow);
        HoldoutDescription = _cutSeconds == NoTimestamp
            ? $"the last {target:N0} rows in file order (the rows have no timestamps)"
            : $"the most recent {target:N0} rows by timestamp: rows at or after {DateTimeOffset.FromUnixTimeSeconds(_cutSeconds):yyyy-MM-dd HH:mm:ss} UTC"
              + (heldAtCut < tied ? $", of the {tied:N0} rows at that time the last {heldAtCut:N0} in file order" : string.Empty);
    }

    /// <summary>
    /// A file of the undecided tail: consecutive rows from <paramref name="FirstRow"/> (a read number), or, in place,
    /// the featurized file itself.
    /// </summary>
    private readonly record struct TailChunk(string Path, int FirstRow, bool InPlace);

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
                log.Release(_released, log.StoredRows - _released);
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
