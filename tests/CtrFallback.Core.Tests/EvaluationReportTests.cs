using CtrFallback.Reports;
using CtrFallback.Training;
using CtrFallback.Data;
using CtrFallback.Evaluation;

namespace CtrFallback.Tests;

public sealed class EvaluationReportTests
{
    private static readonly GateDecision FailedGate = new(
    [
        new GateCriterionResult("min-auc", true, "AUC 0.7012 ≥ the minimum 0.6500."),
        new GateCriterionResult("champion-auc", false, "AUC 0.7012 is 0.0121 below the champion's 0.7133 (allowed: 0.0050)."),
    ]);

    [Fact]
    public void Render_WithChampionAndGate_ShowsEverySection()
    {
        var (labels, candidate, champion) = Holdout();

        var html = EvaluationReportRenderer.Render(labels, candidate, champion, FailedGate, "the last 10% of rows", "ctr/7");

        html.Should().StartWith("<!DOCTYPE html>");
        html.Should().ContainAll("ctr/7", "Gate decision", "FAILED", "champion-auc", "0.0121 below the champion", "Metrics", "ROC curve", "Calibration by decile", "Score histogram by label");
        html.Should().ContainAll("candidate − champion", "champion, AUC", "candidate, AUC", "Champion: scores of clicks and non-clicks", "the last 10% of rows");
        CountOf(html, "<svg").Should().Be(4, "ROC, reliability and one score histogram per model");
        html.Should().NotContainAny("http://", "https://", "<script", "<link", "src=");
    }

    [Fact]
    public void Render_WithoutChampionOrGate_SaysSoAndDrawsOnlyTheCandidate()
    {
        var (labels, candidate, _) = Holdout();

        var html = EvaluationCurves.From(labels, candidate, [], string.Empty).ToHtml();

        html.Should().Contain("has not judged this candidate");
        html.Should().Contain("No champion");
        html.Should().NotContain("champion, AUC");
        CountOf(html, "<svg").Should().Be(3);
    }

    [Fact]
    public void Curves_FromHoldout_AgreeWithTheEvaluatorAndStayCompact()
    {
        var (labels, candidate, champion) = Holdout();

        var curves = EvaluationCurves.From(labels, candidate, champion, string.Empty);

        var roc = curves.Candidate.Roc;
        roc.Count.Should().BeInRange(50, 202, "downsampled to about 200 points");
        roc[0].Should().Be(new RocPoint(0, 0));
        roc[^1].Should().Be(new RocPoint(1, 1));
        roc.Select(p => p.FalsePositiveRate).Should().BeInAscendingOrder();
        roc.Select(p => p.TruePositiveRate).Should().BeInAscendingOrder();

        // The area under the downsampled curve stays within a hair of the exact Mann-Whitney AUC.
        var area = roc.Zip(roc.Skip(1), (a, b) => (b.FalsePositiveRate - a.FalsePositiveRate) * (a.TruePositiveRate + b.TruePositiveRate) / 2).Sum();
        area.Should().BeApproximately(curves.Candidate.Metrics.Auc, 0.003);
        curves.Champion!.Metrics.Auc.Should().BeGreaterThan(curves.Candidate.Metrics.Auc, "the champion scores with the truth itself");

        curves.Candidate.Calibration.Should().HaveCount(10);
        curves.Candidate.Histogram.Sum(b => b.Clicks).Should().Be(labels.Count(l => l));
        curves.Candidate.Histogram.Sum(b => b.NonClicks).Should().Be(labels.Count(l => !l));
        curves.Champion.Histogram.Select(b => b.From).Should().Equal(curves.Candidate.Histogram.Select(b => b.From), "both models share bins so their shapes compare");
    }

    [Fact]
    public async Task Train_WithAChampion_CarriesCurvesOfBoth_AndRendersAgainWithTheGate()
    {
        using var directory = new TempDirectory();
        var log = directory.File("log.tsv");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 30_000, Seed = 5, Learnable = true });
        var trainer = new CtrTrainer(Microsoft.Extensions.Options.Options.Create(new TrainingOptions { Iterations = 5 }), TimeProvider.System);
        var first = await trainer.TrainAsync(ClickLogSchema.Criteo, [log]);

        var second = await trainer.TrainAsync(ClickLogSchema.Criteo, [log], championArtifact: first.Artifact);

        first.Curves!.Champion.Should().BeNull();
        first.Curves!.ToHtml().Should().Contain("No champion");
        second.Curves!.Champion.Should().NotBeNull();
        second.Curves.Champion!.Metrics.Auc.Should().BeApproximately(first.Evaluation.Metrics.Auc, 1e-6, "the champion is the first model, scored on the same holdout");
        second.Curves.Candidate.Metrics.Should().Be(second.Evaluation.Metrics);
        second.Curves!.ToHtml().Should().Contain("has not judged this candidate");

        var passed = new GateDecision([new GateCriterionResult("min-auc", true, "AUC above the minimum.")]);
        var final = second.Curves.ToHtml(passed, "ctr/2");
        final.Should().ContainAll("PASSED", "AUC above the minimum.", "champion, AUC");

        // Set CTRFALLBACK_REPORTS_DIR to keep the rendered pages for a look in a browser.
        if (Environment.GetEnvironmentVariable("CTRFALLBACK_REPORTS_DIR") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            await File.WriteAllTextAsync(Path.Combine(keep, "evaluation-with-champion.html"), final);
            await File.WriteAllTextAsync(Path.Combine(keep, "evaluation-first.html"), first.Curves!.ToHtml());
        }
    }

    /// <summary>A generated holdout: the truth's probability as the champion, a noisier, slightly over-confident copy as the candidate.</summary>
    private static (bool[] Labels, float[] Candidate, float[] Champion) Holdout()
    {
        var rows = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 20_000, Seed = 9 }).ToArray();
        var random = new Random(1);
        var labels = rows.Select(r => r.Label).ToArray();
        var champion = rows.Select(r => (float)r.TruthProbability).ToArray();
        var candidate = rows.Select(r =>
        {
            var logit = Math.Log(r.TruthProbability / (1 - r.TruthProbability));
            return (float)(1 / (1 + Math.Exp(-((1.3 * logit) + (0.8 * (random.NextDouble() - 0.5))))));
        }).ToArray();
        return (labels, candidate, champion);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
