using CtrFallback.Data;
using CtrFallback.Evaluation;
namespace CtrFallback.Training;

/// <summary>A trained candidate with its evaluation, ready for the promotion gate and the store.</summary>
public sealed record TrainingResult
{
    /// <summary>The model artifact's bytes.</summary>
    public required byte[] Artifact { get; init; }

    /// <summary>The candidate's holdout evaluation.</summary>
    public required EvaluationReport Evaluation { get; init; }

    /// <summary>The champion's evaluation on the same holdout, when a champion was given.</summary>
    public EvaluationReport? ChampionEvaluation { get; init; }

    /// <summary>The candidate's (and champion's) holdout curves, for rendering the evaluation report again once the gate has decided.</summary>
    public EvaluationCurves? Curves { get; init; }

    /// <summary>Trainer and featurizer settings, as registered with the version.</summary>
    public required IReadOnlyDictionary<string, string> Parameters { get; init; }

    /// <summary>SHA-256 of the click-log bytes read.</summary>
    public required string DataFingerprint { get; init; }

    /// <summary>Well-formed rows read.</summary>
    public long Rows { get; init; }

    /// <summary>Rows trained on (after negative downsampling).</summary>
    public long TrainingRows { get; init; }

    /// <summary>Malformed rows counted.</summary>
    public long MalformedRows { get; init; }

    /// <summary>The first malformed rows, with file and line.</summary>
    public IReadOnlyList<MalformedRow> MalformedExamples { get; init; } = [];

    /// <summary>How the holdout was chosen, in words.</summary>
    public string Holdout { get; init; } = string.Empty;

    /// <summary>Durations of the stages: <c>load</c> (read + featurize), <c>train</c>, <c>evaluate</c>.</summary>
    public required IReadOnlyDictionary<string, TimeSpan> Stages { get; init; }
}
