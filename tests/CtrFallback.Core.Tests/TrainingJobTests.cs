using Microsoft.Extensions.DependencyInjection;
using CtrFallback.Data;
using CtrFallback.Promotion;
using CtrFallback.Training;

namespace CtrFallback.Tests;

/// <summary>The training batch end to end over the real file store, with a recording deployment trigger.</summary>
public sealed class TrainingJobTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly RecordingTrigger _trigger = new();
    private readonly ServiceProvider _provider;

    public TrainingJobTests()
    {
        var services = new ServiceCollection();
        services.AddCtrFallback(o => o.L2Regularization = 3e-4f)
            .UseFileModelStore(o => o.Path = _dir.File("store"));
        services.AddSingleton<IDeploymentTrigger>(_trigger);

        // 20k-row logs drawn from the same truth differ by sampling noise alone; allow for it against the champion.
        services.Configure<PromotionGateOptions>(o =>
        {
            o.MaxAucLoss = 0.02;
            o.MaxNormalizedEntropyIncrease = 0.02;
        });
        _provider = services.BuildServiceProvider();
    }

    private ITrainingJob Job => _provider.GetRequiredService<ITrainingJob>();

    private IModelStore Store => _provider.GetRequiredService<IModelStore>();

    private IChampionManager Champion => _provider.GetRequiredService<IChampionManager>();

    public void Dispose()
    {
        _provider.Dispose();
        _dir.Dispose();
    }

    private string Log(int seed, bool shuffleLabels = false)
    {
        var lines = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 20_000, Seed = seed }).Select(i => i.Line).ToArray();
        if (shuffleLabels)
        {
            // A degraded candidate: the same impressions with their clicks dealt out at random.
            var labels = lines.Select(l => l[0]).ToArray();
            new Random(seed).Shuffle(labels);
            lines = lines.Select((l, i) => labels[i] + l[1..]).ToArray();
        }

        return _dir.Write($"day{seed}{(shuffleLabels ? "-shuffled" : string.Empty)}.tsv", string.Join('\n', lines));
    }

    private Task<TrainingJobResult> Train(string file, CancellationToken cancellationToken = default) =>
        Job.RunAsync(new TrainingJobRequest([file], ClickLogSchema.Criteo), null, cancellationToken);

    [Fact]
    public async Task Run_FirstThenSecond_PromotesV1ThenJudgesV2AgainstV1()
    {
        var first = await Train(Log(1));
        var second = await Train(Log(2));

        first.Version.Version.Should().Be(1);
        first.Promoted.Should().BeTrue();
        first.PreviousChampion.Should().BeNull();
        first.Gate.Criteria.Should().Contain(c => c.Criterion == "champion" && c.Reason.Contains("no champion yet"));
        second.Version.Version.Should().Be(2);
        second.PreviousChampion.Should().Be(1);
        second.Training.ChampionEvaluation.Should().NotBeNull();
        second.Gate.Criteria.Select(c => c.Criterion).Should().Contain(["champion-auc", "champion-normalized-entropy"]);
        second.Gate.Criteria.Single(c => c.Criterion == "champion-auc").Reason.Should().Contain("champion v1");
        (await Store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(second.Promoted ? 2 : 1);
        var report = System.Text.Encoding.UTF8.GetString((await Store.DownloadAttachmentAsync("ctr", 2, ITrainingJob.EvaluationReportAttachment))!);
        report.Should().Contain("champion").And.Contain(second.Gate.Criteria.Single(c => c.Criterion == "champion-auc").Reason.Split(':')[0]);
        _trigger.Requests.Should().StartWith(new DeploymentRequest("ctr", 1, ModelAliases.Champion));
    }

    [Fact]
    public async Task Run_WithShuffledLabels_RegistersTheCandidateButKeepsTheChampion()
    {
        await Train(Log(1));

        var bad = await Train(Log(3, shuffleLabels: true));

        bad.Promoted.Should().BeFalse();
        bad.Version.Version.Should().Be(2);
        bad.Gate.Passed.Should().BeFalse();
        // The holdout's labels are shuffled too, so the champion ranks no better on it: the absolute criteria catch this.
        bad.Gate.Criteria.Where(c => !c.Passed).Select(c => c.Criterion).Should().Contain(["min-auc", "max-normalized-entropy"]);
        bad.Gate.Reasons.Should().Contain(r => r.StartsWith("FAIL min-auc: AUC 0.", StringComparison.Ordinal));
        (await Store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(1);
        var stored = await Store.GetVersionAsync("ctr", 2);
        stored!.Gate!.Passed.Should().BeFalse();
        stored.Tags[ModelTags.GatePassed].Should().Be("false");
        _trigger.Requests.Should().HaveCount(1, "only the first, passing run triggers a rollout");
    }

    [Fact]
    public async Task Run_WhenTheTriggerFails_ReportsItWithTheAliasMoved_AndPromoteRerunsIt()
    {
        _trigger.FailWith = "rollout ctr-inference went Degraded: ProgressDeadlineExceeded";

        var result = await Train(Log(1));

        result.Promoted.Should().BeTrue();
        result.Deployment!.Status.Should().Be(DeploymentStatus.Failed);
        result.Deployment.Message.Should().Contain("ProgressDeadlineExceeded");
        (await Store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(1);

        _trigger.FailWith = null;
        var rerun = await Champion.PromoteAsync(1);

        rerun.Deployment.Status.Should().Be(DeploymentStatus.Succeeded);
        _trigger.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Run_CancelledBeforeRegistration_LeavesTheStoreAsItWas()
    {
        await Train(Log(1));
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        var act = () => Train(Log(2), cancellation.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        (await Store.ListVersionsAsync("ctr")).Select(v => v.Version).Should().Equal(1);
        (await Store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task Rollback_GoesBackToThePreviousChampion_AndNotFurtherThanHistory()
    {
        await Train(Log(1));
        await Champion.PromoteAsync((await Train(Log(2))).Version.Version);

        var back = await Champion.RollbackAsync();

        back.PreviousVersion.Should().Be(2);
        back.Version.Version.Should().Be(1);
        (await Store.GetVersionAsync("ctr", 2))!.Tags[ModelTags.RolledBack].Should().Be("true");
        var again = () => Champion.RollbackAsync();
        await again.Should().ThrowAsync<ChampionChangeException>().WithMessage("*nothing to roll back*");
    }

    [Fact]
    public async Task Promote_WhenTheRolloutIsAbortedAndAsksTheAliasToFollow_RollsBackAsTheRollbackCommandDoes()
    {
        await Train(Log(1));
        await Train(Log(3, shuffleLabels: true));
        _trigger.AbortVersion = 2;
        _trigger.AskRollback = true;

        var change = await Champion.PromoteAsync(2, force: true);

        change.Deployment.Status.Should().Be(DeploymentStatus.Failed);
        change.Deployment.Message.Should().Contain("analysis said no").And.Contain("moved back to ctr/1 (rollback)");
        change.Rollback.Should().NotBeNull();
        change.Rollback!.PreviousVersion.Should().Be(2);
        change.Rollback.Version.Version.Should().Be(1);
        change.Rollback.Deployment.Status.Should().Be(DeploymentStatus.Succeeded);
        (await Store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(1);
        (await Store.GetVersionAsync("ctr", 2))!.Tags[ModelTags.RolledBack].Should().Be("true", "recorded as a rollback, as `ctrfallback rollback` records it");
        (await Store.GetVersionAsync("ctr", 1))!.Tags[ModelTags.RolledBack].Should().Be("false");
        _trigger.Requests.Select(r => r.Version).Should().Equal([1, 2, 1], "the rollback runs the trigger for v1 again, so the cluster serves what the alias says");
    }

    [Fact]
    public async Task Run_WhenTheRolloutIsAbortedWithoutAskingTheAliasToFollow_KeepsTheAliasOnTheCandidate()
    {
        await Train(Log(1));
        _trigger.AbortVersion = 2;

        var second = await Train(Log(2));

        second.Gate.Passed.Should().BeTrue("day 2 comes from the same truth as day 1 (one training thread: the same verdict every run)");

        second.Deployment!.Status.Should().Be(DeploymentStatus.Failed);
        second.Promoted.Should().BeTrue();
        (await Store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(2);
        _trigger.Requests.Select(r => r.Version).Should().Equal(1, 2);
    }

    [Fact]
    public async Task Run_WhenTheCanaryIsAbortedAndAsksTheAliasToFollow_ReportsNotPromoted_AndTheChampionIsThePreviousOne()
    {
        await Train(Log(1));
        _trigger.AbortVersion = 2;
        _trigger.AskRollback = true;

        var second = await Train(Log(2));

        second.Gate.Passed.Should().BeTrue("day 2 comes from the same truth as day 1 (one training thread: the same verdict every run)");

        second.Promoted.Should().BeFalse("the aborted rollout moved the alias back");
        second.Deployment!.Message.Should().Contain("moved back to ctr/1");
        (await Store.GetVersionByAliasAsync("ctr", ModelAliases.Champion))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task Run_RegistersAnArtifactWithItsTrainingProfile_WhichServingReadsBack()
    {
        var result = await Train(Log(1));

        var artifact = await Store.DownloadArtifactAsync("ctr", result.Version.Version);
        using var model = CtrFallback.Serving.CtrModel.Load(artifact);
        var profile = model.Metadata.Profile;
        profile.Should().NotBeNull("every artifact the training job registers carries its training profile");
        profile!.HoldoutRows.Should().Be(result.Training.Evaluation.Metrics.Rows);
        profile.ObservedCtr.Should().BeApproximately((double)result.Training.Evaluation.Metrics.Positives / result.Training.Evaluation.Metrics.Rows, 1e-12);
        profile.Rows.Should().Be(result.Training.Rows);
        profile.Fields.Should().HaveCount(model.Schema.NumericFields.Count + model.Schema.CategoricalFields.Count);
        profile.Fields.Where(f => f.Categorical).Should().OnlyContain(f => f.FrequentValues!.Count > 0 && f.FrequentValues.Count <= TrainingProfile.MaxFrequentValues);
    }

    [Fact]
    public async Task Promote_AGateFailedVersion_NeedsForce()
    {
        await Train(Log(1));
        await Train(Log(3, shuffleLabels: true));

        var refused = () => Champion.PromoteAsync(2);

        await refused.Should().ThrowAsync<ChampionChangeException>().WithMessage("*failed the promotion gate*with force*");
        (await Champion.PromoteAsync(2, force: true)).Version.Version.Should().Be(2);
    }

    private sealed class RecordingTrigger : IDeploymentTrigger
    {
        public List<DeploymentRequest> Requests { get; } = [];

        public string? FailWith { get; set; }

        /// <summary>A rollout of this version ends aborted, as an Argo canary whose analysis failed.</summary>
        public int? AbortVersion { get; set; }

        /// <summary>Whether the aborted rollout asks the alias to follow (Argo:RollbackAliasOnAbort).</summary>
        public bool AskRollback { get; set; }

        public Task<DeploymentResult> TriggerAsync(DeploymentRequest request, CancellationToken cancellationToken = default)
        {
            Requests.Add(request);
            if (request.Version == AbortVersion)
            {
                return Task.FromResult(new DeploymentResult(DeploymentStatus.Failed, "aborted: analysis said no") { RollbackRequested = AskRollback });
            }

            return FailWith is { } message
                ? throw new InvalidOperationException(message)
                : Task.FromResult(new DeploymentResult(DeploymentStatus.Succeeded, "restarted"));
        }
    }
}
