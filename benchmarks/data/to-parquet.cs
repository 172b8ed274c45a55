#:package DuckDB.NET.Data.Full@1.5.6.1
#:property ManagePackageVersionsCentrally=false
#:property TreatWarningsAsErrors=false

// Converts a Criteo-layout TSV into N daily Hive partitions of Parquet (dt=2026-11-24/data_0.parquet, ...) with DuckDB,
// a different Parquet implementation from the one CtrFallback reads with (ParquetSharp). Rows keep their file order:
// partition d holds rows [d * rows / N, (d + 1) * rows / N).
// Usage: dotnet run to-parquet.cs -- IN.tsv OUT_DIR [DAYS=7]
using DuckDB.NET.Data;

var (tsv, outDir, days) = (args[0], args[1], args.Length > 2 ? int.Parse(args[2]) : 7);
var names = new[] { "label" }.Concat(Enumerable.Range(1, 13).Select(i => $"I{i}")).Concat(Enumerable.Range(1, 26).Select(i => $"C{i}")).ToArray();
var columns = string.Join(", ", names.Select((c, i) => $"'{c}': '{(i <= 13 ? "BIGINT" : "VARCHAR")}'"));
using var db = new DuckDBConnection("Data Source=:memory:");
db.Open();
void Run(string sql)
{
    using var command = db.CreateCommand();
    command.CommandText = sql;
    command.ExecuteNonQuery();
}

// The split is done here, line by line, so each partition is exactly a contiguous run of the TSV's rows.
var rows = File.ReadLines(tsv).LongCount();
Run("SET preserve_insertion_order = true");
using var lines = File.ReadLines(tsv).GetEnumerator();
for (var d = 0; d < days; d++)
{
    var part = Path.Combine(Path.GetTempPath(), $"to-parquet-{Environment.ProcessId}-{d}.tsv");
    using (var writer = new StreamWriter(part))
    {
        for (var r = d * rows / days; r < (d + 1) * rows / days && lines.MoveNext(); r++)
        {
            writer.Write(lines.Current);
            writer.Write('\n');
        }
    }

    var dir = Path.Combine(outDir, $"dt={new DateOnly(2026, 11, 24).AddDays(d):yyyy-MM-dd}");
    Directory.CreateDirectory(dir);
    Run($"COPY (SELECT * FROM read_csv('{part}', delim = '\t', header = false, quote = '', escape = '', columns = {{{columns}}})) TO '{Path.Combine(dir, "data_0.parquet")}' (FORMAT parquet)");
    File.Delete(part);
}

Console.WriteLine($"{rows} rows in {days} partitions under {outDir}");
