using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CtrFallback.Argo;
using CtrFallback.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CtrFallback.Tests;

public sealed class ArgoRolloutsTriggerTests : IAsyncLifetime
{
    private static readonly DeploymentRequest Request = new("ctr", 7, ModelAliases.Champion);

    private LoopbackKubernetesApiServer _server = null!;
    private TempKubeconfig _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _server = await LoopbackKubernetesApiServer.StartAsync();
        _kubeconfig = new TempKubeconfig(_server.BaseAddress, _server.Token, _server.Namespace);
    }

    public async Task DisposeAsync()
    {
        _kubeconfig.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Trigger_SendsTheMergePatchOfRestartAtThatKubectlArgoRolloutsRestartSends()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 34, 56, 789, TimeSpan.Zero));
        using var trigger = CreateTrigger(o => o.WaitForCompletion = false, time);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Requested, result.Message);
        var patch = _server.Requests.Should().ContainSingle().Subject;
        patch.Method.Should().Be("PATCH");
        patch.Path.Should().Be("/apis/argoproj.io/v1alpha1/namespaces/ads/rollouts/ctr-inference");
        patch.ContentType.Should().StartWith("application/merge-patch+json");
        patch.Authorization.Should().Be("Bearer loopback-token-1234");
        using var body = JsonDocument.Parse(patch.Body);
        body.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("spec");
        var spec = body.RootElement.GetProperty("spec");
        spec.EnumerateObject().Select(p => p.Name).Should().Equal("restartAt");
        spec.GetProperty("restartAt").GetString().Should().Be("2026-11-26T12:34:56Z", "kubectl writes RFC 3339 UTC at second precision");
    }

    [Fact]
    public async Task Trigger_IsNotDoneUntilTheControllerObservedTheGenerationRestartedAtMatchesAndThePhaseIsHealthy()
    {
        _server.Script = new ControllerScript(
            // The old status still says Healthy, even with our restartAt, but for the previous generation.
            v => v.Set("Healthy", restarted: true),
            v => { v.Observe(); v.SetRestartedAt(null); v.Set("Progressing", ControllerScript.RestartingMessage); },
            // Healthy, but the pods are from an older restart.
            v => { v.Observe(); v.SetRestartedAt("2026-01-01T00:00:00Z"); v.Set("Healthy"); },
            v => { v.Observe(); v.Set("Healthy", restarted: true); });
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        result.Message.Should().Contain("ads/ctr-inference").And.Contain("Healthy").And.Contain("ctr version 7");
        _server.Count("GET").Should().Be(4, "only the fourth read shows observedGeneration, restartedAt and Healthy together");
        _server.Requests[0].Method.Should().Be("PATCH");
    }

    [Fact]
    public async Task Trigger_WhenTheRolloutGoesDegraded_FailsWithTheRolloutsOwnMessage()
    {
        const string message = "ProgressDeadlineExceeded: ReplicaSet \"ctr-inference-7d9f\" has timed out progressing.";
        _server.Script = ControllerScript.BecomesDegraded(message);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.IsSuccess.Should().BeFalse();
        result.Message.Should().Contain("Degraded").And.Contain(message);
        _server.Count("GET").Should().Be(3);
    }

    [Fact]
    public async Task Trigger_WhenTheRolloutIsAborted_Fails()
    {
        const string message = "RolloutAborted: Rollout aborted update to revision 4";
        _server.Script = ControllerScript.Aborts(message);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("aborted").And.Contain(message);
    }

    [Fact]
    public async Task Canary_SendsAJsonPatchThatSetsTheVersionVariableOnTheFirstContainer_AndSucceedsOnceTheNewReplicaSetIsStable()
    {
        _server.Script = ControllerScript.CanaryPasses();
        using var trigger = CreateTrigger(o => o.Mode = ArgoTriggerMode.Canary);
        var stableBefore = _server.Generation;

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        result.Message.Should().Contain("canary steps").And.Contain("ctr version 7");
        var patch = _server.Requests.Should().ContainSingle(r => r.Method == "PATCH").Subject;
        patch.ContentType.Should().StartWith("application/json-patch+json", "a merge patch would replace the whole containers list");
        using var body = JsonDocument.Parse(patch.Body);
        body.RootElement.EnumerateArray().Select(o => (o.GetProperty("op").GetString(), o.GetProperty("path").GetString())).Should().Equal(
            ("test", "/spec/template/spec/containers/0/name"),
            ("add", "/spec/template/spec/containers/0/env/-"));
        _server.EnvValue("inference-server", ArgoRolloutsOptions.VersionVariable).Should().Be("7");
        _server.EnvValue("inference-server", "ASPNETCORE_URLS").Should().Be("http://+:8080", "the other variables stay");
        _server.Generation.Should().Be(stableBefore + 1, "a pod template change is a new revision, which runs the canary steps");
        _server.Requests.Where(r => r.Method == "GET").Should().HaveCountGreaterThanOrEqualTo(4, "paused and progressing are not done");
        _server.Requests.Should().NotContain(r => r.Body.Contains("restartAt"), "a restart would skip the canary steps");
    }

    [Fact]
    public async Task Canary_WhenTheVariableIsThereAlready_ReplacesItOnTheNamedContainer_AfterTestingBothNames()
    {
        _server.SetContainers(new JsonArray(
            new JsonObject { ["name"] = "log-shipper", ["image"] = "fluent-bit" },
            new JsonObject
            {
                ["name"] = "inference-server",
                ["env"] = new JsonArray(
                    new JsonObject { ["name"] = "ASPNETCORE_URLS", ["value"] = "http://+:8080" },
                    new JsonObject { ["name"] = ArgoRolloutsOptions.VersionVariable, ["value"] = "6" }),
            }));
        _server.Script = ControllerScript.CanaryPasses();
        using var trigger = CreateTrigger(o => (o.Mode, o.ContainerName) = (ArgoTriggerMode.Canary, "inference-server"));

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        using var body = JsonDocument.Parse(_server.Requests.Single(r => r.Method == "PATCH").Body);
        body.RootElement.EnumerateArray().Select(o => (o.GetProperty("op").GetString(), o.GetProperty("path").GetString())).Should().Equal(
            ("test", "/spec/template/spec/containers/1/name"),
            ("test", "/spec/template/spec/containers/1/env/1/name"),
            ("replace", "/spec/template/spec/containers/1/env/1"));
        _server.EnvValue("inference-server", ArgoRolloutsOptions.VersionVariable).Should().Be("7");
        _server.Containers.Should().HaveCount(2);
        _server.Containers[0]!["env"].Should().BeNull("the other container is left alone");
    }

    [Fact]
    public async Task Canary_WhenThePatchsReplyIsLost_RetriesFromAFreshRead_SoTheVariableIsSetOnce()
    {
        _server.Script = ControllerScript.CanaryPasses();
        _server.BreakNext("PATCH", ConnectionFault.ResetAfterApplying);
        using var trigger = CreateTrigger(o => o.Mode = ArgoTriggerMode.Canary);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        _server.Count("PATCH").Should().Be(2);
        var env = _server.Containers[0]!["env"]!.AsArray();
        env.Count(e => e!["name"]!.GetValue<string>() == ArgoRolloutsOptions.VersionVariable).Should().Be(1, "a second 'add' would leave two entries, and the kubelet uses the last");
        _server.EnvValue("inference-server", ArgoRolloutsOptions.VersionVariable).Should().Be("7");
        using var retried = JsonDocument.Parse(_server.Requests.Last(r => r.Method == "PATCH").Body);
        retried.RootElement.EnumerateArray().Select(o => o.GetProperty("op").GetString()).Should().Equal("test", "test", "replace");
    }

    [Fact]
    public async Task Canary_WhenGetIsForbidden_NamesGet()
    {
        _server.Forbid("get");
        using var trigger = CreateTrigger(o => o.Mode = ArgoTriggerMode.Canary);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("may not 'get'");
        _server.Count("PATCH").Should().Be(0);
    }

    [Fact]
    public async Task Canary_WhenTheNamedContainerDoesNotExist_FailsWithoutPatching_AndNamesTheContainersThereAre()
    {
        using var trigger = CreateTrigger(o => (o.Mode, o.ContainerName) = (ArgoTriggerMode.Canary, "server"));

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("no container 'server'").And.Contain("'inference-server'").And.Contain("CtrFallback:Argo:ContainerName");
        _server.Count("PATCH").Should().Be(0);
    }

    [Fact]
    public async Task Canary_WhenTheAnalysisFailsAndTheRolloutAborts_FailsWithTheAnalysisMessage_AndAsksTheAliasBackOnlyWhenConfigured()
    {
        const string analysis = "Metric \"score-psi\" assessed Failed due to failed (1) > failureLimit (0)";
        _server.Script = ControllerScript.CanaryAnalysisFails(analysis);
        using var keeping = CreateTrigger(o => o.Mode = ArgoTriggerMode.Canary);

        var kept = await keeping.TriggerAsync(Request);

        kept.Status.Should().Be(DeploymentStatus.Failed);
        kept.Message.Should().Contain("aborted").And.Contain("RolloutAborted: Rollout aborted update to revision 2").And.Contain(analysis);
        kept.RollbackRequested.Should().BeFalse("CtrFallback:Argo:RollbackAliasOnAbort is off by default");

        await using var server = await LoopbackKubernetesApiServer.StartAsync();
        using var kubeconfig = new TempKubeconfig(server.BaseAddress, server.Token, server.Namespace);
        server.Script = ControllerScript.CanaryAnalysisFails(analysis);
        using var rolling = new ArgoRolloutsTrigger(
            Options.Create(new ArgoRolloutsOptions
            {
                Namespace = server.Namespace,
                RolloutName = server.RolloutName,
                KubeconfigPath = kubeconfig.Path,
                Context = kubeconfig.Context,
                Mode = ArgoTriggerMode.Canary,
                RollbackAliasOnAbort = true,
                PollInterval = TimeSpan.FromMilliseconds(5),
            }),
            TimeProvider.System);

        var rolled = await rolling.TriggerAsync(Request);

        rolled.Status.Should().Be(DeploymentStatus.Failed);
        rolled.Message.Should().Contain(analysis).And.Contain("RollbackAliasOnAbort");
        rolled.RollbackRequested.Should().BeTrue();
    }

    [Fact]
    public async Task Restart_WhenTheRolloutGoesDegradedAndRollbackOnAbortIsOn_AsksTheAliasBack()
    {
        _server.Script = ControllerScript.BecomesDegraded("ProgressDeadlineExceeded: ReplicaSet \"ctr-inference-7d9f\" has timed out progressing.");
        using var trigger = CreateTrigger(o => o.RollbackAliasOnAbort = true);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.RollbackRequested.Should().BeTrue();
        _server.Requests.Single(r => r.Method == "PATCH").ContentType.Should().StartWith("application/merge-patch+json");
    }

    [Fact]
    public async Task Trigger_WhenTheRolloutNeverFinishes_TimesOutWithTheLastStatusSeen()
    {
        _server.Script = ControllerScript.NeverFinishes();
        var time = new TimerWatchingTimeProvider();
        using var trigger = CreateTrigger(
            o =>
            {
                o.Timeout = TimeSpan.FromMinutes(1);
                o.PollInterval = TimeSpan.FromSeconds(10);
            },
            time);

        var pending = trigger.TriggerAsync(Request);
        await time.WaitForNextTimerAsync(); // the deadline
        for (var poll = 1; poll <= 6; poll++)
        {
            await time.WaitForNextTimerAsync(); // parked between two reads
            pending.IsCompleted.Should().BeFalse($"a minute has not passed after {poll - 1} polls");
            time.Fake.Advance(TimeSpan.FromSeconds(10));
        }

        var result = await pending;

        result.Status.Should().Be(DeploymentStatus.TimedOut, result.Message);
        result.Message.Should().Contain("within 00:01:00").And.Contain("phase Progressing").And.Contain(ControllerScript.RestartingMessage);
        _server.Count("GET").Should().BeInRange(6, 7);
    }

    [Fact]
    public async Task Trigger_WhenPatchIsForbidden_DoesNotRetryAndNamesTheMissingPermission()
    {
        _server.Forbid("patch");
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("403").And.Contain("'patch'").And.Contain("rollouts.argoproj.io").And.Contain("namespace 'ads'");
        result.Message.Should().Contain("cannot patch resource \"rollouts\"", "the API server's own message is kept");
        _server.Count("PATCH").Should().Be(1);
    }

    [Fact]
    public async Task Trigger_WhenGetIsForbidden_NamesGetOnRollouts()
    {
        _server.Forbid("get");
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("'get'").And.Contain("rollouts.argoproj.io");
        _server.Count("GET").Should().Be(1);
    }

    [Fact]
    public async Task Trigger_WhenTheRolloutDoesNotExist_SaysWhichRolloutIsMissing()
    {
        using var trigger = CreateTrigger(o => o.RolloutName = "ctr-inferense");

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("'ctr-inferense' was not found in namespace 'ads'").And.Contain("404");
        _server.Count("PATCH").Should().Be(1);
    }

    [Fact]
    public async Task Trigger_WhenTheCredentialsAreRejected_Says401AndDoesNotRetry()
    {
        using var trigger = CreateTrigger(o => o.Context = "other");

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("401").And.Contain("context 'other'");
        _server.Requests.Should().ContainSingle().Which.Authorization.Should().Be("Bearer not-the-right-token");
    }

    [Fact]
    public async Task Trigger_WhenTheApiFailsTransiently_RetriesAndSucceeds()
    {
        _server.FailNext("PATCH", HttpStatusCode.InternalServerError);
        _server.FailNext("PATCH", HttpStatusCode.TooManyRequests);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        _server.Count("PATCH").Should().Be(3);
        _server.Requests.Take(3).Select(r => r.Method).Should().Equal(["PATCH", "PATCH", "PATCH"], "the wait starts only after the patch went through");
    }

    [Fact]
    public async Task Trigger_WhenAReadFailsTransientlyWhileWaiting_KeepsWaiting()
    {
        _server.FailNext("GET", HttpStatusCode.ServiceUnavailable);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        _server.Count("GET").Should().Be(ControllerScript.BecomesHealthy().Steps + 1);
    }

    [Fact]
    public async Task Trigger_WhenTheApiKeepsFailing_FailsAfterTheLastRetry()
    {
        for (var i = 0; i < 10; i++)
        {
            _server.FailNext("PATCH", HttpStatusCode.BadGateway);
        }

        using var trigger = CreateTrigger(o => o.MaxRetryAttempts = 2);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("kept failing").And.Contain("3 attempts").And.Contain("502");
        _server.Count("PATCH").Should().Be(3);
    }

    [Fact]
    public async Task Trigger_WhenTheApiServerRefusesConnections_RetriesThenFails()
    {
        // A port nobody listens on: the connection is refused at once, every time.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var unreachable = new TempKubeconfig(new Uri($"http://127.0.0.1:{closedPort}"), _server.Token, _server.Namespace);
        var options = new ArgoRolloutsOptions
        {
            Namespace = "ads",
            RolloutName = "ctr-inference",
            KubeconfigPath = unreachable.Path,
            Context = unreachable.Context,
            MaxRetryAttempts = 2,
            RetryDelay = TimeSpan.FromMilliseconds(1),
        };
        using var trigger = new ArgoRolloutsTrigger(Options.Create(options), TimeProvider.System);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("kept failing to patch").And.Contain("3 attempts");
    }

    [Fact]
    public async Task Trigger_WhenThePatchHangs_AbandonsItAfterAttemptTimeout_RetriesAndSucceeds()
    {
        _server.BreakNext("PATCH", ConnectionFault.Hang);
        using var trigger = CreateTrigger(o => o.AttemptTimeout = TimeSpan.FromSeconds(2));

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        _server.Count("PATCH").Should().Be(2, "the hung patch was abandoned and sent again");
        _server.Generation.Should().Be(4, "one restart");
    }

    [Fact]
    public async Task Trigger_WhenAReadHangsWhileWaiting_AbandonsItAfterAttemptTimeout_AndKeepsWaiting()
    {
        _server.BreakNext("GET", ConnectionFault.Hang);
        using var trigger = CreateTrigger(o => o.AttemptTimeout = TimeSpan.FromSeconds(2));

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        _server.Count("GET").Should().Be(ControllerScript.BecomesHealthy().Steps + 1);
    }

    [Fact]
    public async Task Trigger_WhenEveryPatchHangs_FailsAfterTheLastAttemptSayingItTimedOut()
    {
        for (var i = 0; i < 10; i++)
        {
            _server.BreakNext("PATCH", ConnectionFault.Hang);
        }

        using var trigger = CreateTrigger(o => (o.AttemptTimeout, o.MaxRetryAttempts) = (TimeSpan.FromSeconds(2), 2));

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("kept failing to patch").And.Contain("3 attempts").And.Contain("timeout");
        _server.Count("PATCH").Should().Be(3);
        _server.Generation.Should().Be(3, "no restart was applied");
    }

    [Fact]
    public async Task Trigger_WhenTheApiServerHangsPastTheTriggersTimeout_TimesOutSayingTheRolloutWasNeverReadBack()
    {
        _server.BreakNext("PATCH", ConnectionFault.Hang);
        using var trigger = CreateTrigger(o => (o.Timeout, o.PollInterval, o.AttemptTimeout) = (TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(1)));

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.TimedOut, result.Message);
        result.Message.Should().Contain("within 00:00:03").And.Contain("never read back");
    }

    [Fact]
    public async Task Trigger_WhenThePatchConnectionIsReset_RetriesAndSucceeds()
    {
        _server.BreakNext("PATCH", ConnectionFault.Reset);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        _server.Count("PATCH").Should().Be(2);
        _server.Generation.Should().Be(4);
    }

    [Fact]
    public async Task Trigger_WhenThePatchIsAppliedButItsReplyIsLost_SendsTheSameRestartAgain_AndThePodsRestartOnce()
    {
        _server.BreakNext("PATCH", ConnectionFault.ResetAfterApplying);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        var patches = _server.Requests.Where(r => r.Method == "PATCH").Select(r => r.Body).ToList();
        patches.Should().HaveCount(2).And.OnlyContain(b => b == patches[0], "the retry asks for the same restartAt");
        _server.Generation.Should().Be(4, "a merge patch of the same restartAt changes nothing the second time");
    }

    [Fact]
    public async Task Trigger_WhenAReadConnectionIsResetWhileWaiting_KeepsWaiting()
    {
        _server.BreakNext("GET", ConnectionFault.Reset);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Succeeded, result.Message);
        _server.Count("GET").Should().Be(ControllerScript.BecomesHealthy().Steps + 1);
    }

    [Fact]
    public async Task Trigger_WhenReadsKeepFailingWith5xx_FailsAfterTheLastRetryNamingTheRead()
    {
        for (var i = 0; i < 10; i++)
        {
            _server.FailNext("GET", HttpStatusCode.ServiceUnavailable);
        }

        using var trigger = CreateTrigger(o => o.MaxRetryAttempts = 2);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("kept failing to get").And.Contain("3 attempts").And.Contain("503");
        _server.Count("GET").Should().Be(3);
    }

    [Fact]
    public async Task Trigger_WhenReadConnectionsKeepBeingReset_FailsAfterTheLastRetryNamingTheRead()
    {
        for (var i = 0; i < 10; i++)
        {
            _server.BreakNext("GET", ConnectionFault.Reset);
        }

        using var trigger = CreateTrigger(o => o.MaxRetryAttempts = 2);

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("kept failing to get").And.Contain("3 attempts");
        _server.Count("GET").Should().Be(3);
    }

    [Fact]
    public async Task Trigger_WhenAReadIsRejectedWith401_FailsAtOnceSayingTheCredentialsWereRejected()
    {
        _server.FailNext("GET", HttpStatusCode.Unauthorized);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("401 Unauthorized").And.Contain("to get rollouts.argoproj.io");
        _server.Count("GET").Should().Be(1);
    }

    [Fact]
    public async Task Trigger_WhenTheRolloutDisappearsWhileWaiting_FailsAtOnceSayingWhichRolloutIsMissing()
    {
        _server.FailNext("GET", HttpStatusCode.NotFound);
        using var trigger = CreateTrigger();

        var result = await trigger.TriggerAsync(Request);

        result.Status.Should().Be(DeploymentStatus.Failed);
        result.Message.Should().Contain("'ctr-inference' was not found in namespace 'ads'").And.Contain("404 on get");
        _server.Count("GET").Should().Be(1);
    }

    [Fact]
    public async Task Trigger_WhenTheCallerCancels_Throws()
    {
        _server.Script = ControllerScript.NeverFinishes();
        using var trigger = CreateTrigger();
        using var cancellation = new CancellationTokenSource();

        var pending = trigger.TriggerAsync(Request, cancellation.Token);
        while (_server.Count("GET") < 2)
        {
            await Task.Delay(5);
        }

        await cancellation.CancelAsync();

        await pending.Invoking(p => p).Should().ThrowAsync<OperationCanceledException>();
    }

    private ArgoRolloutsTrigger CreateTrigger(Action<ArgoRolloutsOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new ArgoRolloutsOptions
        {
            Namespace = _server.Namespace,
            RolloutName = _server.RolloutName,
            KubeconfigPath = _kubeconfig.Path,
            Context = _kubeconfig.Context,
            Timeout = TimeSpan.FromSeconds(30),
            PollInterval = TimeSpan.FromMilliseconds(5),
            RetryDelay = TimeSpan.FromMilliseconds(1),
        };
        configure?.Invoke(options);
        return new ArgoRolloutsTrigger(Options.Create(options), time ?? TimeProvider.System);
    }
}
