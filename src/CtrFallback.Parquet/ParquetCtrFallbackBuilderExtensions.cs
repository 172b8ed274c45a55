using CtrFallback.Parquet;

namespace CtrFallback;

/// <summary>Lets the click-log reader open Parquet files.</summary>
public static class ParquetCtrFallbackBuilderExtensions
{
    /// <summary>
    /// Lets training, analysis and batch scoring read <c>.parquet</c> files (and Hive-partitioned folders of them) with the
    /// same schema file as delimited logs. Process-wide, as readers are made without a container; calling it twice is harmless.
    /// </summary>
    /// <param name="builder">The CtrFallback builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ICtrFallbackBuilder UseParquetClickLogs(this ICtrFallbackBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ParquetClickLogs.Register();
        return builder;
    }
}
