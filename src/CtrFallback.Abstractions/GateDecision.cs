namespace CtrFallback;

/// <summary>The promotion gate's verdict on a candidate: passed only when every criterion passed.</summary>
/// <param name="Criteria">One result per criterion, each with a reason a person can read.</param>
public sealed record GateDecision(IReadOnlyList<GateCriterionResult> Criteria)
{
    /// <summary><see langword="true"/> when every criterion passed.</summary>
    public bool Passed => Criteria.All(c => c.Passed);

    /// <summary>The reasons, one per criterion, in order.</summary>
    public IEnumerable<string> Reasons => Criteria.Select(c => c.Reason);
}

/// <summary>The outcome of one gate criterion.</summary>
/// <param name="Criterion">A short stable name, for example <c>min-auc</c> or <c>champion-auc</c>.</param>
/// <param name="Passed">Whether the candidate met it.</param>
/// <param name="Reason">A sentence a person can read, with the numbers compared.</param>
public sealed record GateCriterionResult(string Criterion, bool Passed, string Reason);

/// <summary>What the gate judges: the candidate's holdout metrics and, if there is a champion, the champion's metrics on the same holdout.</summary>
/// <param name="Candidate">The candidate's metrics on the holdout.</param>
/// <param name="Champion">The champion's metrics on the same holdout, or <see langword="null"/> when there is no champion yet.</param>
/// <param name="ChampionVersion">The champion's version, when there is one.</param>
public sealed record GateInput(ModelMetrics Candidate, ModelMetrics? Champion = null, int? ChampionVersion = null);

/// <summary>Decides whether a candidate model may replace the champion.</summary>
public interface IPromotionGate
{
    /// <summary>Judges a candidate against absolute criteria and, when there is one, against the champion.</summary>
    /// <param name="input">The metrics to judge.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The decision with one reason per criterion.</returns>
    ValueTask<GateDecision> EvaluateAsync(GateInput input, CancellationToken cancellationToken = default);
}
