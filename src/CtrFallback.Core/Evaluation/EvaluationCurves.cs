using CtrFallback.Evaluation;
using CtrFallback.Reports;

namespace CtrFallback.Evaluation;

/// <summary>
/// What an evaluation report plots, kept compact (ROC downsampled, deciles, score histograms) so it can travel with a
/// training result and be rendered again once the promotion gate has decided.
/// </summary>
public sealed record EvaluationCurves
{
    /// <summary>The candidate's curves on the holdout.</summary>
    public required ModelCurves Candidate { get; init; }

    /// <summary>The champion's curves on the same holdout, when there was a champion.</summary>
    public ModelCurves? Champion { get; init; }

    /// <summary>How the holdout was chosen, in words.</summary>
    public string Holdout { get; init; } = string.Empty;

    /// <summary>What the feature search chose and on what evidence (<c>Training:Features = Auto</c>), including the input schema's holdout metrics beside the chosen one's; empty otherwise.</summary>
    public IReadOnlyDictionary<string, string> Features { get; init; } = new Dictionary<string, string>();

    /// <summary>Renders the evaluation report as one self-contained HTML page (inline CSS and SVG, no scripts).</summary>
    /// <param name="gate">The promotion gate's decision, when known; the report says when it is not.</param>
    /// <param name="title">The page title, for example the model name and version.</param>
    /// <returns>The HTML document.</returns>
    public string ToHtml(GateDecision? gate = null, string? title = null) => EvaluationReportRenderer.Render(this, gate, title);

    /// <summary>
    /// Renders the evaluation report with a section on the champion's quality over time: its metrics on each earlier
    /// run's holdout (from the store's records) and on this one's, so decay shows.
    /// </summary>
    /// <param name="gate">The promotion gate's decision, when known.</param>
    /// <param name="title">The page title.</param>
    /// <param name="history">The earlier runs, oldest first (<see cref="ChampionHistory.From"/>).</param>
    /// <param name="champion">The champion this run scored, if any.</param>
    /// <returns>The HTML document.</returns>
    public string ToHtmlWithChampionHistory(GateDecision? gate, string? title, IReadOnlyList<ChampionQualityRecord> history, int? champion) =>
        EvaluationReportRenderer.Render(this, gate, title, history, champion);

    /// <summary>Computes the curves from holdout labels and the candidate's (and optionally the champion's) probabilities.</summary>
    internal static EvaluationCurves From(ReadOnlySpan<bool> labels, ReadOnlySpan<float> candidate, ReadOnlySpan<float> champion, string holdout)
    {
        if (candidate.Length != labels.Length || (!champion.IsEmpty && champion.Length != labels.Length))
        {
            throw new ArgumentException("Labels and probabilities differ in length.");
        }

        var top = Math.Max(Max(candidate), Max(champion));
        var histogramTop = Math.Clamp(Math.Ceiling(top * 20) / 20, 0.05, 1);
        return new EvaluationCurves
        {
            Candidate = ModelCurves.From(labels, candidate, histogramTop),
            Champion = champion.IsEmpty ? null : ModelCurves.From(labels, champion, histogramTop),
            Holdout = holdout,
        };

        static double Max(ReadOnlySpan<float> values)
        {
            double max = 0;
            foreach (var v in values)
            {
                max = float.IsFinite(v) ? Math.Max(max, v) : max;
            }

            return max;
        }
    }
}

/// <summary>One model's holdout metrics and curves.</summary>
/// <param name="Metrics">AUC, log loss, normalized entropy, calibration, rows and positives.</param>
/// <param name="Roc">ROC curve points from (0, 0) to (1, 1), downsampled to a few hundred.</param>
/// <param name="Calibration">Mean predicted and observed CTR per score decile, lowest scores first.</param>
/// <param name="Histogram">Rows per score bin, split by label.</param>
public sealed record ModelCurves(ModelMetrics Metrics, IReadOnlyList<RocPoint> Roc, IReadOnlyList<CalibrationBucket> Calibration, IReadOnlyList<ScoreHistogramBin> Histogram)
{
    private const int MaxRocPoints = 200;
    private const int HistogramBins = 25;

    internal static ModelCurves From(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, double histogramTop)
    {
        var report = Evaluator.Evaluate(labels, probabilities);
        return new ModelCurves(report.Metrics, RocPoints(labels, probabilities), report.Calibration, Bins(labels, probabilities, histogramTop));
    }

    /// <summary>ROC points at each distinct score (ties move both rates at once), kept when the two rates together moved by 2/200 since the last kept point (the whole curve moves by 2).</summary>
    private static RocPoint[] RocPoints(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities)
    {
        var n = labels.Length;
        var scores = probabilities.ToArray();
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(scores, order);
        long positives = 0;
        foreach (var label in labels)
        {
            positives += label ? 1 : 0;
        }

        var negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return [];
        }

        var points = new List<RocPoint> { new(0, 0) };
        long tp = 0, fp = 0;
        var last = points[0];
        for (var i = n - 1; i >= 0;)
        {
            var j = i;
            while (j >= 0 && scores[j] == scores[i])
            {
                if (labels[order[j]])
                {
                    tp++;
                }
                else
                {
                    fp++;
                }

                j--;
            }

            var point = new RocPoint((double)fp / negatives, (double)tp / positives);
            if (j < 0 || (point.FalsePositiveRate - last.FalsePositiveRate) + (point.TruePositiveRate - last.TruePositiveRate) >= 2.0 / MaxRocPoints)
            {
                points.Add(point);
                last = point;
            }

            i = j;
        }

        return [.. points];
    }

    private static ScoreHistogramBin[] Bins(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, double top)
    {
        var clicks = new long[HistogramBins];
        var nonClicks = new long[HistogramBins];
        for (var i = 0; i < labels.Length; i++)
        {
            var b = Math.Clamp((int)(probabilities[i] / top * HistogramBins), 0, HistogramBins - 1);
            if (labels[i])
            {
                clicks[b]++;
            }
            else
            {
                nonClicks[b]++;
            }
        }

        return Enumerable.Range(0, HistogramBins)
            .Select(b => new ScoreHistogramBin(top * b / HistogramBins, top * (b + 1) / HistogramBins, clicks[b], nonClicks[b]))
            .ToArray();
    }
}

/// <summary>One point of a ROC curve.</summary>
/// <param name="FalsePositiveRate">Share of non-clicks scored at or above the threshold.</param>
/// <param name="TruePositiveRate">Share of clicks scored at or above the threshold.</param>
public sealed record RocPoint(double FalsePositiveRate, double TruePositiveRate);

/// <summary>One bin of a score histogram, split by label.</summary>
/// <param name="From">Lowest score of the bin.</param>
/// <param name="To">Highest score of the bin (the last bin also holds anything above).</param>
/// <param name="Clicks">Clicked holdout rows scored in the bin.</param>
/// <param name="NonClicks">Non-clicked holdout rows scored in the bin.</param>
public sealed record ScoreHistogramBin(double From, double To, long Clicks, long NonClicks);
