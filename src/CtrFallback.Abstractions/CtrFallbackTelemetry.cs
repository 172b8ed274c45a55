namespace CtrFallback;

/// <summary>
/// The names under which every CtrFallback package publishes its telemetry, for OpenTelemetry's
/// <c>AddMeter</c>/<c>AddSource</c> (or <c>AddCtrFallbackInstrumentation</c> in CtrFallback.Core) and for any
/// <see cref="System.Diagnostics.Metrics.MeterListener"/> or <see cref="System.Diagnostics.ActivityListener"/>.
/// </summary>
public static class CtrFallbackTelemetry
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> name: serving (predictions, reloads, model version), training and promotion instruments.</summary>
    public const string MeterName = "CtrFallback";

    /// <summary>The <see cref="System.Diagnostics.ActivitySource"/> name: a training batch and its stages, champion reloads.</summary>
    public const string ActivitySourceName = "CtrFallback";
}
