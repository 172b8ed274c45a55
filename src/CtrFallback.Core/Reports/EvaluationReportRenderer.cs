using System.Globalization;
using CtrFallback.Evaluation;

namespace CtrFallback.Reports;

/// <summary>
/// The evaluation report of a trained version: metrics table, gate decision with reasons, ROC curve, reliability
/// plot by decile and score histograms by label, with the champion beside the candidate when there was one.
/// </summary>
internal static class EvaluationReportRenderer
{
    private static readonly string CandidateColor = SvgChart.Palette[0];
    private static readonly string ChampionColor = SvgChart.Palette[3];

    /// <summary>Renders the report straight from holdout labels and probabilities (an empty champion span means no champion).</summary>
    public static string Render(ReadOnlySpan<bool> labels, ReadOnlySpan<float> candidate, ReadOnlySpan<float> champion, GateDecision? gate, string holdout = "", string? title = null) =>
        Render(EvaluationCurves.From(labels, candidate, champion, holdout), gate, title);

    public static string Render(EvaluationCurves curves, GateDecision? gate, string? title = null, IReadOnlyList<ChampionQualityRecord>? history = null, int? championVersion = null)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var heading = title ?? "Evaluation report";
        var page = new HtmlPage();
        var candidate = curves.Candidate;
        var champion = curves.Champion;
        page.Heading(1, heading);
        page.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"Holdout: {HtmlPage.N(candidate.Metrics.Rows)} rows, {HtmlPage.N(candidate.Metrics.Positives)} clicks (CTR {Ratio(candidate.Metrics.Positives, candidate.Metrics.Rows):P2}){(curves.Holdout.Length > 0 ? "; " + curves.Holdout : string.Empty)}."));
        page.Paragraph(champion is null ? "No champion: the candidate is judged on its own." : "The champion was scored on the same holdout rows; its curves are drawn beside the candidate's.", "note");

        Gate(page, gate);
        Metrics(page, candidate.Metrics, champion?.Metrics);
        if (history is not null)
        {
            ChampionQuality(page, history, championVersion, champion?.Metrics, candidate.Metrics);
        }

        if (curves.Features.Count > 0)
        {
            page.Heading(2, "Features chosen (Training:Features = Auto)");
            page.Paragraph("The crosses and hash bits the feature search chose from the training rows only, the evidence each was chosen on, and the input schema's features beside the chosen ones on the same holdout.", "note");
            page.Table(["parameter", "value"], curves.Features.Select(f => (IReadOnlyList<string>)[f.Key, f.Value]), _ => false);
        }

        page.Heading(2, "ROC curve");
        page.Raw("<div class=\"row\">").Raw(Roc(candidate, champion)).Raw("</div>");

        page.Heading(2, "Calibration by decile");
        page.Paragraph("Mean predicted against observed CTR in each decile of the model's scores; points on the diagonal are calibrated. A DSP bids on pCTR × price, so a curve above or below the diagonal over- or under-bids.", "note");
        page.Raw("<div class=\"row\">").Raw(Reliability(candidate, champion));
        CalibrationTable(page, "candidate", candidate);
        if (champion is not null)
        {
            CalibrationTable(page, "champion", champion);
        }

        page.Raw("</div>");

        page.Heading(2, "Score histogram by label");
        page.Paragraph("Share of clicks and of non-clicks in each score bin; the further apart the two shapes, the better the ranking.", "note");
        page.Raw("<div class=\"row\">").Raw(Histogram("Candidate", candidate));
        if (champion is not null)
        {
            page.Raw(Histogram("Champion", champion));
        }

        page.Raw("</div>");
        return page.Render(heading);
    }

    private static void Gate(HtmlPage page, GateDecision? gate)
    {
        page.Heading(2, "Gate decision");
        if (gate is null)
        {
            page.Paragraph("The promotion gate has not judged this candidate (the report was rendered before the gate ran).");
            return;
        }

        page.Raw(gate.Passed
            ? "<p class=\"pass\">PASSED: every criterion was met.</p>"
            : "<p class=\"fail\">FAILED: the candidate is registered but not promoted.</p>");
        page.Table(
            ["criterion", "result", "reason"],
            gate.Criteria.Select(c => (IReadOnlyList<string>)[c.Criterion, c.Passed ? "pass" : "fail", c.Reason]),
            i => !gate.Criteria[i].Passed);
    }

    private static void Metrics(HtmlPage page, ModelMetrics candidate, ModelMetrics? champion)
    {
        page.Heading(2, "Metrics");
        var rows = new List<IReadOnlyList<string>>
        {
            Row("AUC (higher is better)", candidate.Auc, champion?.Auc, "0.0000"),
            Row("log loss (lower is better)", candidate.LogLoss, champion?.LogLoss, "0.0000"),
            Row("normalized entropy (lower is better; 1 = base rate)", candidate.NormalizedEntropy, champion?.NormalizedEntropy, "0.0000"),
            Row("calibration, mean predicted / observed (1 is ideal)", candidate.Calibration, champion?.Calibration, "0.0000"),
            Row("holdout rows", candidate.Rows, champion?.Rows, "N0"),
            Row("holdout clicks", candidate.Positives, champion?.Positives, "N0"),
        };
        page.Table(champion is null ? ["metric", "candidate"] : ["metric", "candidate", "champion", "candidate − champion"], rows);

        IReadOnlyList<string> Row(string name, double value, double? other, string format) => other is { } o
            ? [name, HtmlPage.N(value, format), HtmlPage.N(o, format), format == "N0" ? string.Empty : HtmlPage.Signed(value - o, 4)]
            : [name, HtmlPage.N(value, format)];
    }

    /// <summary>The champion's metrics on each run's newest holdout, earlier runs from the store's records, this run last.</summary>
    private static void ChampionQuality(HtmlPage page, IReadOnlyList<ChampionQualityRecord> history, int? championVersion, ModelMetrics? champion, ModelMetrics candidate)
    {
        page.Heading(2, "Champion quality over time");
        page.Paragraph("Each run scores the champion on its own newest holdout: a champion whose AUC falls or whose calibration drifts from 1 run after run is decaying, whether or not a candidate has beaten it yet.", "note");
        var rows = history
            .Select(r => (Label: $"v{r.Version.ToString(CultureInfo.InvariantCulture)}", At: r.TrainedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), r.Champion, r.ChampionMetrics, r.CandidateMetrics))
            .Append((Label: "this run", At: string.Empty, Champion: championVersion, ChampionMetrics: champion, CandidateMetrics: (ModelMetrics?)candidate))
            .ToList();
        page.Table(
            ["run", "trained", "champion", "champion AUC", "champion NE", "champion calibration", "candidate AUC"],
            rows.Select(r => (IReadOnlyList<string>)
            [
                r.Label,
                r.At,
                r.Champion is { } c ? $"v{c.ToString(CultureInfo.InvariantCulture)}" : "none",
                r.ChampionMetrics is { } m ? HtmlPage.N(m.Auc, "0.0000") : "-",
                r.ChampionMetrics is { } n ? HtmlPage.N(n.NormalizedEntropy, "0.0000") : "-",
                r.ChampionMetrics is { } k ? HtmlPage.N(k.Calibration, "0.0000") : "-",
                r.CandidateMetrics is { } a ? HtmlPage.N(a.Auc, "0.0000") : "-",
            ]));
    }

    private static string Roc(ModelCurves candidate, ModelCurves? champion)
    {
        var chart = new SvgChart(460, 420, (0, 1), (0, 1))
        {
            Title = "ROC curve (holdout)",
            LegendBottomRight = true,
            XLabel = "false positive rate",
            YLabel = "true positive rate",
        };
        chart.Line([(0, 0), (1, 1)], "#999", "random", dashed: true, width: 1);
        if (champion is not null)
        {
            chart.Line(champion.Roc.Select(p => (p.FalsePositiveRate, p.TruePositiveRate)), ChampionColor, string.Create(CultureInfo.InvariantCulture, $"champion, AUC {champion.Metrics.Auc:0.0000}"));
        }

        chart.Line(candidate.Roc.Select(p => (p.FalsePositiveRate, p.TruePositiveRate)), CandidateColor, string.Create(CultureInfo.InvariantCulture, $"candidate, AUC {candidate.Metrics.Auc:0.0000}"));
        return chart.ToString();
    }

    private static string Reliability(ModelCurves candidate, ModelCurves? champion)
    {
        var buckets = candidate.Calibration.Concat(champion?.Calibration ?? []).ToArray();
        var top = buckets.Length == 0 ? 1 : Math.Min(1, Math.Max(buckets.Max(b => b.MeanPredicted), buckets.Max(b => b.Observed)) * 1.08);
        var chart = new SvgChart(460, 420, (0, top), (0, top))
        {
            Title = "Reliability (deciles)",
            LegendBottomRight = true,
            XLabel = "mean predicted CTR",
            YLabel = "observed CTR",
            XFormat = SvgChart.Percent,
            YFormat = SvgChart.Percent,
        };
        chart.Line([(0, 0), (top, top)], "#999", "perfect calibration", dashed: true, width: 1);
        foreach (var (curves, color, name) in new[] { (champion, ChampionColor, "champion"), (candidate, CandidateColor, "candidate") })
        {
            if (curves is null)
            {
                continue;
            }

            var points = curves.Calibration.Select(b => (b.MeanPredicted, b.Observed)).ToArray();
            chart.Line(points, color, name).Points(points, color);
        }

        return chart.ToString();
    }

    private static void CalibrationTable(HtmlPage page, string name, ModelCurves curves) =>
        page.Table(
            [$"{name} decile", "rows", "mean predicted", "observed", "ratio"],
            curves.Calibration.Select(b => (IReadOnlyList<string>)
            [
                b.Bucket.ToString(CultureInfo.InvariantCulture),
                HtmlPage.N(b.Rows),
                b.MeanPredicted.ToString("P2", CultureInfo.InvariantCulture),
                b.Observed.ToString("P2", CultureInfo.InvariantCulture),
                b.Observed > 0 ? (b.MeanPredicted / b.Observed).ToString("0.00", CultureInfo.InvariantCulture) : "–",
            ]));

    private static string Histogram(string name, ModelCurves curves)
    {
        var bins = curves.Histogram;
        if (bins.Count == 0)
        {
            return string.Empty;
        }

        var clicks = Math.Max(1, bins.Sum(b => b.Clicks));
        var nonClicks = Math.Max(1, bins.Sum(b => b.NonClicks));
        var top = bins.Max(b => Math.Max((double)b.Clicks / clicks, (double)b.NonClicks / nonClicks)) * 1.1;
        var chart = new SvgChart(460, 300, (bins[0].From, bins[^1].To), (0, Math.Max(top, 0.01)))
        {
            Title = $"{name}: scores of clicks and non-clicks",
            XLabel = "predicted CTR",
            YLabel = "share of the label's rows",
            XFormat = SvgChart.Percent,
            YFormat = SvgChart.Percent,
        };
        foreach (var b in bins)
        {
            var width = b.To - b.From;
            chart.Bar(b.From, width, (double)b.NonClicks / nonClicks, SvgChart.Palette[0], opacity: 0.45, tooltip: string.Create(CultureInfo.InvariantCulture, $"{b.From:P1}–{b.To:P1}: {b.NonClicks:N0} non-clicks"));
            chart.Bar(b.From, width, (double)b.Clicks / clicks, SvgChart.Palette[1], opacity: 0.45, tooltip: string.Create(CultureInfo.InvariantCulture, $"{b.From:P1}–{b.To:P1}: {b.Clicks:N0} clicks"));
        }

        chart.LegendEntry("non-clicks", SvgChart.Palette[0]).LegendEntry("clicks", SvgChart.Palette[1]);
        return chart.ToString();
    }

    private static double Ratio(long a, long b) => b == 0 ? double.NaN : (double)a / b;
}
