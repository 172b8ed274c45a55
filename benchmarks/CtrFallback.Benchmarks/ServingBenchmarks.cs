using BenchmarkDotNet.Attributes;
using CtrFallback.Serving;
using CtrFallback.Training;
using Microsoft.Extensions.Options;
using CtrFallback.Data;

namespace CtrFallback.Benchmarks;

/// <summary>
/// Featurize + predict through the in-process predictor (the serving hot path): one Criteo-shaped impression
/// (13 counts, 26 categoricals, 3 crosses, 2^20 weights), and 100 candidates sharing one request context; with live
/// drift off and on (the default: 1 impression in 64 sampled into a 10,000-impression window), side by side.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ServingBenchmarks
{
    private ChampionPredictor _predictor = null!;
    private Impression[] _impressions = null!;
    private Impression _context = null!;
    private Impression[] _candidates = null!;
    private float[] _ctrs = null!;
    private int _next;
    private string _directory = null!;

    /// <summary>Whether live drift is measured (<c>CtrFallback:Serving:Drift:Enabled</c>, default settings otherwise).</summary>
    [Params(false, true)]
    public bool Drift { get; set; }

    internal CtrModel Model => _predictor.CurrentCtrModel!;

    internal Impression[] Impressions => _impressions;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "ctrfallback-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        var log = Path.Combine(_directory, "log.tsv");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 50_000, Seed = 7 });
        var trainer = new CtrTrainer(Options.Create(new TrainingOptions { L2Regularization = 3e-4f }), TimeProvider.System);
        var artifact = trainer.TrainAsync(ClickLogSchema.Criteo, [log]).GetAwaiter().GetResult().Artifact;
        _predictor = new ChampionPredictor(drift: new ServingDriftOptions { Enabled = Drift });
        _predictor.Publish(CtrModel.Load(artifact), new ModelVersion("ctr", 1, DateTimeOffset.UnixEpoch, "", new Dictionary<string, double>(), new Dictionary<string, string>(), new Dictionary<string, string>(), []), DateTimeOffset.UtcNow);

        var schema = _predictor.Schema!;
        var columns = ClickLogSchema.Criteo.Columns!;
        _impressions = File.ReadLines(log).Skip(45_000).Take(1_024).Select(line =>
        {
            var fields = line.Split('\t');
            var impression = new Impression(schema);
            impression.SetAll(columns, fields);

            return impression;
        }).ToArray();

        // Candidates carry the ad-side fields (here C3, C4, C10..C14: creative, campaign, advertiser-like ids); the rest is context.
        _context = _impressions[0];
        _candidates = _impressions.Skip(1).Take(100).Select(source =>
        {
            var candidate = new Impression(schema);
            foreach (var field in (int[])[2, 3, 9, 10, 11, 12, 13])
            {
                candidate.SetCategorical(field, source.Categorical[field]);
            }

            return candidate;
        }).ToArray();
        _ctrs = new float[_candidates.Length];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _predictor.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "featurize+predict 1 impression")]
    public float PredictOne() => _predictor.Predict(_impressions[_next++ & 1023]).Ctr;

    [Benchmark(Description = "featurize+predict 100 candidates")]
    public float PredictCandidates100()
    {
        _predictor.PredictCandidates(_context, _candidates, _ctrs);
        return _ctrs[0];
    }
}
