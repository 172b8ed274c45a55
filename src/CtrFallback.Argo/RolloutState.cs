using System.Globalization;
using System.Text.Json;

namespace CtrFallback.Argo;

/// <summary>The parts of an <c>argoproj.io/v1alpha1</c> Rollout that tell whether a restart finished.</summary>
internal sealed record RolloutState(
    long? Generation,
    string? ObservedGeneration,
    string? Phase,
    string? Message,
    string? SpecRestartAt,
    string? RestartedAt,
    bool Aborted)
{
    public const string Healthy = "Healthy";
    public const string Degraded = "Degraded";

    /// <summary>
    /// The controller has seen the current spec. Argo writes <c>status.observedGeneration</c> as a string;
    /// until it matches <c>metadata.generation</c>, phase and message describe an older spec.
    /// </summary>
    public bool IsObserved =>
        Generation is { } generation &&
        ObservedGeneration is not null &&
        string.Equals(ObservedGeneration, generation.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public bool IsHealthy => string.Equals(Phase, Healthy, StringComparison.Ordinal);

    public bool IsDegraded => string.Equals(Phase, Degraded, StringComparison.Ordinal);

    /// <summary>Whether <c>status.restartedAt</c> is the time we asked for (compared as instants, so formatting does not matter).</summary>
    public bool HasRestartedAt(string restartAt) => SameInstant(RestartedAt, restartAt);

    public static RolloutState Parse(JsonElement rollout)
    {
        long? generation = null;
        string? specRestartAt = null;
        string? observedGeneration = null, phase = null, message = null, restartedAt = null;
        var aborted = false;

        if (rollout.ValueKind == JsonValueKind.Object)
        {
            if (rollout.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object &&
                metadata.TryGetProperty("generation", out var g) && g.ValueKind == JsonValueKind.Number && g.TryGetInt64(out var gen))
            {
                generation = gen;
            }

            if (rollout.TryGetProperty("spec", out var spec) && spec.ValueKind == JsonValueKind.Object)
            {
                specRestartAt = Text(spec, "restartAt");
            }

            if (rollout.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Object)
            {
                observedGeneration = Text(status, "observedGeneration");
                phase = Text(status, "phase");
                message = Text(status, "message");
                restartedAt = Text(status, "restartedAt");
                aborted = status.TryGetProperty("abort", out var abort) && abort.ValueKind == JsonValueKind.True;
            }
        }

        return new RolloutState(generation, observedGeneration, phase, message, specRestartAt, restartedAt, aborted);
    }

    /// <summary>A one-line description for messages: phase, generations, restart times and the Rollout's own message.</summary>
    public string Describe(string requestedRestartAt) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"phase {Phase ?? "(none)"}, observedGeneration {ObservedGeneration ?? "(none)"} of generation {Generation?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}, " +
            $"status.restartedAt {RestartedAt ?? "(none)"} (asked for {requestedRestartAt}), message: {(string.IsNullOrEmpty(Message) ? "(none)" : Message)}");

    // Argo writes observedGeneration as a string; older objects or other tools may write a number.
    private static string? Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    private static bool SameInstant(string? a, string? b)
    {
        if (a is null || b is null)
        {
            return false;
        }

        return DateTimeOffset.TryParse(a, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var x) &&
               DateTimeOffset.TryParse(b, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var y)
            ? x == y
            : string.Equals(a, b, StringComparison.Ordinal);
    }
}
