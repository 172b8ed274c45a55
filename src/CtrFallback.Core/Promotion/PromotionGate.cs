using System.Globalization;
using Microsoft.Extensions.Options;

namespace CtrFallback.Promotion;

/// <summary>Judges a candidate on absolute criteria and, when there is one, against the champion on the same holdout.</summary>
internal sealed class PromotionGate(IOptions<PromotionGateOptions> options) : IPromotionGate
{
    public ValueTask<GateDecision> EvaluateAsync(GateInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = options.Value;
        var c = input.Candidate;
        var criteria = new List<GateCriterionResult>
        {
            Check("min-holdout-rows", c.Rows >= o.MinHoldoutRows, $"holdout has {c.Rows:N0} rows", $">= {o.MinHoldoutRows:N0}"),
            Check("min-holdout-positives", c.Positives >= o.MinHoldoutPositives, $"holdout has {c.Positives:N0} clicks", $">= {o.MinHoldoutPositives:N0}"),
            Check("min-auc", c.Auc >= o.MinAuc, $"AUC {F(c.Auc)}", $">= {F(o.MinAuc)}"),
            Check("max-normalized-entropy", c.NormalizedEntropy <= o.MaxNormalizedEntropy, $"normalized entropy {F(c.NormalizedEntropy)}", $"<= {F(o.MaxNormalizedEntropy)}"),
            Check("calibration", c.Calibration >= o.MinCalibration && c.Calibration <= o.MaxCalibration, $"calibration {F(c.Calibration)}", $"within [{F(o.MinCalibration)}, {F(o.MaxCalibration)}]"),
        };

        if (input.Champion is { } champion)
        {
            var label = input.ChampionVersion is { } v ? $"champion v{v}" : "champion";
            var aucFloor = champion.Auc - o.MaxAucLoss;
            var neCeiling = champion.NormalizedEntropy + o.MaxNormalizedEntropyIncrease;
            criteria.Add(Check("champion-auc", c.Auc >= aucFloor, $"AUC {F(c.Auc)} vs {label} {F(champion.Auc)} on the same holdout", $">= {F(aucFloor)} (loss at most {F(o.MaxAucLoss)})"));
            criteria.Add(Check("champion-normalized-entropy", c.NormalizedEntropy <= neCeiling, $"normalized entropy {F(c.NormalizedEntropy)} vs {label} {F(champion.NormalizedEntropy)}", $"<= {F(neCeiling)} (increase at most {F(o.MaxNormalizedEntropyIncrease)})"));
        }
        else
        {
            criteria.Add(new GateCriterionResult("champion", true, "no champion yet: judged on absolute criteria only"));
        }

        return ValueTask.FromResult(new GateDecision(criteria));
    }

    private static GateCriterionResult Check(string name, bool passed, string measured, string required) =>

        // NaN metrics (a degenerate holdout) fail every comparison, so they can never pass.
        new(name, passed, $"{(passed ? "PASS" : "FAIL")} {name}: {measured}, required {required}");

    private static string F(double value) => value.ToString("0.0000", CultureInfo.InvariantCulture);
}

/// <summary>The default trigger: nothing to roll out (serving follows the alias in-process, or is restarted by hand).</summary>
internal sealed class NoOpDeploymentTrigger : IDeploymentTrigger
{
    public Task<DeploymentResult> TriggerAsync(DeploymentRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.FromResult(new DeploymentResult(
            DeploymentStatus.Skipped,
            $"no deployment trigger configured: servers following '{request.Alias}' pick up {request.ModelName}/{request.Version} on their next poll"));
    }
}
