using System.Globalization;
using CtrFallback.Data;

namespace CtrFallback.Serving;

/// <summary>Scores whole click logs with a stored model artifact: batch prediction, through the same featurizer as serving.</summary>
public static class ClickLogScoring
{
    /// <summary>
    /// Scores every well-formed row of the files and writes one tab-separated line per row (<c>label</c>, <c>ctr</c>) after a header.
    /// Malformed rows are skipped and counted, never silently.
    /// </summary>
    /// <param name="artifact">The model artifact's bytes (as downloaded from a store).</param>
    /// <param name="schema">How to read the files; the model picks its own fields from them by name.</param>
    /// <param name="files">The click-log files.</param>
    /// <param name="output">Where the scores go.</param>
    /// <param name="cancellationToken">Cancels scoring.</param>
    /// <returns>Rows scored, their mean predicted CTR and observed CTR, and the malformed rows.</returns>
    public static ClickLogScores Score(byte[] artifact, ClickLogSchema schema, IReadOnlyList<string> files, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(output);
        using var model = Serving.CtrModel.Load(artifact);
        using var reader = new ClickLogReader(schema, files);
        Func<ClickLogRow, float>? scorer = null;
        long rows = 0, clicks = 0;
        double sum = 0;
        output.WriteLine("label\tctr");
        while (reader.Read())
        {
            if ((rows & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            scorer ??= model.CreateRowScorer(reader.Columns);
            var p = scorer(reader.Row);
            output.Write(reader.Row.Label ? "1\t" : "0\t");
            output.WriteLine(p.ToString("0.######", CultureInfo.InvariantCulture));
            rows++;
            clicks += reader.Row.Label ? 1 : 0;
            sum += p;
        }

        return new ClickLogScores(rows, rows == 0 ? 0 : sum / rows, rows == 0 ? 0 : (double)clicks / rows, reader.Malformed.Count, reader.Malformed.First);
    }
}

/// <summary>A summary of a batch-scored click log.</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="MeanPredictedCtr">Mean predicted CTR.</param>
/// <param name="ObservedCtr">Observed CTR (from the log's labels).</param>
/// <param name="MalformedRows">Rows skipped as malformed.</param>
/// <param name="MalformedExamples">The first malformed rows.</param>
public sealed record ClickLogScores(long Rows, double MeanPredictedCtr, double ObservedCtr, long MalformedRows, IReadOnlyList<MalformedRow> MalformedExamples);
