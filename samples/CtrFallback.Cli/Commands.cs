using System.CommandLine;

namespace CtrFallback.Cli;

/// <summary>The ctrfallback command tree for System.CommandLine: every command with the options it reads.</summary>
internal static class Commands
{
    private delegate Task<int> Handler(CommandLine args, CancellationToken cancellationToken);

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "ctrfallback: train, judge, store and serve CTR models for a DSP's fallback path.\n" +
            "Every setting can also come from environment variables: CtrFallback__Store__Path, CtrFallback__Gate__MinAuc, ...\n" +
            "Exit codes: 0 done (a candidate rejected by the gate is a normal outcome), 1 error, 2 usage, 3 deployment failed, 130 cancelled.");

        Add(root, "quickstart", "The whole lifecycle on embedded defaults: generate a log, train, gate, register, promote, score.", QuickstartCommand.RunAsync,
            Value("--dir", "Folder for the generated logs and the store (default ./ctrfallback-quickstart)."),
            Value("--rows", "Rows per generated day."));
        Add(root, "generate", "Write a synthetic Criteo-format click log with a hidden logistic truth.", GenerateCommand.RunAsync,
            Value("--rows", "Rows to write (required)."),
            Value("--out", "The file to write (required)."),
            Value("--seed", "Random seed."),
            Value("--ctr", "Target click rate (default 0.2)."),
            Flag("--learnable", "Only fields the log shows drive the truth (a model can reach it)."),
            Value("--crosses", "Crosses planted in the truth instead of the preset's: pairs and triples, e.g. C2:C17,C5:C22:C9."),
            Value("--truth", "Also write the hidden truth's click probability of each row, one a line (the AUC ceiling of any model)."));
        Add(root, "train", "The training batch: read, featurize, train, evaluate on the most recent rows, gate against the champion on the same holdout, register; on a pass move 'champion' and trigger a rollout. One training thread gives the same model from the same log every time.", TrainCommand.RunAsync,
            [Value("--data", "Click logs, comma-separated, in time order: files, folders or globs (** too); Hive partitions dt=YYYY-MM-DD[/hour=HH] are read in partition order (required)."), .. Schema(), Flag("--json", "Print the result as JSON."), .. Training(), .. Store()]);
        Add(root, "models", "List versions with metrics, gate results and aliases.", ModelCommands.ModelsAsync,
            [Flag("--json", "Print the versions as JSON."), .. Store()]);
        Add(root, "history", "The champion's quality run after run: its AUC, NE and calibration on each training run's newest holdout, beside the candidate's, from the store's records, so decay shows.", ModelCommands.HistoryAsync,
            [Flag("--json", "Print the runs as JSON."), .. Store()]);
        Add(root, "promote", "Point 'champion' at a version and trigger a rollout (a gate-failed version needs --force).", ModelCommands.PromoteAsync,
            [Value("--version", "The version to promote (required)."), Flag("--force", "Promote a version that failed the gate."), Flag("--json", "Print the result as JSON."), .. Store()]);
        Add(root, "rollback", "Move 'champion' back to the previous champion and trigger a rollout.", ModelCommands.RollbackAsync,
            [Flag("--json", "Print the result as JSON."), .. Store()]);
        Add(root, "predict", "Score a click log with a stored model (tab-separated label and ctr per row).", ModelCommands.PredictAsync,
            [Value("--data", "The click log to score (required)."), Value("--model", "champion (default) or a version number."), Value("--out", "The scores file (default standard output)."), .. Schema(), .. Store()]);
        Add(root, "analyze", "Profile every field (coverage, cardinality, top values, CTR, univariate AUC) and rank cross candidates; self-contained HTML.", AnalyzeCommand.RunAsync,
            [Value("--data", "Click logs, comma-separated: files, folders or globs (required)."), .. Schema(), Value("--window", "Analyze the newest partitions only, as train --window does (7d, 36h)."), Value("--sample", "Rows sampled for the cross candidates."), Value("--out", "The HTML report to write."),
             Value("--suggest-schema", "Write a schema file: the schema plus the crosses with significant held-out gain (pairs, and triples of a beam search from the best pairs), and hash bits from the collision estimate."),
             Value("--min-z", "Smallest z-score of a cross's gain to add it (default 3)."),
             Value("--false-cross-rate", "Chance that any added cross is noise, over all candidates scored: raises the z bar (Bonferroni, triples scored included; default 0.05: 3.34 for 120 candidates, 'off' for --min-z alone)."),
             Value("--beam-width", "Pairs extended to triples by the beam search of --suggest-schema (default 5; 0: pairs only)."),
             Value("--max-colliding-share", "Largest expected share of colliding features when choosing hash bits (default 0.1)."),
             Value("--memory-budget-mb", "Memory the weights may take when choosing hash bits (default 16: 2^22 weights).")]);
        Add(root, "report", "Fetch a version's evaluation report (ROC, calibration, score histograms, metrics, gate decision) from the store.", ReportCommand.RunAsync,
            [Value("--version", "The version (required)."), Value("--out", "The HTML file to write (required)."), .. Store()]);
        Add(root, "bench", "Train a small model (or load one from a store) and measure in-process featurize+predict: p50/p99 latency, bytes per call, throughput.", BenchCommand.RunAsync,
            [Flag("--json", "Print the measurements as JSON."), Value("--rows", "Rows of the generated training log."), Value("--data", "Train on this log instead."), Value("--calls", "Predictions to time."), Value("--seconds", "Time to measure for."), Value("--impressions", "Distinct impressions cycled (default 1024)."), Value("--store", "Load the model from this file store instead of training."), Value("--model-name", "The model's name in the store."), Value("--alias", "The alias to load."), .. Training()]);
        return root;
    }

    private static void Add(RootCommand root, string name, string description, Handler handler, params Option[] options)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction((parsed, cancellationToken) => handler(CommandLine.From(parsed, options), cancellationToken));
        root.Subcommands.Add(command);
    }

    private static Option<string> Value(string name, string description) => new(name) { Description = description };

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.Zero };

    private static Option[] Schema() =>
    [
        Value("--format", "criteo (default) or avazu."),
        Value("--schema", "A schema file, for other logs."),
        Value("--hash-bits", "Hash space of the featurizer, 2^B weights."),
    ];

    private static Option[] Training() =>
    [
        Value("--trainer", "sdca (default), sgd or lightgbm."),
        Value("--window", "Train on the newest partitions only: days or hours back from the newest partition's end (7d, 36h)."),
        Value("--holdout-fraction", "Share of the most recent rows held out (default 0.1)."),
        Value("--max-malformed", "Largest share of malformed rows before the run fails (default 0.001)."),
        Value("--negative-sample-rate", "Share of negatives kept (default 1)."),
        Value("--l2", "L2 regularization (default 10 / training rows)."),
        Value("--iterations", "Pass limit (default: the trainer's own stopping rule)."),
        Value("--threads", "Training threads (default 1: deterministic)."),
        Value("--tolerance", "SDCA's relative duality gap to stop at (default 0.04)."),
        Value("--check-frequency", "Passes between SDCA's convergence checks (default 5)."),
        Value("--temp-dir", "Folder for the temporary featurized log (default the system temp folder)."),
        Value("--features", "schema (default): the schema's crosses and hash bits; auto: add the crosses with significant held-out gain on the training rows and size the hash space by the collision estimate."),
    ];

    private static Option[] Store() =>
    [
        Value("--store", "The file store folder (default ./ctrfallback-store), or 'mlflow'."),
        Value("--mlflow-uri", "MLflow tracking server (or MLFLOW_TRACKING_URI)."),
        Value("--mlflow-experiment", "MLflow experiment for the training runs."),
        Value("--model-name", "Registered model name (default ctr)."),
        Value("--argo-rollout", "Restart this Argo Rollout when the champion moves."),
        Value("--argo-namespace", "The Rollout's namespace."),
        Value("--kubeconfig", "Kubeconfig file (default: in-cluster credentials)."),
        Value("--argo-context", "Kubeconfig context."),
        Value("--argo-timeout", "How long to wait for the Rollout (default 00:10:00)."),
        Flag("--no-wait", "Do not wait for the Rollout to become Healthy."),
    ];
}
