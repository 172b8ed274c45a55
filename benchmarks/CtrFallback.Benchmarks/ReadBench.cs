using System.Diagnostics;
using CtrFallback.Data;

namespace CtrFallback.Benchmarks;

/// <summary>
/// Times the click-log reader alone (read, decode, parse; no featurizing) over the same inputs the CLI takes, so the
/// TSV and its Parquet conversion can be compared without the trainer's share: <c>read INPUT [INPUT...]</c>.
/// </summary>
internal static class ReadBench
{
    public static void Run(IReadOnlyList<string> inputs)
    {
        CtrFallback.Parquet.ParquetClickLogs.Register();
        var clock = Stopwatch.StartNew();
        double sum = 0;
        long rows;
        using (var reader = new ClickLogReader(ClickLogSchema.Criteo, inputs))
        {
            while (reader.Read())
            {
                var row = reader.Row;
                sum += row.Numeric[0] is var v && double.IsNaN(v) ? 0 : v;
                sum += row.Categorical(0).Length + (row.Label ? 1 : 0);
            }

            rows = reader.Rows;
        }

        Console.WriteLine($"{{\"rows\": {rows}, \"seconds\": {clock.Elapsed.TotalSeconds:F3}, \"check\": {sum}, \"gcMB\": {GC.GetTotalAllocatedBytes() / 1e6:F0}}}");
    }
}

/// <summary>
/// One format's record source alone on the calling thread (split or decode, then parse; no reader threads), CPU
/// seconds per round, for finding where a format's reading time goes: <c>source FILE-OR-FOLDER [ROUNDS]</c>.
/// </summary>
internal static class SourceBench
{
    public static void Run(string input, int rounds)
    {
        CtrFallback.Parquet.ParquetClickLogs.Register();
        var schema = ClickLogSchema.Criteo;
        var files = ClickLogInputs.Resolve([input]).Select(i => i.Path).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var batch = Enumerable.Range(0, 1024).Select(_ => new ClickLogRow(schema)).ToArray();
            var lines = new long[batch.Length];
            var errors = new string?[batch.Length];
            long rows = 0;
            foreach (var path in files)
            {
                using var source = ClickLogRecordSource.IsParquet(path)
                    ? ClickLogRecordSource.OpenParquet(path, schema)
                    : new DelimitedRecordSource(File.OpenRead(path), schema);
                var map = new ColumnMap(schema, source.Columns!);
                int read;
                while ((read = source.ReadRecords(batch, lines, errors)) > 0)
                {
                    for (var k = 0; k < read; k++)
                    {
                        if (errors[k] is null && batch[k].TryParse(map, path, lines[k], out _))
                        {
                            rows++;
                        }
                    }
                }
            }

            Console.WriteLine($"round {round + 1}: {rows} rows, wall {clock.Elapsed.TotalSeconds:F3} s, cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F3} s");
        }
    }
}

/// <summary>
/// The training load stage alone (read, featurize, write the featurized log, the training profile watching), as
/// <c>ctrfallback train</c> runs it with the default options: wall seconds, process CPU and the featurizing thread's CPU per round, the first round cold
/// (as the CLI's), the others warm: <c>featurize FILE-OR-FOLDER [ROUNDS]</c>.
/// </summary>
internal static class FeaturizeBench
{
    public static void Run(string input, int rounds)
    {
        CtrFallback.Parquet.ParquetClickLogs.Register();
        var schema = ClickLogSchema.Criteo;
        var options = new Training.TrainingOptions();
        var temp = Directory.CreateTempSubdirectory("ctrfallback-featurize-");
        try
        {
            for (var round = 0; round < rounds; round++)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var own = ThreadCpu();
                var clock = Stopwatch.StartNew();
                using (var reader = new ClickLogReader(schema, [input]))
                using (var log = Training.FeaturizedLog.Build(reader, schema.ToFeatureSchema(), options.HoldoutFraction, null, temp.FullName, null, CancellationToken.None, options.MaxInMemoryTrainingBytes, new Training.TrainingProfileBuilder(schema.ToFeatureSchema(), options.Seed).Observe, options.NegativeSampleRate))
                {
                    Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"round {round + 1}: {log.Rows} rows, wall {clock.Elapsed.TotalSeconds:F3} s, cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F3} s, featurizing thread {ThreadCpu() - own:F3} s"));
                }
            }
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    /// <summary>The calling thread's user and system CPU seconds (Linux: /proc/thread-self/stat).</summary>
    private static double ThreadCpu()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
    }
}
