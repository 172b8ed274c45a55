using CtrFallback.Promotion;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests;

public sealed class PromotionGateTests
{
    private static readonly ModelMetrics Good = new(Auc: 0.774, LogLoss: 0.413, NormalizedEntropy: 0.838, Calibration: 1.01, Rows: 100_000, Positives: 19_430);

    private static ValueTask<GateDecision> Judge(ModelMetrics candidate, ModelMetrics? champion = null, PromotionGateOptions? options = null) =>
        new PromotionGate(Options.Create(options ?? new PromotionGateOptions())).EvaluateAsync(new GateInput(candidate, champion, champion is null ? null : 3));

    [Fact]
    public async Task Evaluate_GoodCandidateWithoutChampion_PassesOnAbsoluteCriteriaOnly()
    {
        var decision = await Judge(Good);

        decision.Passed.Should().BeTrue();
        decision.Criteria.Select(c => c.Criterion).Should().Equal(
            "min-holdout-rows", "min-holdout-positives", "min-auc", "max-normalized-entropy", "calibration", "champion");
        decision.Criteria.Last().Reason.Should().Contain("no champion yet");
    }

    [Fact]
    public async Task Evaluate_ShuffledLabelsCandidate_FailsWithReadableReasons()
    {
        // What a model trained on shuffled labels looks like: no ranking power, no better than the base rate.
        var noise = Good with { Auc = 0.501, NormalizedEntropy = 1.002, Calibration = 1.0 };

        var decision = await Judge(noise, champion: Good);

        decision.Passed.Should().BeFalse();
        decision.Criteria.Where(c => !c.Passed).Select(c => c.Criterion).Should().BeEquivalentTo(
            ["min-auc", "max-normalized-entropy", "champion-auc", "champion-normalized-entropy"]);
        decision.Criteria.Single(c => c.Criterion == "min-auc").Reason.Should().Be("FAIL min-auc: AUC 0.5010, required >= 0.6000");
        decision.Criteria.Single(c => c.Criterion == "champion-auc").Reason.Should().Contain("champion v3 0.7740").And.Contain(">= 0.7720");
    }

    [Theory]
    [InlineData(0.7721, true)]
    [InlineData(0.7719, false)]
    public async Task Evaluate_AgainstChampion_AllowsAtMostTheConfiguredAucLoss(double auc, bool passes)
    {
        var decision = await Judge(Good with { Auc = auc }, champion: Good);

        decision.Criteria.Single(c => c.Criterion == "champion-auc").Passed.Should().Be(passes);
    }

    [Theory]
    [InlineData(0.89, false)]
    [InlineData(0.95, true)]
    [InlineData(1.12, false)]
    public async Task Evaluate_Calibration_MustBeInsideTheBand(double calibration, bool passes)
    {
        var decision = await Judge(Good with { Calibration = calibration });

        decision.Criteria.Single(c => c.Criterion == "calibration").Passed.Should().Be(passes);
        decision.Passed.Should().Be(passes);
    }

    [Fact]
    public async Task Evaluate_TooSmallHoldout_FailsEvenWithGreatMetrics()
    {
        var decision = await Judge(Good with { Rows = 500, Positives = 20 });

        decision.Passed.Should().BeFalse();
        decision.Criteria.Where(c => !c.Passed).Select(c => c.Criterion).Should().Equal("min-holdout-rows", "min-holdout-positives");
    }

    [Fact]
    public async Task Evaluate_NaNMetrics_NeverPass()
    {
        var decision = await Judge(Good with { Auc = double.NaN, NormalizedEntropy = double.NaN, Calibration = double.NaN });

        decision.Criteria.Where(c => c.Criterion is "min-auc" or "max-normalized-entropy" or "calibration").Should().OnlyContain(c => !c.Passed);
    }

    [Fact]
    public void Options_WithInvertedCalibrationBand_FailValidation()
    {
        var options = new PromotionGateOptions { MinCalibration = 1.2, MaxCalibration = 1.1 };

        options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).Should().ContainSingle();
    }
}
