using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;

namespace CtrFallback.Cli;

/// <summary>
/// <c>ctrfallback bench</c>: trains a small model, serves it through the public in-process predictor and measures one
/// impression's featurize + predict: per-call latency percentiles, bytes allocated, throughput on one and on all cores.
/// </summary>
internal static class BenchCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var json = args.Flag("--json");
        var data = args.String("--data");
        var rows = args.Long("--rows") ?? 100_000;
        var calls = (int)Math.Clamp(args.Long("--calls") ?? 1_000_000, 10_000, 50_000_000);
        var seconds = Math.Clamp(args.Double("--seconds") ?? 2, 0.2, 60);

        // Distinct holdout impressions cycled through (a power of two); fewer keep their strings in cache, as a just-parsed request's are.
        var distinct = (int)Math.Clamp(args.Long("--impressions") ?? 1_024, 128, 65_536);
        var store = args.String("--store");
        var modelName = args.String("--model-name") ?? "ctr";
        var alias = args.String("--alias") ?? ModelAliases.Champion;
        var training = TrainCommand.TrainingOptionsFrom(args);
        args.EnsureAllUsed();

        var temp = Path.Combine(Path.GetTempPath(), "ctrfallback-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            if (data is null)
            {
                Directory.CreateDirectory(temp);
                data = Path.Combine(temp, "log.tsv");
                SyntheticClickLog.Write(data, new SyntheticClickLogOptions { Rows = rows, Seed = 42 });
            }

            TrainingResult trained;
            using (var provider = Bare(s => s.AddCtrFallback(training).UseLightGbmTrainer()))
            {
                trained = await provider.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [data], cancellationToken: cancellationToken);
            }

            // Serve it exactly as an application would: AddChampionServing over a store that holds this one artifact.
            using var serving = Bare(s =>
            {
                s.AddSingleton<IModelStore>(new SingleArtifactStore(modelName, trained.Artifact));
                s.AddCtrFallback().UseLightGbmTrainer().AddChampionServing(o => o.ModelName = modelName);
            });
            var loaded = await serving.GetRequiredService<IChampionFollower>().ReloadAsync(cancellationToken);
            if (loaded.Outcome != ChampionReloadOutcome.Loaded)
            {
                throw new InvalidDataException($"the trained model did not load: {loaded.Message}");
            }

            var predictor = serving.GetRequiredService<ICtrPredictor>();
            var impressions = ReadImpressions(data, predictor.Schema!, distinct);
            var result = Measure(predictor, impressions, calls, TimeSpan.FromSeconds(seconds));
            result["distinctImpressions"] = impressions.Length;
            result["modelVersion"] = predictor.CurrentModel!.Label;
            result["auc"] = Math.Round(trained.Evaluation.Metrics.Auc, 4);
            result["trainingRows"] = trained.TrainingRows;
            result["trainSeconds"] = Math.Round(trained.Stages.Values.Sum(s => s.TotalSeconds), 2);
            if (store is not null)
            {
                result["registered"] = await RegisterAsync(store, modelName, alias, trained, cancellationToken);
            }

            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, Output.Json));
            }
            else
            {
                foreach (var (key, value) in result)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key,-32} {value}"));
                }
            }

            return 0;
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    private static Impression[] ReadImpressions(string path, FeatureSchema schema, int count)
    {
        // The most recent rows (the holdout side of the log), as the baseline's make_requests.py takes them.
        var columns = ClickLogSchema.Criteo.Columns!;
        var lines = File.ReadLines(path).ToArray();
        return lines.Skip(Math.Max(0, lines.Length - count)).Select(line =>
        {
            var fields = line.Split('\t');
            var impression = new Impression(schema);
            impression.SetAll(columns, fields);

            return impression;
        }).ToArray();
    }

    private static Dictionary<string, object?> Measure(ICtrPredictor predictor, Impression[] impressions, int calls, TimeSpan window)
    {
        var mask = impressions.Length - 1;
        if ((impressions.Length & mask) != 0)
        {
            impressions = impressions[..(1 << (31 - int.LeadingZeroCount(impressions.Length)))];
            mask = impressions.Length - 1;
        }

        // Warm-up: at least 200k calls and one second (tiered JIT promotes the hot path in the background), at most 20M calls.
        float sink = 0;
        var warmup = Stopwatch.StartNew();
        for (var i = 0; i < 20_000_000 && (i < 200_000 || warmup.Elapsed < TimeSpan.FromSeconds(1)); i++)
        {
            sink += predictor.Predict(impressions[i & mask]).Ctr;
        }

        // Per-call latency: a timestamp pair around every call (the pair's own cost is reported beside it).
        var ticks = new long[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            sink += predictor.Predict(impressions[i & mask]).Ctr;
            ticks[i] = Stopwatch.GetTimestamp() - start;
        }

        var overhead = new long[100_000];
        for (var i = 0; i < overhead.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            overhead[i] = Stopwatch.GetTimestamp() - start;
        }

        Array.Sort(ticks);
        Array.Sort(overhead);
        var nsPerTick = 1e9 / Stopwatch.Frequency;

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < calls; i++)
        {
            sink += predictor.Predict(impressions[i & mask]).Ctr;
        }

        var allocated = (double)(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / calls;
        var oneThread = Throughput(predictor, impressions, 1, window);
        var threads = Environment.ProcessorCount;
        var allCores = Throughput(predictor, impressions, threads, window);

        var context = impressions[0];
        var candidates = impressions[1..101];
        var ctrs = new float[candidates.Length];
        var batch = new long[Math.Max(1_000, calls / 200)];
        for (var i = 0; i < batch.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            predictor.PredictCandidates(context, candidates, ctrs);
            batch[i] = Stopwatch.GetTimestamp() - start;
        }

        Array.Sort(batch);
        GC.KeepAlive(sink);
        return new Dictionary<string, object?>
        {
            ["p50Ns"] = Math.Round(ticks[calls / 2] * nsPerTick, 1),
            ["p90Ns"] = Math.Round(ticks[(int)(calls * 0.9)] * nsPerTick, 1),
            ["p99Ns"] = Math.Round(ticks[(int)(calls * 0.99)] * nsPerTick, 1),
            ["p999Ns"] = Math.Round(ticks[(int)(calls * 0.999)] * nsPerTick, 1),
            ["timerPairP50Ns"] = Math.Round(overhead[overhead.Length / 2] * nsPerTick, 1),
            ["allocatedBytesPerPrediction"] = allocated,
            ["predictionsPerSecond1Thread"] = Math.Round(oneThread),
            ["predictionsPerSecondAllCores"] = Math.Round(allCores),
            ["threads"] = threads,
            ["calls"] = calls,
            ["candidates100P50Ns"] = Math.Round(batch[batch.Length / 2] * nsPerTick, 1),
            ["candidates100P99Ns"] = Math.Round(batch[(int)(batch.Length * 0.99)] * nsPerTick, 1),
        };
    }

    private static double Throughput(ICtrPredictor predictor, Impression[] impressions, int threads, TimeSpan window)
    {
        var mask = impressions.Length - 1;
        var counts = new long[threads];
        using var start = new Barrier(threads + 1);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            long n = 0;
            float sink = 0;

            // Bounded by time and by count.
            while (clock.Elapsed < window && n < 500_000_000)
            {
                for (var i = 0; i < 1_024; i++)
                {
                    sink += predictor.Predict(impressions[(int)((n + i + (t * 7919)) & mask)]).Ctr;
                }

                n += 1_024;
            }

            counts[t] = (long)(n / clock.Elapsed.TotalSeconds);
            GC.KeepAlive(sink);
        }) { IsBackground = true }).ToArray();
        foreach (var worker in workers)
        {
            worker.Start();
        }

        start.SignalAndWait();
        foreach (var worker in workers)
        {
            worker.Join();
        }

        return counts.Sum();
    }

    private static async Task<string> RegisterAsync(string path, string modelName, string alias, TrainingResult trained, CancellationToken cancellationToken)
    {
        using var provider = Bare(s => s.AddCtrFallback().UseFileModelStore(o => o.Path = path));
        var store = provider.GetRequiredService<IModelStore>();
        var version = await store.RegisterAsync(
            new ModelRegistration(modelName, trained.Artifact, trained.Evaluation.Metrics, trained.Parameters, DataFingerprint: trained.DataFingerprint),
            cancellationToken);
        await store.SetAliasAsync(modelName, alias, version.Version, cancellationToken);
        return version.Label;
    }

    private static ServiceProvider Bare(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        configure(services);
        return services.BuildServiceProvider();
    }

    /// <summary>A read-only store holding one artifact as version 1 under the champion alias: serving's input for the benchmark.</summary>
    private sealed class SingleArtifactStore(string modelName, byte[] artifact) : IModelStore
    {
        private readonly ModelVersion _version = new(
            modelName,
            1,
            DateTimeOffset.UtcNow,
            Convert.ToHexStringLower(SHA256.HashData(artifact)),
            new Dictionary<string, double>(),
            new Dictionary<string, string>(),
            new Dictionary<string, string>(),
            [ModelAliases.Champion]);

        public Task<ModelVersion?> GetVersionByAliasAsync(string modelName, string alias, CancellationToken cancellationToken = default) =>
            Task.FromResult(modelName == _version.ModelName && alias == ModelAliases.Champion ? _version : null);

        public Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default) =>
            Task.FromResult(modelName == _version.ModelName && version == 1 ? _version : null);

        public Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string modelName, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<ModelVersion>>(modelName == _version.ModelName ? [_version] : []);

        public Task<byte[]> DownloadArtifactAsync(string modelName, int version, CancellationToken cancellationToken = default) =>
            modelName == _version.ModelName && version == 1 ? Task.FromResult(artifact) : throw new ModelStoreException($"{modelName}/{version} does not exist.");

        public Task<byte[]?> DownloadAttachmentAsync(string modelName, int version, string fileName, CancellationToken cancellationToken = default) =>
            Task.FromResult<byte[]?>(null);

        public Task<ModelVersion> RegisterAsync(ModelRegistration registration, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The benchmark's store is read-only.");

        public Task SetAliasAsync(string modelName, string alias, int version, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The benchmark's store is read-only.");

        public Task SetVersionTagAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The benchmark's store is read-only.");
    }
}
