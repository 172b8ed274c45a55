using CtrFallback.Evaluation;

namespace CtrFallback.Tests;

public sealed class EvaluatorTests
{
    [Fact]
    public void Evaluate_KnownScores_GivesExactAucLogLossAndCalibration()
    {
        bool[] labels = [false, true, false, true];
        float[] p = [0.1f, 0.4f, 0.35f, 0.8f];

        var m = Evaluator.Evaluate(labels, p).Metrics;

        // Pairs (positive, negative): (0.4 > 0.1), (0.4 > 0.35), (0.8 > both): 4 of 4 ordered.
        m.Auc.Should().Be(1.0);
        var expectedLogLoss = -(Math.Log(0.9) + Math.Log(0.4) + Math.Log(0.65) + Math.Log(0.8)) / 4;
        m.LogLoss.Should().BeApproximately(expectedLogLoss, 1e-6);
        m.NormalizedEntropy.Should().BeApproximately(expectedLogLoss / Math.Log(2), 1e-6);
        m.Calibration.Should().BeApproximately(((0.1 + 0.4 + 0.35 + 0.8) / 4) / 0.5, 1e-6);
        m.Rows.Should().Be(4);
        m.Positives.Should().Be(2);
    }

    [Fact]
    public void Evaluate_TiedScores_CountHalf()
    {
        bool[] labels = [true, false, true, false];
        float[] p = [0.5f, 0.5f, 0.9f, 0.1f];

        // Pairs: (0.5 vs 0.5) tie = 0.5, (0.5 > 0.1) = 1, (0.9 > 0.5) = 1, (0.9 > 0.1) = 1 -> 3.5 / 4.
        Evaluator.Evaluate(labels, p).Metrics.Auc.Should().Be(0.875);
    }

    [Fact]
    public void Evaluate_Deciles_AreOrderedByScoreAndCoverEveryRow()
    {
        var labels = Enumerable.Range(0, 1000).Select(i => i % 3 == 0).ToArray();
        var p = Enumerable.Range(0, 1000).Select(i => (float)((i * 7919 % 1000) / 1000.0)).ToArray();

        var report = Evaluator.Evaluate(labels, p);

        report.Calibration.Should().HaveCount(10);
        report.Calibration.Sum(b => b.Rows).Should().Be(1000);
        report.Calibration.Select(b => b.MeanPredicted).Should().BeInAscendingOrder();
    }
}
