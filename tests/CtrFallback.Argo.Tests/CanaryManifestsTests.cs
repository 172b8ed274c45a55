using System.Diagnostics;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace CtrFallback.Tests;

/// <summary>
/// The canary overlay (<c>samples/deploy/canary</c>) against the base and against the metrics contract: its patches,
/// its AnalysisTemplate, the args the Rollout's steps pass, and the worker settings that make promotions pin versions.
/// </summary>
public sealed partial class CanaryManifestsTests
{
    /// <summary>
    /// The series the inference server exports on /metrics (names as Prometheus shows them) that the analysis reads.
    /// The unseen-value figure is the change against training (<c>…unseen_share_change</c>), not the share itself
    /// (<c>…unseen_share</c>), which is sizeable in training already for high-cardinality ids.
    /// </summary>
    private static readonly string[] Contract =
    [
        "ctrfallback_serving_drift_score_psi",
        "ctrfallback_serving_drift_unseen_share_change",
        "ctrfallback_serving_drift_missing_share_change",
        "ctrfallback_serving_drift_mean_predicted_ctr",
        "ctrfallback_serving_drift_window_impressions",
        "http_server_request_duration_seconds_count",
    ];

    private readonly DeployManifests _base = DeployManifests.Load();
    private readonly DeployManifests _canary = DeployManifests.Load("canary");

    private AnalysisTemplate Template => _canary.Single<AnalysisTemplate>();

    private CanaryStrategy Strategy => _canary.Single<Rollout>().Spec.Strategy.Canary!;

    private IEnumerable<RolloutAnalysis> AnalysisSteps => Strategy.Steps!.Where(s => s.Analysis is not null).Select(s => s.Analysis!);

    [Fact]
    public void Overlay_BuildsOnTheBase_AndListsEachOfItsFiles()
    {
        var kustomization = new YamlStream();
        kustomization.Load(new StringReader(File.ReadAllText(Path.Combine(_canary.Root, "kustomization.yaml"))));
        var root = (YamlMappingNode)kustomization.Documents[0].RootNode;
        var resources = ((YamlSequenceNode)root[new YamlScalarNode("resources")]).Select(r => ((YamlScalarNode)r).Value).ToList();
        var patches = ((YamlSequenceNode)root[new YamlScalarNode("patches")]).Select(p => ((YamlScalarNode)((YamlMappingNode)p)[new YamlScalarNode("path")]).Value).ToList();

        resources.Should().Equal("../base", "analysis-template.yaml");
        resources.Skip(1).Concat(patches).Should().BeEquivalentTo(_canary.ByFile.Keys);
    }

    [Fact]
    public void Patches_NameObjectsOfTheBase_InItsNamespace()
    {
        var baseRollout = _base.Single<Rollout>();
        var baseCronJob = _base.Single<V1CronJob>();

        _canary.Single<Rollout>().Metadata.Name.Should().Be(baseRollout.Metadata.Name);
        _canary.Single<V1CronJob>().Metadata.Name.Should().Be(baseCronJob.Metadata.Name);
        _canary.All.OfType<IMetadata<V1ObjectMeta>>().Should().AllSatisfy(o => o.Metadata.NamespaceProperty.Should().Be(baseRollout.Metadata.NamespaceProperty));
        _canary.Single<Rollout>().Spec.Template.Spec.Should().BeNull("the pod template is the base's; the trigger pins the version in it");
    }

    [Fact]
    public void Steps_RunOneCanaryPodOfThree_PauseToFillTheDriftWindow_ThenAnalyse_AndPassBothPodTemplateHashes()
    {
        var replicas = _base.Single<Rollout>().Spec.Replicas!.Value;
        var first = Strategy.Steps!.First(s => s.SetWeight is not null).SetWeight!.Value;

        ((int)Math.Ceiling(first * replicas / 100.0)).Should().Be(1, "the first step runs one canary pod next to the stable ones");
        Strategy.MaxUnavailable!.Value.Should().Be("0", "a canary must not take stable pods away while it is judged");
        Strategy.Steps!.Should().AllSatisfy(s => new object?[] { s.SetWeight, s.Pause, s.Analysis }.Count(x => x is not null).Should().Be(1));
        Strategy.Steps!.Select(s => s.SetWeight is not null ? "weight" : s.Pause is not null ? "pause" : "analysis")
            .Should().Equal("weight", "pause", "analysis", "weight", "pause", "analysis");
        AnalysisSteps.Should().NotBeEmpty().And.AllSatisfy(a =>
        {
            a.Templates.Should().ContainSingle().Which.TemplateName.Should().Be(Template.Metadata.Name);
            a.Args.Should().ContainSingle(x => x.Name == "canary-hash").Which.ValueFrom!.PodTemplateHashValue.Should().Be("Latest");
            a.Args.Should().ContainSingle(x => x.Name == "stable-hash").Which.ValueFrom!.PodTemplateHashValue.Should().Be("Stable");
        });
    }

