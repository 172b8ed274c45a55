using CtrFallback.Data;
using CtrFallback.Evaluation;
using CtrFallback.Promotion;
using CtrFallback.Serving;
using CtrFallback.Training;
using Microsoft.Extensions.Options;

namespace CtrFallback.LightGbm.Tests;

public sealed class TreeServingTests(TreeModelFixture fixture) : IClassFixture<TreeModelFixture>
{
    [Fact]
    public void BatchScoringTheHoldout_GivesTheAucTrainingReported()
    {
        // No timestamps in the generated log: the holdout is the last 10% of rows in file order.
        var lines = File.ReadAllLines(fixture.LogPath);
        var holdout = Path.Combine(fixture.Folder, "holdout.tsv");
        File.WriteAllLines(holdout, lines[(lines.Length - (int)fixture.Tree.Evaluation.Metrics.Rows)..]);
        using var output = new StringWriter();

        var scores = ClickLogScoring.Score(fixture.Tree.Artifact, ClickLogSchema.Criteo, [holdout], output);

        var scored = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split('\t')).ToArray();
        var labels = scored.Select(s => s[0] == "1").ToArray();
        var ctrs = scored.Select(s => float.Parse(s[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        scores.Rows.Should().Be(fixture.Tree.Evaluation.Metrics.Rows);
        Evaluator.Evaluate(labels, ctrs).Metrics.Auc.Should().BeApproximately(fixture.Tree.Evaluation.Metrics.Auc, 1e-4);
    }

    [Fact]
    public async Task GateWithLinearChampion_JudgesTheTreeCandidateOnTheSameHoldout_AndTheOtherWayRound()
    {
        var treeAgainstLinear = fixture.Train(CtrTrainerKind.LightGbm, champion: fixture.Linear.Artifact);
        var linearAgainstTree = fixture.Train(CtrTrainerKind.Sdca, champion: fixture.Tree.Artifact);
        var gate = new PromotionGate(Options.Create(new PromotionGateOptions()));

        var decision = await gate.EvaluateAsync(new GateInput(treeAgainstLinear.Evaluation.Metrics, treeAgainstLinear.ChampionEvaluation!.Metrics, 1));
        var reverse = await gate.EvaluateAsync(new GateInput(linearAgainstTree.Evaluation.Metrics, linearAgainstTree.ChampionEvaluation!.Metrics, 2));

        // Each champion, scored on the other run's holdout, gives exactly what its own training reported: one holdout.
        treeAgainstLinear.ChampionEvaluation.Metrics.Auc.Should().BeApproximately(fixture.Linear.Evaluation.Metrics.Auc, 1e-6);
        linearAgainstTree.ChampionEvaluation.Metrics.Auc.Should().BeApproximately(fixture.Tree.Evaluation.Metrics.Auc, 1e-6);
        treeAgainstLinear.Evaluation.Metrics.Auc.Should().BeApproximately(fixture.Tree.Evaluation.Metrics.Auc, 1e-9);
        decision.Criteria.Should().Contain(c => c.Criterion == "champion-auc");
        reverse.Criteria.Should().Contain(c => c.Criterion == "champion-auc");

        // Whichever is better on this holdout wins both ways.
        decision.Passed.Should().Be(!reverse.Passed || Math.Abs(fixture.Tree.Evaluation.Metrics.Auc - fixture.Linear.Evaluation.Metrics.Auc) < 0.002);
    }

    [Fact]
    public void ChampionPredictor_ServesATreeChampion_ForOneImpressionAndForCandidates()
    {
        using var predictor = new ChampionPredictor();
        using var model = CtrModel.Load(fixture.Tree.Artifact);
        predictor.Publish(model, new ModelVersion("ctr", 1, DateTimeOffset.UnixEpoch, "", new Dictionary<string, double>(), new Dictionary<string, string>(), new Dictionary<string, string>(), []), DateTimeOffset.UnixEpoch);
        var context = Imp(model.Schema, ("I1", "2"), ("C1", "68fd1e64"));
        var a = Imp(model.Schema, ("C3", "x"));
        var b = Imp(model.Schema, ("I5", "1000"));
        var ctrs = new float[2];

        var one = predictor.Predict(context);
        predictor.PredictCandidates(context, [a, b], ctrs);

        one.Ctr.Should().Be(model.Predict(context));
        ctrs[0].Should().Be(model.Predict(Imp(model.Schema, ("I1", "2"), ("C1", "68fd1e64"), ("C3", "x"))));
        ctrs[1].Should().Be(model.Predict(Imp(model.Schema, ("I1", "2"), ("C1", "68fd1e64"), ("I5", "1000"))));
    }

    private static Impression Imp(FeatureSchema schema, params (string Field, string Value)[] values)
    {
        var impression = new Impression(schema);
        foreach (var (field, value) in values)
        {
            impression.Set(field, value).Should().BeTrue();
        }

        return impression;
    }
}
