using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace CtrFallback.Training;

/// <summary>
/// Listens to an <see cref="MLContext"/>'s log during a fit, to report how the trainer stopped: the passes it ran and
/// whether its own convergence criterion (SDCA's relative duality gap) was met, rather than a pass count taken on trust.
/// </summary>
internal sealed partial class FitLog : IDisposable
{
    private readonly MLContext _ml;
    private readonly List<string> _messages = [];

    public FitLog(MLContext ml)
    {
        _ml = ml;
        _ml.Log += OnLog;
    }

    public void Dispose() => _ml.Log -= OnLog;

    /// <summary>How the fit stopped, as parameters to register: passes run and whether the criterion was met.</summary>
    /// <param name="parameters">The trainer's parameters (for its pass limit and tolerance).</param>
    public IEnumerable<KeyValuePair<string, string>> Report(IReadOnlyDictionary<string, string> parameters)
    {
        if (parameters.GetValueOrDefault("trainer") != nameof(CtrTrainerKind.Sdca))
        {
            yield break;
        }

        // SDCA checks its relative duality gap every few passes, stops when it is below the tolerance and keeps the
        // checked iterate with the lowest primal loss ("best model from iteration N"); running to the limit means the
        // gap was never small enough.
        var best = _messages.Select(m => BestIteration().Match(m)).LastOrDefault(m => m.Success);
        var limit = parameters.GetValueOrDefault("maxIterations") ?? "?";
        var passes = best?.Groups[1].Value ?? limit;
        var converged = best is not null && passes != limit;
        yield return new("passes", passes);
        yield return new("converged", converged ? "true" : "false");
        yield return new(
            "convergence",
            converged
                ? string.Create(CultureInfo.InvariantCulture, $"relative duality gap below {parameters.GetValueOrDefault("convergenceTolerance")} after {passes} passes")
                : $"not converged: stopped at the limit of {limit} passes");
    }

    [GeneratedRegex(@"Using best model from iteration (\d+)")]
    private static partial Regex BestIteration();

    private void OnLog(object? sender, LoggingEventArgs e)
    {
        if (e.Kind is ChannelMessageKind.Info or ChannelMessageKind.Warning or ChannelMessageKind.Error)
        {
            lock (_messages)
            {
                _messages.Add($"{e.Source}: {e.Message}");
            }
        }
    }
}
