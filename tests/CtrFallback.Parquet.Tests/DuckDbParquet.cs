using System.Globalization;
using CtrFallback.Data;
using DuckDB.NET.Data;

namespace CtrFallback.Parquet.Tests;

/// <summary>
/// Writes the tests' Parquet files with DuckDB, a different implementation from the ParquetSharp reader under test,
/// at test time (no binary fixtures in the repository). Tests skip, visibly, when DuckDB's native library cannot load.
/// </summary>
internal static class DuckDbParquet
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        try
        {
            using var connection = new DuckDBConnection("Data Source=:memory:");
            connection.Open();
            return null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException or TypeInitializationException or DuckDBException)
        {
            return $"DuckDB (the fixtures' Parquet writer) cannot run here: {ex.Message}";
        }
    });

    public static void SkipUnlessAvailable() => Skip.If(Unavailable.Value is not null, Unavailable.Value);

    /// <summary>Runs SQL statements in an in-memory DuckDB.</summary>
    public static void Execute(params string[] statements)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        foreach (var sql in statements)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Copies a Criteo-layout TSV into Parquet: label and I1..I13 as BIGINT, C1..C26 as VARCHAR, in file order.</summary>
    public static void CriteoTsvToParquet(string tsv, string parquet, int rowGroupSize = 100_000, string? numericType = null)
    {
        var columns = ClickLogSchema.Criteo.Columns!;
        var types = string.Join(", ", columns.Select((c, i) => $"'{c}': '{(i == 0 ? "BIGINT" : i <= 13 ? numericType ?? "BIGINT" : "VARCHAR")}'"));
        Directory.CreateDirectory(Path.GetDirectoryName(parquet)!);
        Execute(
            "SET preserve_insertion_order = true",
            string.Create(CultureInfo.InvariantCulture,
                $"COPY (SELECT * FROM read_csv('{Quote(tsv)}', delim = '\t', header = false, quote = '', escape = '', columns = {{{types}}})) TO '{Quote(parquet)}' (FORMAT parquet, ROW_GROUP_SIZE {rowGroupSize})"));
    }

    public static string Quote(string path) => path.Replace("'", "''", StringComparison.Ordinal);
}