    [Fact]
    public void Template_DeclaresEveryArgItUses_AndEveryArgWithoutDefaultIsPassedByEachStep()
    {
        var declared = Template.Spec.Args.Select(a => a.Name).ToList();
        var used = Template.Spec.Metrics
            .SelectMany(m => new[] { m.Provider.Prometheus!.Address, m.Provider.Prometheus.Query, m.SuccessCondition ?? string.Empty })
            .SelectMany(text => ArgReference().Matches(text).Select(match => match.Groups[1].Value))
            .Distinct()
            .ToList();

        used.Should().BeEquivalentTo(declared, "every declared arg is used and every used arg is declared");
        foreach (var step in AnalysisSteps)
        {
            var passed = step.Args!.Select(a => a.Name).ToList();
            passed.Should().BeSubsetOf(declared);
            Template.Spec.Args.Where(a => a.Value is null).Select(a => a.Name).Should().BeSubsetOf(passed, "an arg without a default must come from the Rollout");
        }

        Uri.TryCreate(Template.Spec.Args.Single(a => a.Name == "prometheus-address").Value, UriKind.Absolute, out var address).Should().BeTrue();
        address!.Port.Should().Be(9090);
        Template.Spec.Metrics.Should().AllSatisfy(m => m.Provider.Prometheus!.Address.Should().Be("{{args.prometheus-address}}"));
    }

    [Fact]
    public void Queries_ReadOnlyTheContractsSeries_EachFilteredToTheCanarysPods()
    {
        var series = Template.Spec.Metrics.SelectMany(m => SeriesName().Matches(m.Provider.Prometheus!.Query).Select(x => x.Groups[1].Value)).Distinct().ToList();

        series.Should().BeEquivalentTo(Contract, "each figure of the contract is judged, and nothing else is read");
        foreach (var metric in Template.Spec.Metrics)
        {
            var query = metric.Provider.Prometheus!.Query;
            var selected = SeriesWithSelector().Matches(query).ToList();
            selected.Should().HaveCount(SeriesName().Matches(query).Count, $"every series {metric.Name} reads has a selector");
            selected.Select(m => m.Groups[2].Value).Should().AllSatisfy(s => s.Should().MatchRegex(@"rollouts_pod_template_hash=""\{\{args\.(canary|stable)-hash\}\}""", $"{metric.Name} reads one ReplicaSet's pods"));
            query.Should().Contain("rollouts_pod_template_hash=\"{{args.canary-hash}}\"", $"{metric.Name} judges the canary");
        }

        Query("mean-ctr-vs-stable").Should().Contain("{{args.stable-hash}}", "the canary's mean predicted CTR is compared with the stable pods'");
        Query("error-rate").Should().Contain("http_route=\"/predict\"").And.Contain("http_response_status_code=~\"5..\"");
    }

