using CtrFallback.Data;

namespace CtrFallback.Parquet;

/// <summary>The process-wide registration, for hosts that read click logs without a container (a CLI's analysis command).</summary>
public static class ParquetClickLogs
{
    /// <summary>Lets every click-log reader of this process open <c>.parquet</c> files; calling it twice is harmless.</summary>
    public static void Register() => ClickLogRecordSource.Parquet = static (path, schema) => new ParquetRecordSource(path, schema);
}
