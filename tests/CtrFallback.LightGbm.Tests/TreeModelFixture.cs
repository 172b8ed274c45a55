using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.LightGbm.Tests;

/// <summary>One small generated log, a tree model and a linear model trained on it by the public trainer (seconds, not minutes).</summary>
public sealed class TreeModelFixture : IDisposable
{
    public TreeModelFixture()
    {
        Directory.CreateDirectory(Folder);
        LogPath = Path.Combine(Folder, "log.tsv");
        SyntheticClickLog.Write(LogPath, new SyntheticClickLogOptions { Rows = 30_000, Seed = 7 });
        Tree = Train(CtrTrainerKind.LightGbm);
        Linear = Train(CtrTrainerKind.Sdca);
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "ctrfallback-lgbm-tests-" + Guid.NewGuid().ToString("N"));

    public string LogPath { get; }

    public TrainingResult Tree { get; }

    public TrainingResult Linear { get; }

    /// <summary>Small trees, so the fixture trains in seconds; the defaults are measured in benchmarks/train.</summary>
    public static ServiceProvider Services(CtrTrainerKind trainer) =>
        new ServiceCollection()
            .AddCtrFallback(o => { o.Trainer = trainer; o.VocabularyMinCount = 10; })
            .UseLightGbmTrainer(o => { o.NumberOfLeaves = 15; o.MaximumRounds = 60; o.MinimumExampleCountPerLeaf = 20; })
            .Services.BuildServiceProvider();

    public TrainingResult Train(CtrTrainerKind trainer, byte[]? champion = null)
    {
        using var provider = Services(trainer);
        return provider.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [LogPath], champion).GetAwaiter().GetResult();
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
