using System.Diagnostics;

namespace CtrFallback;

/// <summary>
/// The library's one <see cref="ActivitySource"/>. Activities are created only while a listener (an OpenTelemetry
/// tracer provider) samples them, so training and reloads cost nothing extra without one. Never used on the
/// prediction hot path.
/// </summary>
internal static class CtrFallbackActivities
{
    public static readonly ActivitySource Source = new(CtrFallbackTelemetry.ActivitySourceName, typeof(CtrFallbackActivities).Assembly.GetName().Version?.ToString());

    /// <summary>Marks the activity failed with the exception's message (the OpenTelemetry convention for errors).</summary>
    public static void Failed(this Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.AddException(exception);
    }
}
