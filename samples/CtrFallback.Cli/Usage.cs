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
          bench [--json] [--rows N | --data FILE] [--calls N] [--seconds S] [--impressions 1024] [--store DIR [--model-name ctr] [--alias champion]]
              Train a small model and measure in-process featurize+predict: p50/p99 latency, bytes per call, throughput.
        """;
}
