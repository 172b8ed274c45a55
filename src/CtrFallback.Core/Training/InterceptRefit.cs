using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace CtrFallback.Training;

/// <summary>
/// Refits the intercept of a trained linear model on its own training rows, weights held fixed: Newton's method on
/// the one-dimensional log-loss until the mean predicted CTR equals the observed CTR, which is the optimality condition
/// of an unregularized intercept (scikit-learn's, and the one SDCA approaches last: it learns the intercept as one more
/// regularized weight shared by every row, so a fit stopped at a loose duality gap leaves it biased).
/// </summary>
/// <remarks>
/// The shift is appended to the model as a fixed Platt calibrator (ML.NET's own), so the artifact stays a plain
/// ML.NET model that any host scores the same way. Margins are computed on two threads over fixed halves of the rows
/// and summed in a fixed order: the result does not depend on thread timing.
/// </remarks>
internal static class InterceptRefit
{
    /// <summary>Newton stops when the mean predicted and observed CTR differ by less than this.</summary>
    private const double Tolerance = 1e-7;

    // clicks: the clicks among rows; negative downsampling keeps every click, so they are the log's training clicks.
    public static (ITransformer Model, double Shift) Apply(MLContext ml, ITransformer model, FeaturizedLog log, int[] rows, long clicks, IDataView schemaSource, CancellationToken cancellationToken)
    {
        if (LinearModel.From(model) is not { } linear)
        {
            return (model, 0);
        }

        // z = -(slope * score + offset), so that p = sigmoid(z).
        var z = linear.Logits(log, rows, cancellationToken);

        var shift = 0.0;
        var halves = new (double Predicted, double Curvature)[2];
        for (var iteration = 0; iteration < 50; iteration++)
        {
            // Two halves summed in a fixed order: the same sums whatever the thread timing.
            Parallel.For(0, 2, half =>
            {
                double predicted = 0, curvature = 0;
                var (from, to) = half == 0 ? (0, z.Length / 2) : (z.Length / 2, z.Length);
                for (var i = from; i < to; i++)
                {
                    var p = 1 / (1 + Math.Exp(-(z[i] + shift)));
                    predicted += p;
                    curvature += p * (1 - p);
                }

                halves[half] = (predicted, curvature);
            });

            var gap = halves[0].Predicted + halves[1].Predicted - clicks;
            var curvature = halves[0].Curvature + halves[1].Curvature;
            if (Math.Abs(gap) < Tolerance * rows.Length || curvature <= 0)
            {
                break;
            }

            shift -= gap / curvature;
        }

        var calibrator = ml.BinaryClassification.Calibrators.Platt(linear.Slope, linear.Offset - shift).Fit(model.Transform(schemaSource));
        return (new TransformerChain<ITransformer>(model, calibrator), shift);
    }
}

/// <summary>
/// The weights of a trained linear model, applied to featurized rows by hand: the very formula serving uses
/// (<c>p = 1 / (1 + exp(slope * (bias + w.x) + offset))</c>), on two threads over fixed halves of the rows, so results do not
/// depend on thread timing.
/// </summary>
internal sealed class LinearModel
{
    private LinearModel(float[] weights, float bias, double slope, double offset) => (Weights, Bias, Slope, Offset) = (weights, bias, slope, offset);

    public float[] Weights { get; }

    public float Bias { get; }

    public double Slope { get; }

    public double Offset { get; }

    /// <summary>The linear model in a trainer's output, or in one followed by a fixed Platt calibrator; otherwise <see langword="null"/>.</summary>
    public static LinearModel? From(ITransformer model)
    {
        IReadOnlyList<ITransformer> parts = model is TransformerChain<ITransformer> chain ? [.. chain] : [model];
        if (parts.Count is not (1 or 2)
            || parts[0] is not ISingleFeaturePredictionTransformer<CalibratedModelParametersBase<LinearBinaryModelParameters, PlattCalibrator>> linear)
        {
            return null;
        }

        var platt = linear.Model.Calibrator;
        if (parts.Count == 2)
        {
            if (parts[1] is not ISingleFeaturePredictionTransformer<PlattCalibrator> refit)
            {
                return null;
            }

            platt = refit.Model;
        }

        return new LinearModel([.. linear.Model.SubModel.Weights], linear.Model.SubModel.Bias, platt.Slope, platt.Offset);
    }

    /// <summary>The logit <c>-(slope * score + offset)</c> of each row.</summary>
    public double[] Logits(FeaturizedLog log, int[] rows, CancellationToken cancellationToken)
    {
        var z = new double[rows.Length];
        var width = log.Hasher.HashedCount + log.Hasher.NumericCount;
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellationToken }, half =>
        {
            var indices = new int[width];
            var values = new float[width];
            var (from, to) = half == 0 ? (0, rows.Length / 2) : (rows.Length / 2, rows.Length);
            var scan = new FeaturizedLog.Scan(log);
            for (var i = from; i < to; i++)
            {
                scan.Passed(rows[i]);
                var count = log.ReadSparse(rows[i], indices, values);
                var score = Bias;
                for (var k = 0; k < count; k++)
                {
                    score += Weights[indices[k]] * values[k];
                }

                z[i] = -((Slope * score) + Offset);
            }

            scan.Done();
        });

        return z;
    }

    /// <summary>The probability of each row, computed in single precision as serving does.</summary>
    public float[] Probabilities(FeaturizedLog log, int[] rows, CancellationToken cancellationToken)
    {
        var z = Logits(log, rows, cancellationToken);
        var p = new float[z.Length];
        for (var i = 0; i < z.Length; i++)
        {
            p[i] = 1f / (1f + MathF.Exp(-(float)z[i]));
        }

        return p;
    }
}
