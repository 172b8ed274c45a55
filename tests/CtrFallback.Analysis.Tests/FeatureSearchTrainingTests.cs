using CtrFallback.Data;
using CtrFallback.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Tests;

/// <summary>Training:Features = Auto: the analysis's search on the training rows, then a real SDCA fit with the chosen schema.</summary>
public sealed class FeatureSearchTrainingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task TrainAuto_FindsTheCrossPlantedInTheTrainingRows_AndNeverOneOnlyTheHoldoutCarries()
    {
        // File order is time order: the first half (the training rows) carries C2 x C17, the second half (the holdout
        // at HoldoutFraction 0.5) carries C5 x C23. A search that peeked at the holdout would find C5 x C23 as clearly.
        var log = _dir.File("two-halves.tsv");
        var first = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 50_000, Seed = 7, Crosses = [new FieldCross("C2", "C17")] });
        var second = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 50_000, Seed = 8, Crosses = [new FieldCross("C5", "C23")] });
        await File.WriteAllLinesAsync(log, first.Concat(second).Select(i => i.Line));
        await using var provider = Provider(FeatureSelection.Auto, holdout: 0.5, search: true);

        var result = await provider.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [log]);

        var crosses = result.Parameters["featurizer.crosses"].Split(',');
        crosses.Should().Contain("C2xC17").And.NotContain("C5xC23");
        crosses.Should().StartWith(ClickLogSchema.Criteo.Crosses.Select(c => c.ToString()), "the input schema's crosses are kept");
        result.Parameters["features"].Should().Be("Auto");
        result.Parameters["features.addedCrosses"].Should().StartWith("C2xC17 (NE gain").And.NotContain("C5xC23");
        result.Parameters["features.searchRows"].Should().StartWith("50000 training rows read");
        result.Parameters["featurizer.hashBits"].Should().Be(result.Parameters["features.hashBits"].Split(' ')[0]);
        result.Evaluation.Metrics.Auc.Should().BeGreaterThan(0.6);
    }

    [Fact]
    public async Task TrainAuto_OnALogWithTwoPlantedCrosses_AddsBoth_AndBeatsThePresetOnTheHoldout()
    {
        var log = _dir.File("planted.tsv");
        var options = new SyntheticClickLogOptions { Rows = 100_000, Seed = 7, Crosses = [new FieldCross("C2", "C17"), new FieldCross("C5", "C23")] };
        SyntheticClickLog.Write(log, options);
        await using var auto = Provider(FeatureSelection.Auto, holdout: 0.1, search: true);
        await using var preset = Provider(FeatureSelection.Schema, holdout: 0.1, search: true);

        var chosen = await auto.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [log]);
        var again = await auto.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [log]);
        var baseline = await preset.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [log]);

        chosen.Parameters["featurizer.crosses"].Should().Be("C6xC14,C2xC11,C17xC20,C2xC17,C5xC23");
        again.Parameters["featurizer.crosses"].Should().Be(chosen.Parameters["featurizer.crosses"], "the same log and options choose the same schema");
        again.Parameters["featurizer.hashBits"].Should().Be(chosen.Parameters["featurizer.hashBits"]);
        baseline.Parameters["features"].Should().Be("Schema");
        baseline.Parameters.Should().NotContainKey("features.addedCrosses");
        chosen.Evaluation.Metrics.Auc.Should().BeGreaterThan(baseline.Evaluation.Metrics.Auc + 0.005, "the planted crosses carry signal the preset misses");

        // The ceiling: the generator's own click probabilities on the same holdout (the last tenth of the rows).
        var truth = SyntheticClickLog.Generate(options).TakeLast((int)chosen.Evaluation.Metrics.Rows).ToArray();
        var truthAuc = Auc(truth.Select(t => t.Label).ToArray(), truth.Select(t => t.TruthProbability).ToArray());
        truthAuc.Should().BeGreaterThan(chosen.Evaluation.Metrics.Auc, "no model beats the truth it was generated from");
        (chosen.Evaluation.Metrics.Auc - baseline.Evaluation.Metrics.Auc).Should().BeGreaterThan(0.25 * (truthAuc - baseline.Evaluation.Metrics.Auc),
            "the search closes a real share of the preset's distance to the truth");
    }

    [Fact]
    public async Task TrainAuto_SearchesRunAtOnce_ChooseWhatOneRunAloneChooses()
    {
        // The search scores fields and pairs in parallel; what it chooses must not depend on thread timing, so runs
        // competing for the cores give the very parameters of a run alone.
        var log = _dir.File("planted-concurrent.tsv");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 60_000, Seed = 11, Crosses = [new FieldCross("C2", "C17")] });
        await using var auto = Provider(FeatureSelection.Auto, holdout: 0.1, search: true);
        var trainer = auto.GetRequiredService<ICtrTrainer>();

        var alone = await trainer.TrainAsync(ClickLogSchema.Criteo, [log]);
        var together = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => trainer.TrainAsync(ClickLogSchema.Criteo, [log])));

        static Dictionary<string, string> Chosen(TrainingResult r) => r.Parameters
            .Where(p => p.Key.StartsWith("features.", StringComparison.Ordinal) && p.Key != "features.searchSeconds" || p.Key.StartsWith("featurizer.", StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value);
        alone.Parameters["features.addedCrosses"].Should().StartWith("C2xC17");
        together.Should().AllSatisfy(r => Chosen(r).Should().Equal(Chosen(alone)));
        together.Should().AllSatisfy(r => r.Evaluation.Metrics.Auc.Should().Be(alone.Evaluation.Metrics.Auc));
    }

    private static double Auc(bool[] labels, double[] scores)
    {
        // Mann-Whitney: the share of (click, non-click) pairs the scores order correctly, ties counting half.
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        double rankSum = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]])
            {
                end++;
            }

            var rank = ((start + end) / 2.0) + 1;
            for (var k = start; k <= end; k++)
            {
                rankSum += labels[order[k]] ? rank : 0;
            }

            start = end + 1;
        }

        double positives = labels.Count(l => l);
        var negatives = labels.Length - positives;
        return (rankSum - (positives * (positives + 1) / 2)) / (positives * negatives);
    }

    [Fact]
    public async Task TrainAuto_WithoutAFeatureSearchRegistered_FailsNamingTheOptionAndTheCall()
    {
        var log = _dir.File("small.tsv");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 2_000, Seed = 1 });
        await using var provider = Provider(FeatureSelection.Auto, holdout: 0.1, search: false);

        var act = () => provider.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [log]);

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*Training:Features = Auto*UseFeatureSearch()*");
    }

    private ServiceProvider Provider(FeatureSelection features, double holdout, bool search)
    {
        var services = new ServiceCollection();
        var builder = services.AddCtrFallback(o =>
        {
            o.Features = features;
            o.HoldoutFraction = holdout;
            o.TempDirectory = _dir.Path;
        });
        if (search)
        {
            builder.UseFeatureSearch();
        }

        return services.BuildServiceProvider();
    }
}
