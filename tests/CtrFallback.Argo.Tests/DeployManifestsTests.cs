using System.Text.RegularExpressions;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace CtrFallback.Tests;

public sealed partial class DeployManifestsTests
{
    private const int AppUid = 1654; // the `app` user of the .NET base images the Dockerfiles run as

    private readonly DeployManifests _manifests = DeployManifests.Load();

    private Rollout Rollout => _manifests.Single<Rollout>();

    private V1PodSpec InferencePod => Rollout.Spec.Template.Spec;

    private V1CronJob CronJob => _manifests.Single<V1CronJob>();

    private V1PodSpec TrainingPod => CronJob.Spec.JobTemplate.Spec.Template.Spec;

    [Fact]
    public void EveryManifest_LoadsStrictly_AndKustomizationListsEachOfThem()
    {
        _manifests.ByFile.Should().NotBeEmpty();
        _manifests.ByFile.Values.Should().AllSatisfy(objects => objects.Should().NotBeEmpty());

        var kustomization = new YamlStream();
        kustomization.Load(new StringReader(File.ReadAllText(Path.Combine(_manifests.Root, "kustomization.yaml"))));
        var resources = (YamlSequenceNode)((YamlMappingNode)kustomization.Documents[0].RootNode)[new YamlScalarNode("resources")];

        resources.Select(r => ((YamlScalarNode)r).Value).Should().BeEquivalentTo(_manifests.ByFile.Keys);

        // samples/deploy itself applies the base; every YAML file lives in base/ or the canary overlay.
        var top = new YamlStream();
        top.Load(new StringReader(File.ReadAllText(Path.Combine(DeployManifests.DeployRoot, "kustomization.yaml"))));
        ((YamlSequenceNode)((YamlMappingNode)top.Documents[0].RootNode)[new YamlScalarNode("resources")]).Select(r => ((YamlScalarNode)r).Value).Should().Equal("base");
        DeployManifests.AllYamlFiles().Select(f => Path.GetRelativePath(DeployManifests.DeployRoot, f).Replace('\\', '/'))
            .Where(f => f != "kustomization.yaml")
            .Should().AllSatisfy(f => f.Should().MatchRegex("^(base|canary)/"));
    }

    [Fact]
    public void EveryObject_LivesInTheOneNamespace()
    {
        var ns = _manifests.Single<V1Namespace>().Metadata.Name;

        _manifests.All.OfType<IMetadata<V1ObjectMeta>>()
            .Where(o => o is not V1Namespace)
            .Should().AllSatisfy(o => o.Metadata.NamespaceProperty.Should().Be(ns, $"{o.Metadata.Name} belongs with the rest"));
    }

    [Fact]
    public void Rollout_HasAtLeastTwoReplicas_AndReplacesOnePodAtATime()
    {
        Rollout.ApiVersion.Should().Be("argoproj.io/v1alpha1");
        Rollout.Spec.Replicas.Should().BeGreaterThanOrEqualTo(2, "a restart with one replica is an outage");
        Rollout.Spec.Strategy.Canary.Should().NotBeNull();
        Rollout.Spec.Strategy.Canary!.MaxUnavailable!.Value.Should().Be("1");
        Rollout.Spec.RestartAt.Should().BeNull("restartAt is the trigger's to set; a fixed one in git would be reapplied");
    }

    [Fact]
    public void Rollout_SelectsItsOwnPods_AndServesOn8080WithReadyzAndHealthzProbes()
    {
        Rollout.Spec.Selector.MatchLabels.Should().NotBeEmpty();
        Rollout.Spec.Template.Metadata.Labels.Should().Contain(Rollout.Spec.Selector.MatchLabels);

        var container = InferencePod.Containers.Should().ContainSingle().Subject;
        container.Ports.Should().ContainSingle(p => p.ContainerPort == 8080);
        container.ReadinessProbe.HttpGet.Path.Should().Be("/readyz");
        container.LivenessProbe.HttpGet.Path.Should().Be("/healthz");
        ResolvePort(container, container.ReadinessProbe.HttpGet.Port).Should().Be(8080);
        ResolvePort(container, container.LivenessProbe.HttpGet.Port).Should().Be(8080);
        container.Env.Should().ContainSingle(e => e.Name == "ASPNETCORE_URLS").Which.Value.Should().EndWith(":8080");
    }

