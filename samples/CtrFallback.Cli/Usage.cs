namespace CtrFallback.Cli;

internal static class Usage
{
    public const string Text = """
        ctrfallback: train, judge, store and serve CTR models for a DSP's fallback path.

        Commands:
          quickstart [--dir DIR] [--rows N]
              The whole lifecycle on embedded defaults: generate a log, train, gate, register, promote, score.
          generate --rows N --out FILE [--seed S] [--ctr 0.2] [--learnable]
              Write a synthetic Criteo-format click log with a hidden logistic truth.
          train --data FILE[,FILE...] [--format criteo|avazu | --schema FILE] [--json]
                [--trainer sdca|sgd|lightgbm] [--holdout-fraction 0.1] [--max-malformed 0.001]
                [--negative-sample-rate 1] [--l2 L] [--iterations N] [--threads 1] [--tolerance 0.04]
                [--check-frequency 5] [--hash-bits B] [--temp-dir DIR]
              The training batch: read, featurize, train, evaluate on the most recent rows, gate against the
              champion on the same holdout, register; on a pass move 'champion' and trigger a rollout.
              One training thread gives the same model from the same log every time; more are faster, not repeatable.
          models [--json]                     List versions with metrics, gate results and aliases.
          promote --version V [--force]       Point 'champion' at V (a gate-failed V needs --force) and trigger a rollout.
          rollback                            Move 'champion' back to the previous champion and trigger a rollout.
          predict --data FILE [--model champion|V] [--out FILE] [--format ... | --schema FILE]
              Score a click log with a stored model (tab-separated label and ctr per row).
          analyze --data FILE[,FILE...] [--format criteo|avazu | --schema FILE] [--hash-bits B] [--sample N] --out FILE.html
              Profile every field (coverage, cardinality, top values, CTR, univariate AUC) and rank cross candidates; self-contained HTML.
          report --version V --out FILE.html
              Fetch a version's evaluation report (ROC, calibration, score histograms, metrics, gate decision) from the store.
          bench [--json] [--rows N | --data FILE] [--calls N] [--seconds S] [--impressions 1024] [--store DIR [--model-name ctr] [--alias champion]]
              Train a small model and measure in-process featurize+predict: p50/p99 latency, bytes per call, throughput.

        Store and deployment options (train, models, promote, rollback, predict, report):
          --store DIR | --store mlflow       The file store folder (default ./ctrfallback-store), or MLflow.
          --mlflow-uri URI [--mlflow-experiment NAME]   MLflow tracking server (or MLFLOW_TRACKING_URI).
          --model-name NAME                  Registered model name (default ctr).
          --argo-rollout NAME --argo-namespace NS [--kubeconfig FILE] [--argo-context C] [--argo-timeout 00:10:00] [--no-wait]
              Restart an Argo Rollout when the champion moves, and wait until it is Healthy.
        Every setting can also come from environment variables: CtrFallback__Store__Path, CtrFallback__Gate__MinAuc, ...

        Exit codes: 0 done (a candidate rejected by the gate is a normal outcome), 1 error, 2 usage, 3 deployment failed, 130 cancelled.
        """;
}
