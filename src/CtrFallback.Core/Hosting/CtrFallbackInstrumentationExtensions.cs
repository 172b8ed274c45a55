using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CtrFallback;

/// <summary>Adds CtrFallback's meter and activity source to OpenTelemetry, as instrumentation libraries do.</summary>
public static class CtrFallbackInstrumentationExtensions
{
    /// <summary>Collects the <see cref="CtrFallbackTelemetry.MeterName"/> meter: predictions, reloads, model version, training and alias moves.</summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static MeterProviderBuilder AddCtrFallbackInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(CtrFallbackTelemetry.MeterName);
    }

    /// <summary>Collects the <see cref="CtrFallbackTelemetry.ActivitySourceName"/> activities: a training batch and its stages, champion reloads.</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TracerProviderBuilder AddCtrFallbackInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(CtrFallbackTelemetry.ActivitySourceName);
    }
}
