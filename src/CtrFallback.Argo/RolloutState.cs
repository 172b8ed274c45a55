using System.Globalization;
using System.Text.Json;

namespace CtrFallback.Argo;

/// <summary>An analysis run a Rollout's status names (<c>status.canary.currentStepAnalysisRunStatus</c> or the background one).</summary>
internal sealed record AnalysisRunStatus(string? Name, string? Status, string? Message);

/// <summary>The parts of an <c>argoproj.io/v1alpha1</c> Rollout that tell whether a restart or an update finished.</summary>
internal sealed record RolloutState(
    long? Generation,
    string? ObservedGeneration,
    string? Phase,
    string? Message,
    string? SpecRestartAt,
    string? RestartedAt,
    bool Aborted,
    string? CurrentPodHash = null,
    string? StableRS = null,
    AnalysisRunStatus? StepAnalysis = null,
    AnalysisRunStatus? BackgroundAnalysis = null)
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

    /// <summary>
    /// The update's ReplicaSet became the stable one (<c>status.stableRS == status.currentPodHash</c>): every canary step
    /// passed. Argo's own Healthy phase needs it too; checking it as well keeps an older Healthy from passing for ours.
    /// </summary>
    public bool IsFullyPromoted => StableRS is not null && string.Equals(StableRS, CurrentPodHash, StringComparison.Ordinal);

    /// <summary>The analysis runs' own messages (the failed metric, its count and limit), as Argo writes them; empty when there are none.</summary>
    public string AnalysisMessages =>
        string.Join(
            "; ",
            new[] { StepAnalysis, BackgroundAnalysis }
                .Where(a => a is not null && (!string.IsNullOrEmpty(a.Message) || !string.IsNullOrEmpty(a.Status)))
                .Select(a => $"AnalysisRun '{a!.Name ?? "?"}' {a.Status ?? "(no status)"}{(string.IsNullOrEmpty(a.Message) ? string.Empty : ": " + a.Message)}"));

    /// <summary>Whether <c>status.restartedAt</c> is the time we asked for (compared as instants, so formatting does not matter).</summary>
    public bool HasRestartedAt(string restartAt) => SameInstant(RestartedAt, restartAt);

    public static RolloutState Parse(JsonElement rollout)
    {
        long? generation = null;
        string? specRestartAt = null;
        string? observedGeneration = null, phase = null, message = null, restartedAt = null;
        var aborted = false;
        string? currentPodHash = null, stableRS = null;
        AnalysisRunStatus? step = null, background = null;

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
                currentPodHash = Text(status, "currentPodHash");
                stableRS = Text(status, "stableRS");
                if (status.TryGetProperty("canary", out var canary) && canary.ValueKind == JsonValueKind.Object)
                {
                    step = Analysis(canary, "currentStepAnalysisRunStatus");
                    background = Analysis(canary, "currentBackgroundAnalysisRunStatus");
                }
            }
        }

        return new RolloutState(generation, observedGeneration, phase, message, specRestartAt, restartedAt, aborted, currentPodHash, stableRS, step, background);
    }

    /// <summary>A one-line description for messages: phase, generations, restart times and the Rollout's own message.</summary>
    public string Describe(string requestedRestartAt) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"phase {Phase ?? "(none)"}, observedGeneration {ObservedGeneration ?? "(none)"} of generation {Generation?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}, " +
            $"status.restartedAt {RestartedAt ?? "(none)"} (asked for {requestedRestartAt}), message: {(string.IsNullOrEmpty(Message) ? "(none)" : Message)}");

    /// <summary>A one-line description of an update (canary) for messages: phase, generations, ReplicaSets, analysis and message.</summary>
    public string DescribeUpdate()
    {
        var analysis = AnalysisMessages;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"phase {Phase ?? "(none)"}, observedGeneration {ObservedGeneration ?? "(none)"} of generation {Generation?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}, " +
            $"status.currentPodHash {CurrentPodHash ?? "(none)"}, status.stableRS {StableRS ?? "(none)"}, message: {(string.IsNullOrEmpty(Message) ? "(none)" : Message)}{(analysis.Length > 0 ? ", " + analysis : string.Empty)}");
    }

    private static AnalysisRunStatus? Analysis(JsonElement canary, string name) =>
        canary.TryGetProperty(name, out var run) && run.ValueKind == JsonValueKind.Object
            ? new AnalysisRunStatus(Text(run, "name"), Text(run, "status"), Text(run, "message"))
            : null;

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