    [Fact]
    public void Service_SelectsTheRolloutsPods_AndTargetsTheContainerPort()
    {
        var service = _manifests.Single<V1Service>();
        var container = InferencePod.Containers.Single();

        service.Spec.Selector.Should().NotBeEmpty();
        Rollout.Spec.Template.Metadata.Labels.Should().Contain(service.Spec.Selector);
        var port = service.Spec.Ports.Should().ContainSingle().Subject;
        ResolvePort(container, port.TargetPort).Should().Be(8080);
    }

    [Fact]
    public void PodDisruptionBudget_CoversTheRolloutsPods_AndLeavesTheRestServing()
    {
        var pdb = _manifests.Single<V1PodDisruptionBudget>();

        Rollout.Spec.Template.Metadata.Labels.Should().Contain(pdb.Spec.Selector.MatchLabels);
        pdb.Spec.MaxUnavailable.Value.Should().Be("1");
    }

    [Fact]
    public void Role_AllowsExactlyGetAndPatchOnArgoRollouts()
    {
        var role = _manifests.Single<V1Role>();

        var rule = role.Rules.Should().ContainSingle().Subject;
        rule.ApiGroups.Should().Equal("argoproj.io");
        rule.Resources.Should().Equal("rollouts");
        rule.Verbs.Should().BeEquivalentTo("get", "patch");
        (rule.ResourceNames ?? [Rollout.Metadata.Name]).Should().Equal(Rollout.Metadata.Name);
        role.Metadata.NamespaceProperty.Should().Be(Rollout.Metadata.NamespaceProperty);
    }

    [Fact]
    public void RoleBinding_BindsThatRoleToTheWorkersServiceAccount_AndTheCronJobRunsAsIt()
    {
        var role = _manifests.Single<V1Role>();
        var account = _manifests.Single<V1ServiceAccount>();
        var binding = _manifests.Single<V1RoleBinding>();

        binding.RoleRef.Kind.Should().Be("Role");
        binding.RoleRef.ApiGroup.Should().Be("rbac.authorization.k8s.io");
        binding.RoleRef.Name.Should().Be(role.Metadata.Name);
        var subject = binding.Subjects.Should().ContainSingle().Subject;
        subject.Kind.Should().Be("ServiceAccount");
        subject.Name.Should().Be(account.Metadata.Name);
        subject.NamespaceProperty.Should().Be(account.Metadata.NamespaceProperty);
        TrainingPod.ServiceAccountName.Should().Be(account.Metadata.Name);
        TrainingPod.AutomountServiceAccountToken.Should().NotBe(false, "the trigger uses the in-cluster token");
    }

    [Fact]
    public void CronJob_PointsTheArgoTriggerAtTheRollout_AndNeverRunsTwice()
    {
        var env = TrainingPod.Containers.Single().Env;

        env.Should().ContainSingle(e => e.Name == "CtrFallback__Argo__Namespace").Which.Value.Should().Be(Rollout.Metadata.NamespaceProperty);
        env.Should().ContainSingle(e => e.Name == "CtrFallback__Argo__RolloutName").Which.Value.Should().Be(Rollout.Metadata.Name);
        CronJob.Spec.ConcurrencyPolicy.Should().Be("Forbid");
        TrainingPod.RestartPolicy.Should().Be("Never");
    }

