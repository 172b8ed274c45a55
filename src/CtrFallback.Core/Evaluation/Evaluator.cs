namespace CtrFallback.Evaluation;

/// <summary>Holdout metrics from labels and predicted probabilities: AUC, log loss, normalized entropy, calibration.</summary>
internal static class Evaluator
{
    private const double Epsilon = 1e-15;

    public static EvaluationReport Evaluate(ReadOnlySpan<bool> labels, ReadOnlySpan<float> probabilities, int buckets = 10)
    {
        if (labels.Length != probabilities.Length)
        {
            throw new ArgumentException("Labels and probabilities differ in length.");
        }

        var n = labels.Length;
        long positives = 0;
        double logLoss = 0;
        double sumP = 0;
        for (var i = 0; i < n; i++)
        {
            var p = Math.Clamp(probabilities[i], Epsilon, 1 - Epsilon);
            positives += labels[i] ? 1 : 0;
            logLoss -= labels[i] ? Math.Log(p) : Math.Log(1 - p);
            sumP += probabilities[i];
        }

        if (n == 0)
        {
            return new EvaluationReport(new ModelMetrics(double.NaN, double.NaN, double.NaN, double.NaN, 0, 0), []);
        }

        logLoss /= n;
        var ctr = (double)positives / n;
        var baseEntropy = ctr is > 0 and < 1 ? -((ctr * Math.Log(ctr)) + ((1 - ctr) * Math.Log(1 - ctr))) : double.NaN;
        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var scores = probabilities.ToArray();
        Array.Sort(scores, order);
        var auc = Auc(labels, scores, order, positives);
        var deciles = Deciles(labels, scores, order, buckets);
        var metrics = new ModelMetrics(auc, logLoss, logLoss / baseEntropy, ctr > 0 ? sumP / n / ctr : double.NaN, n, positives);
        return new EvaluationReport(metrics, deciles);
    }

    /// <summary>Mann-Whitney AUC with tied scores sharing their average rank.</summary>
    private static double Auc(ReadOnlySpan<bool> labels, float[] sortedScores, int[] order, long positives)
    {
        var n = sortedScores.Length;
        var negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        double rankSum = 0;
        var i = 0;
        while (i < n)
        {
            var j = i;
            while (j + 1 < n && sortedScores[j + 1] == sortedScores[i])
            {
                j++;
            }

            var averageRank = ((i + j) / 2.0) + 1;
            for (var k = i; k <= j; k++)
            {
                if (labels[order[k]])
                {
                    rankSum += averageRank;
                }
            }

            i = j + 1;
        }

        return (rankSum - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }

    private static CalibrationBucket[] Deciles(ReadOnlySpan<bool> labels, float[] sortedScores, int[] order, int buckets)
    {
        var n = sortedScores.Length;
        var result = new CalibrationBucket[Math.Min(buckets, n)];
        for (var b = 0; b < result.Length; b++)
        {
            var from = (int)((long)n * b / result.Length);
            var to = (int)((long)n * (b + 1) / result.Length);
            double sum = 0;
            long clicks = 0;
            for (var k = from; k < to; k++)
            {
                sum += sortedScores[k];
                clicks += labels[order[k]] ? 1 : 0;
            }

            var count = to - from;
            result[b] = new CalibrationBucket(b + 1, count, count == 0 ? 0 : sum / count, count == 0 ? 0 : (double)clicks / count);
        }

        return result;
    }
}
