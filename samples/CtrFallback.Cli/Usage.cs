namespace CtrFallback.Cli;

internal static class Usage
{
    public const string Text = """
        ctrfallback: train, judge, store and serve CTR models for a DSP's fallback path.

        Commands:
          generate --rows N --out FILE [--seed S] [--ctr 0.2] [--learnable]
              Write a synthetic Criteo-format click log with a hidden logistic truth.
          train --data FILE[,FILE...] [--format criteo|avazu | --schema FILE] [--json]
                [--trainer sdca|sgd|lightgbm] [--holdout-fraction 0.1] [--max-malformed 0.001]
                [--negative-sample-rate 1] [--l2 L] [--iterations N] [--threads T] [--tolerance 0.001] [--hash-bits B]
              Read, featurize, train and evaluate on the most recent rows.
          analyze --data FILE[,FILE...] [--format criteo|avazu | --schema FILE] [--hash-bits B] [--sample N] --out FILE.html
              Profile every field (coverage, cardinality, top values, CTR, univariate AUC) and rank cross candidates; self-contained HTML.
          report --version V [--model ctr] [--store DIR | --mlflow URI] --out FILE.html
              Fetch a version's evaluation report (ROC, calibration, score histograms, metrics, gate decision) from the store.
        """;
}