    [Fact]
    public void BothPods_ReadTheMLflowStoreFromTheConfigMapAndTheTokenFromTheSameSecret()
    {
        var config = _manifests.Single<V1ConfigMap>();
        config.Data.Should().Contain("CtrFallback__Store__Kind", "mlflow");
        Uri.TryCreate(config.Data["CtrFallback__MLflow__TrackingUri"], UriKind.Absolute, out _).Should().BeTrue();

        foreach (var pod in new[] { InferencePod, TrainingPod })
        {
            var container = pod.Containers.Single();
            container.EnvFrom.Should().ContainSingle().Which.ConfigMapRef.Name.Should().Be(config.Metadata.Name);
            var token = container.Env.Should().ContainSingle(e => e.Name == "MLFLOW_TRACKING_TOKEN").Subject.ValueFrom.SecretKeyRef;
            token.Should().BeEquivalentTo(InferencePod.Containers.Single().Env.Single(e => e.Name == "MLFLOW_TRACKING_TOKEN").ValueFrom.SecretKeyRef);
            token.Name.Should().NotBeNullOrEmpty();
            token.Key.Should().NotBeNullOrEmpty();
        }
    }

    [Fact]
    public void BothPods_RunAsTheNonRootUserOfTheImages()
    {
        foreach (var pod in new[] { InferencePod, TrainingPod })
        {
            pod.SecurityContext.RunAsNonRoot.Should().BeTrue();
            pod.SecurityContext.RunAsUser.Should().Be(AppUid);
            pod.Containers.Single().SecurityContext.AllowPrivilegeEscalation.Should().BeFalse();
        }
    }

    [Theory]
    [InlineData("inference-server", "samples/CtrFallback.InferenceServer/CtrFallback.InferenceServer.csproj", "CtrFallback.InferenceServer.dll")]
    [InlineData("training-worker", "samples/CtrFallback.TrainingWorker/CtrFallback.TrainingWorker.csproj", "CtrFallback.TrainingWorker.dll")]
    public void EachDockerfile_IsMultiStage_BuildsItsSample_AndRunsAsNonRoot(string name, string project, string assembly)
    {
        var dockerfile = File.ReadAllText(Path.Combine(DeployManifests.DeployRoot, "docker", $"{name}.Dockerfile"));

        FromLine().Matches(dockerfile).Should().HaveCountGreaterThanOrEqualTo(2);
        dockerfile.Should().Contain($"dotnet publish {project}");
        dockerfile.Should().Contain($"ENTRYPOINT [\"dotnet\", \"{assembly}\"]");
        dockerfile.Should().MatchRegex(@"(?m)^USER \$APP_UID\s*$");
    }

    [Fact]
    public void InferenceServerImage_StartsTierUpAtOnce_SoTheWarmupCoversIt()
    {
        // benchmarks/load/coldstart.sh runs its "shipped" variant with the ENV DOTNET_ lines of this Dockerfile.
        var dockerfile = File.ReadAllText(Path.Combine(DeployManifests.DeployRoot, "docker", "inference-server.Dockerfile"));

        dockerfile.Should().MatchRegex(@"(?m)^ENV DOTNET_TC_CallCountingDelayMs=0\s*$");
    }

    [Fact]
    public void InferenceServerImage_CompletesSocketOperationsInline_OnTheOneCoreOfAPod()
    {
        // benchmarks/load/run.sh runs the server with the ENV DOTNET_ lines of this Dockerfile too.
        var dockerfile = File.ReadAllText(Path.Combine(DeployManifests.DeployRoot, "docker", "inference-server.Dockerfile"));

        dockerfile.Should().MatchRegex(@"(?m)^ENV DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1\s*$");
    }

    [Fact]
    public void TheImagesTheManifestsRun_AreTheOnesTheReadmeBuilds()
    {
        var readme = File.ReadAllText(Path.Combine(DeployManifests.DeployRoot, "README.md"));

        foreach (var (pod, dockerfile) in new[] { (InferencePod, "inference-server"), (TrainingPod, "training-worker") })
        {
            var image = pod.Containers.Single().Image;
            image.Should().Contain($"/{dockerfile}:");
            readme.Should().MatchRegex($@"docker build -f samples/deploy/docker/{dockerfile}\.Dockerfile +-t {Regex.Escape(image)} \.");
        }
    }

    private static int? ResolvePort(V1Container container, IntOrString port) =>
        int.TryParse(port.Value, out var number)
            ? number
            : container.Ports.SingleOrDefault(p => p.Name == port.Value)?.ContainerPort;

    [GeneratedRegex(@"(?m)^FROM\s")]
    private static partial Regex FromLine();
}