    [Theory]
    [InlineData("canary-impressions", "result[0] >= 1000")]
    [InlineData("score-psi", "result[0] < 0.25")]
    [InlineData("unseen-share", "result[0] < 0.25")]
    [InlineData("missing-share-change", "result[0] < 0.25")]
    [InlineData("error-rate", "result[0] < 0.01")]
    [InlineData("mean-ctr-vs-stable", "result[0] >= 0.8 && result[0] <= 1.2")]
    public void EachMetric_HasItsSuccessCondition_NoFailureLimit_AndWaitsForScrapes(string name, string condition)
    {
        var metric = Template.Spec.Metrics.Should().ContainSingle(m => m.Name == name).Subject;

        metric.SuccessCondition.Should().Be(condition);
        metric.FailureLimit.Should().Be(0, "one failed measurement aborts the update");
        metric.InitialDelay.Should().NotBeNullOrEmpty("let a few scrapes land first");
        metric.Count.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Worker_PromotesByCanary_PinsOnTheRolloutsContainer_RollsTheAliasBackOnAbort_AndWaitsLongEnough()
    {
        var env = _canary.Single<V1CronJob>().Spec.JobTemplate.Spec.Template.Spec.Containers.Should().ContainSingle().Subject;
        env.Name.Should().Be(_base.Single<V1CronJob>().Spec.JobTemplate.Spec.Template.Spec.Containers.Single().Name, "containers merge by name");

        // The settings as the worker's configuration binds them (environment variable names, __ for :).
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(env.Env.Select(e => new KeyValuePair<string, string?>(e.Name.Replace("__", ":", StringComparison.Ordinal), e.Value)))
            .Build();
        var options = configuration.GetSection(ArgoRolloutsOptions.SectionName).Get<ArgoRolloutsOptions>()!;

        options.Mode.Should().Be(ArgoTriggerMode.Canary);
        options.RollbackAliasOnAbort.Should().BeTrue();
        options.ContainerName.Should().Be(_base.Single<Rollout>().Spec.Template.Spec.Containers.Single().Name);
        var steps = Strategy.Steps!;
        var pauses = steps.Where(s => s.Pause?.Duration is not null).Sum(s => Duration(s.Pause!.Duration!).TotalMinutes);
        var analysis = steps.Count(s => s.Analysis is not null) * Template.Spec.Metrics.Max(m => Duration(m.InitialDelay!).TotalMinutes + (m.Count!.Value * Duration(m.Interval!).TotalMinutes));
        options.Timeout.TotalMinutes.Should().BeGreaterThan(pauses + analysis, "the worker waits through every pause and analysis");
    }

    [SkippableFact]
    public void Overlay_RendersWithKubectlKustomize_IntoOneRolloutWithTheBasesTemplateAndTheSteps()
    {
        var rendered = Kustomize(Path.Combine(DeployManifests.DeployRoot, "canary"));
        Skip.If(rendered is null, "kubectl is not on PATH: the overlay was checked file by file only");

        var objects = KubernetesYaml.LoadAllFromString(
            rendered,
            new Dictionary<string, Type> { ["argoproj.io/v1alpha1/Rollout"] = typeof(Rollout), ["argoproj.io/v1alpha1/AnalysisTemplate"] = typeof(AnalysisTemplate) },
            strict: true);
        var rollout = objects.OfType<Rollout>().Should().ContainSingle().Subject;

        rollout.Spec.Template.Spec.Containers.Should().ContainSingle().Which.Name.Should().Be("inference-server");
        rollout.Spec.Strategy.Canary!.Steps.Should().HaveCount(Strategy.Steps!.Count);
        objects.OfType<AnalysisTemplate>().Should().ContainSingle();
        var worker = objects.OfType<V1CronJob>().Should().ContainSingle().Subject.Spec.JobTemplate.Spec.Template.Spec.Containers.Single();
        worker.Env.Should().ContainSingle(e => e.Name == "CtrFallback__Argo__Timeout").Which.Value.Should().Be("00:45:00");
        worker.Env.Should().Contain(e => e.Name == "CtrFallback__Argo__RolloutName", "the base's settings stay");
    }

    private string Query(string metric) => Template.Spec.Metrics.Single(m => m.Name == metric).Provider.Prometheus!.Query;

    private static TimeSpan Duration(string text)
    {
        var match = Regex.Match(text, @"^(\d+)(s|m|h)$");
        match.Success.Should().BeTrue($"'{text}' is a duration Argo reads");
        var value = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "s" => TimeSpan.FromSeconds(value), "m" => TimeSpan.FromMinutes(value), _ => TimeSpan.FromHours(value) };
    }

    private static string? Kustomize(string folder)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("kubectl", ["kustomize", folder]) { RedirectStandardOutput = true, RedirectStandardError = true });
            var output = process!.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            process.ExitCode.Should().Be(0, error);
            return output.Result;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    [GeneratedRegex(@"\{\{args\.([a-z0-9-]+)\}\}")]
    private static partial Regex ArgReference();

    // A series name, not a label name (http_route=...).
    [GeneratedRegex(@"\b(ctrfallback_[a-z_]+|http_[a-z_]+)\b(?!\s*[=!])")]
    private static partial Regex SeriesName();

    // A series and its selector, whose values may hold {{args.x}}.
    [GeneratedRegex(@"\b(ctrfallback_[a-z_]+|http_[a-z_]+)\{((?:[^{}]|\{\{[^}]*\}\})*)\}")]
    private static partial Regex SeriesWithSelector();
}
