using System.Diagnostics;
using System.Text;
using ParquetSharp;

namespace CtrFallback.Benchmarks;

/// <summary>
/// Parquet.Net against ParquetSharp for the click-log reader's access pattern: every row group of every file, the
/// schema's columns (int64 numerics, string categoricals), each value turned into what the reader needs (a number,
/// or the string's characters). One thread, no parsing or featurizing: the libraries' own share of reading.
/// <c>parquet-libraries FOLDER [ROUNDS]</c>; prints wall and CPU seconds of each round.
/// </summary>
internal static class ParquetLibraries
{
    public static async Task RunAsync(string folder, int rounds)
    {
        var files = Directory.GetFiles(folder, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        var cases = new (string Name, Func<string[], Task<long>> Read)[]
        {
            ("ParquetSharp column readers (as ParquetRecordSource)", f => Task.FromResult(ParquetSharpPhysical(f))),
            ("ParquetSharp logical readers (long?[], string[])", f => Task.FromResult(ParquetSharpLogical(f))),
            ("Parquet.Net 6.1 ReadAsync (long?[], string[])", ParquetNetAsync),
        };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, read) in cases)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                var check = await read(files);
                var wall = clock.Elapsed.TotalSeconds;
                var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
                Console.WriteLine($"round {round + 1}  {name,-55} wall {wall,6:F3} s  cpu {used,6:F3} s  (check {check})");
            }
        }
    }

    private static unsafe long ParquetSharpPhysical(string[] files)
    {
        const int Batch = 4096;
        var defs = new short[Batch];
        var reps = new short[Batch];
        var longs = new long[Batch];
        var bytes = new ByteArray[Batch];
        var chars = new char[Batch * 16];
        long check = 0;
        foreach (var path in files)
        {
            using var file = new ParquetFileReader(path);
            for (var g = 0; g < file.FileMetaData.NumRowGroups; g++)
            {
                using var group = file.RowGroup(g);
                var rows = group.MetaData.NumRows;
                for (var c = 0; c < file.FileMetaData.NumColumns; c++)
                {
                    using var column = group.Column(c);
                    for (long done = 0; done < rows;)
                    {
                        var want = (int)Math.Min(Batch, rows - done);
                        if (column is ColumnReader<long> numbers)
                        {
                            done += numbers.ReadBatch(want, defs, reps, longs, out var values);
                            for (var i = 0; i < values; i++)
                            {
                                check += longs[i];
                            }
                        }
                        else
                        {
                            var levels = ((ColumnReader<ByteArray>)column).ReadBatch(want, defs, reps, bytes, out var values);
                            done += levels;
                            var used = 0;
                            for (var i = 0; i < values; i++)
                            {
                                var span = new ReadOnlySpan<byte>((void*)bytes[i].Pointer, bytes[i].Length);
                                if (Ascii.ToUtf16(span, chars.AsSpan(used), out var written) != System.Buffers.OperationStatus.Done)
                                {
                                    written = System.Text.Encoding.UTF8.GetChars(span, chars.AsSpan(used));
                                }

                                used += written;
                                if (used > chars.Length - 1024)
                                {
                                    used = 0;
                                }

                                check += written;
                            }
                        }
                    }
                }
            }
        }

        return check;
    }

    private static long ParquetSharpLogical(string[] files)
    {
        const int Batch = 4096;
        var longs = new long?[Batch];
        var strings = new string?[Batch];
        long check = 0;
        foreach (var path in files)
        {
            using var file = new ParquetFileReader(path);
            for (var g = 0; g < file.FileMetaData.NumRowGroups; g++)
            {
                using var group = file.RowGroup(g);
                var rows = group.MetaData.NumRows;
                for (var c = 0; c < file.FileMetaData.NumColumns; c++)
                {
                    using var column = group.Column(c);
                    if (column.ColumnDescriptor.PhysicalType == PhysicalType.Int64)
                    {
                        using var reader = column.LogicalReader<long?>();
                        for (long done = 0; done < rows;)
                        {
                            var n = reader.ReadBatch(longs, 0, (int)Math.Min(Batch, rows - done));
                            done += n;
                            for (var i = 0; i < n; i++)
                            {
                                check += longs[i] ?? 0;
                            }
                        }
                    }
                    else
                    {
                        using var reader = column.LogicalReader<string?>();
                        for (long done = 0; done < rows;)
                        {
                            var n = reader.ReadBatch(strings, 0, (int)Math.Min(Batch, rows - done));
                            done += n;
                            for (var i = 0; i < n; i++)
                            {
                                check += strings[i]?.Length ?? 0;
                            }
                        }
                    }
                }
            }
        }

        return check;
    }

    private static async Task<long> ParquetNetAsync(string[] files)
    {
        long check = 0;
        foreach (var path in files)
        {
            await using var reader = await global::Parquet.ParquetReader.CreateAsync(path).ConfigureAwait(false);
            var fields = reader.Schema.GetDataFields();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var rows = (int)group.RowCount;
                foreach (var field in fields)
                {
                    if (field.ClrType == typeof(long))
                    {
                        var values = new long?[rows];
                        await group.ReadAsync<long>(field, values.AsMemory()).ConfigureAwait(false);
                        foreach (var v in values)
                        {
                            check += v ?? 0;
                        }
                    }
                    else
                    {
                        var values = new string?[rows];
                        await group.ReadAsync(field, values.AsMemory()).ConfigureAwait(false);
                        foreach (var v in values)
                        {
                            check += v?.Length ?? 0;
                        }
                    }
                }
            }
        }

        return check;
    }
}
