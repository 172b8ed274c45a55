using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using CtrFallback.MLflow;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Tests;

/// <summary>What the MLflow store does beyond the contract: what it writes to MLflow, retries, failures and authentication.</summary>
public sealed class MLflowModelStoreTests : IAsyncLifetime
{
    private const string Model = "ctr";
    private LoopbackMlflowServer _server = null!;

    public async Task InitializeAsync() => _server = await LoopbackMlflowServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static ModelRegistration Registration(string text = "model") => new(
        Model,
        Encoding.UTF8.GetBytes(text),
        new ModelMetrics(0.76, 0.41, 0.88, 0.99, 5000, 812),
        new Dictionary<string, string> { ["trainer"] = "sdca" },
        new Dictionary<string, string> { ["team"] = "fallback" },
        new GateDecision([new GateCriterionResult("min-auc", true, "AUC 0.76 >= 0.70")]),
        "fp-123",
        new Dictionary<string, ReadOnlyMemory<byte>> { ["evaluation.html"] = "<html/>"u8.ToArray() });

    private IModelStore Store(ServiceProvider services) => services.GetRequiredService<IModelStore>();

    [Fact]
    public async Task Register_WritesTheRunArtifactsAndVersionThatMLflowUsersExpect()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri, o => o.ExperimentName = "ctr-training");
        var registered = await Store(services).RegisterAsync(Registration());

        using var http = new HttpClient { BaseAddress = _server.Uri };
        var version = (await http.GetFromJsonAsync<JsonObject>("api/2.0/mlflow/model-versions/get?name=ctr&version=1"))!["model_version"]!;
        var runId = version["run_id"]!.GetValue<string>();
        var run = (await http.GetFromJsonAsync<JsonObject>($"api/2.0/mlflow/runs/get?run_id={runId}"))!["run"]!;
        var experiment = (await http.GetFromJsonAsync<JsonObject>("api/2.0/mlflow/experiments/get-by-name?experiment_name=ctr-training"))!["experiment"]!;
        var runTags = run["data"]!["tags"]!.AsArray().ToDictionary(t => t!["key"]!.GetValue<string>(), t => t!["value"]!.GetValue<string>());
        var versionTags = version["tags"]!.AsArray().ToDictionary(t => t!["key"]!.GetValue<string>(), t => t!["value"]!.GetValue<string>());

        run["info"]!["experiment_id"]!.GetValue<string>().Should().Be(experiment["experiment_id"]!.GetValue<string>());
        run["info"]!["status"]!.GetValue<string>().Should().Be("FINISHED");
        run["data"]!["metrics"]!.AsArray().Select(m => m!["key"]!.GetValue<string>())
            .Should().BeEquivalentTo(ModelMetrics.Names.Auc, ModelMetrics.Names.LogLoss, ModelMetrics.Names.NormalizedEntropy, ModelMetrics.Names.Calibration, ModelMetrics.Names.Rows, ModelMetrics.Names.Positives);
        run["data"]!["params"]!.AsArray().Select(p => $"{p!["key"]}={p["value"]}")
            .Should().BeEquivalentTo("trainer=sdca", $"{MLflowModelStore.DataFingerprintParam}=fp-123");
        runTags.Should().Contain(ModelTags.GatePassed, "true").And.Contain(ModelTags.GateReasons, "AUC 0.76 >= 0.70").And.Contain("team", "fallback");
        version["source"]!.GetValue<string>().Should().Be($"mlflow-artifacts:/{experiment["experiment_id"]}/{runId}/artifacts/model");
        versionTags.Should().Contain(ModelTags.ArtifactSha256, registered.ArtifactSha256).And.Contain(ModelTags.GatePassed, "true");
        _server.ArtifactPaths().Should().BeEquivalentTo(
            $"{experiment["experiment_id"]}/{runId}/artifacts/model/model.ctrfallback",
            $"{experiment["experiment_id"]}/{runId}/artifacts/model/MLmodel",
            $"{experiment["experiment_id"]}/{runId}/artifacts/model/metadata.json",
            $"{experiment["experiment_id"]}/{runId}/artifacts/model/attachments/evaluation.html");
    }

    [Fact]
    public async Task Register_WhenModelVersionCreateAnswers500Once_RetriesAndRegistersExactlyOneVersion()
    {
        _server.FailNext("POST model-versions/create", 500, "INTERNAL_ERROR");
        await using var services = MLflowStoreHost.Build(_server.Uri);

        var registered = await Store(services).RegisterAsync(Registration());

        registered.Version.Should().Be(1);
        _server.CountOf("POST model-versions/create").Should().Be(2);
        _server.VersionCount(Model).Should().Be(1);
        _server.RunStatuses().Should().Equal("FINISHED");
    }

    [Fact]
    public async Task UseMLflowModelStore_CalledTwice_StillRetriesOnlyAsConfigured()
    {
        var services = new ServiceCollection();
        var builder = new TestCtrFallbackBuilder(services);
        builder.UseMLflowModelStore(o => (o.TrackingUri, o.RetryDelay, o.RetryCount) = (_server.Uri, TimeSpan.FromMilliseconds(1), 1));
        builder.UseMLflowModelStore(o => o.ExperimentName = "second-call");
        await using var provider = services.BuildServiceProvider();
        _server.FailNext("GET registered-models/get", 503, "TEMPORARILY_UNAVAILABLE", times: 10);

        var list = () => provider.GetRequiredService<IModelStore>().ListVersionsAsync(Model);

        await list.Should().ThrowAsync<MLflowException>();
        _server.CountOf("GET registered-models/get").Should().Be(2, "one attempt and one retry, not a retry of retries");
        provider.GetServices<IModelStore>().Should().ContainSingle();
    }

    [Fact]
    public async Task Register_WhenThrottledWith429_RetriesUntilItSucceeds()
    {
        _server.FailNext("POST runs/log-batch", 429, "REQUEST_LIMIT_EXCEEDED", times: 2);
        await using var services = MLflowStoreHost.Build(_server.Uri);

        var registered = await Store(services).RegisterAsync(Registration());

        registered.Version.Should().Be(1);
        _server.CountOf("POST runs/log-batch").Should().Be(3);
    }

    [Fact]
    public async Task Call_WhenAnAttemptTimesOut_IsRetried()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri, o => o.Timeout = TimeSpan.FromMilliseconds(300));
        await Store(services).RegisterAsync(Registration());
        _ = _server.StallNext("GET registered-models/get");

        var listed = await Store(services).ListVersionsAsync(Model);

        listed.Select(v => v.Version).Should().Equal(1);
        _server.CountOf("GET registered-models/get").Should().Be(3, "one during registration, the stalled attempt and its retry");
    }

    [Fact]
    public async Task GetVersion_WhenTheServerAnswers404_DoesNotRetryAndReturnsNull()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri);

        var found = await Store(services).GetVersionAsync("no-such-model", 1);

        found.Should().BeNull();
        _server.CountOf("GET model-versions/get").Should().Be(1);
    }

    [Fact]
    public async Task SetAlias_WhenTheServerAnswers400_DoesNotRetryAndNamesTheCall()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri);
        await Store(services).RegisterAsync(Registration());
        _server.FailNext("POST registered-models/alias", 400, "INVALID_PARAMETER_VALUE");

        var setAlias = () => Store(services).SetAliasAsync(Model, ModelAliases.Champion, 1);

        (await setAlias.Should().ThrowAsync<MLflowException>())
            .Which.Message.Should().Contain("POST registered-models/alias").And.Contain("INVALID_PARAMETER_VALUE");
        _server.CountOf("POST registered-models/alias").Should().Be(1);
    }

    [Fact]
    public async Task Register_WhenTheServerIsDown_ThrowsModelStoreExceptionNamingTheCall()
    {
        var closedPort = ClosedLoopbackPort();
        await using var services = MLflowStoreHost.Build(new Uri($"http://127.0.0.1:{closedPort}/"), o => o.RetryCount = 1);

        var register = () => Store(services).RegisterAsync(Registration());

        (await register.Should().ThrowAsync<ModelStoreException>())
            .Which.Message.Should().Contain("GET experiments/get-by-name").And.Contain("could not reach");
    }

    [Fact]
    public async Task Register_WhenTheServerGoesDownBeforeTheVersionIsCreated_LeavesNothingAReaderCanLoad()
    {
        // Persistent 503 on uploads stands for a server that went away mid-registration.
        _server.FailNext("PUT mlflow-artifacts/artifacts", 503, null, times: 100);
        await using var services = MLflowStoreHost.Build(_server.Uri, o => o.RetryCount = 2);
        var store = Store(services);

        var register = () => store.RegisterAsync(Registration());

        (await register.Should().ThrowAsync<ModelStoreException>()).Which.Message.Should().Contain("PUT mlflow-artifacts/artifacts");
        _server.CountOf("POST model-versions/create").Should().Be(0);
        (await store.ListVersionsAsync(Model)).Should().BeEmpty();
        (await store.GetVersionAsync(Model, 1)).Should().BeNull();
        _server.RunStatuses().Should().Equal("FAILED");
    }

    [Fact]
    public async Task Register_WhenModelVersionCreateIsRejected_LeavesNoVersionAndMarksTheRunFailed()
    {
        _server.FailNext("POST model-versions/create", 400, "INVALID_PARAMETER_VALUE");
        await using var services = MLflowStoreHost.Build(_server.Uri);
        var store = Store(services);

        var register = () => store.RegisterAsync(Registration());

        await register.Should().ThrowAsync<MLflowException>().WithMessage("*POST model-versions/create*");
        _server.VersionCount(Model).Should().Be(0);
        (await store.ListVersionsAsync(Model)).Should().BeEmpty();
        _server.RunStatuses().Should().Equal("FAILED");
    }

    [Fact]
    public async Task Register_WhenTheServerCreatedTheVersionButAnsweredWithAnError_DeletesThatVersion()
    {
        _server.FailAfterServingNext("POST model-versions/create", 500, "INTERNAL_ERROR");
        await using var services = MLflowStoreHost.Build(_server.Uri, o => o.RetryCount = 0);
        var store = Store(services);

        var register = () => store.RegisterAsync(Registration());

        await register.Should().ThrowAsync<MLflowException>().WithMessage("*POST model-versions/create*INTERNAL_ERROR*");
        _server.CountOf("DELETE model-versions/delete").Should().Be(1);
        _server.VersionCount(Model).Should().Be(0);
        (await store.GetVersionAsync(Model, 1)).Should().BeNull();
    }

    [Fact]
    public async Task Register_WhenCancelledDuringTheUpload_LeavesNoVersionAndMarksTheRunKilled()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri);
        var store = Store(services);
        using var cancellation = new CancellationTokenSource();
        var stalled = _server.StallNext("PUT mlflow-artifacts/artifacts");

        var registration = store.RegisterAsync(Registration(), cancellation.Token);
        await stalled;
        await cancellation.CancelAsync();

        await registration.Invoking(r => r).Should().ThrowAsync<OperationCanceledException>();
        _server.CountOf("POST model-versions/create").Should().Be(0);
        (await store.ListVersionsAsync(Model)).Should().BeEmpty();
        _server.RunStatuses().Should().Equal("KILLED");
    }

    [Fact]
    public void Metrics_TravelAsMLflowWants_NaNAsAString()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new MetricValue("calibration", double.NaN, 1, 0), MLflowJsonContext.Default.MetricValue);
        var read = System.Text.Json.JsonSerializer.Deserialize("""{"key":"auc","value":"NaN","timestamp":1,"step":0}""", MLflowJsonContext.Default.MetricValue);

        json.Should().Contain("\"value\":\"NaN\"");
        read!.Value.Should().Be(double.NaN);
    }

    [Theory]
    [InlineData(404, "RESOURCE_DOES_NOT_EXIST", "does not exist")]
    [InlineData(400, "RESOURCE_ALREADY_EXISTS", "already exists")]
    [InlineData(400, "INVALID_PARAMETER_VALUE", "rejected a parameter")]
    [InlineData(403, "PERMISSION_DENIED", "permission denied")]
    [InlineData(401, "UNAUTHENTICATED", "not authenticated")]
    [InlineData(500, "INTERNAL_ERROR", "failed internally")]
    [InlineData(429, "REQUEST_LIMIT_EXCEEDED", "throttling")]
    [InlineData(400, "BAD_REQUEST", "rejected the request")]
    [InlineData(400, "INVALID_STATE", "state")]
    [InlineData(404, "ENDPOINT_NOT_FOUND", "endpoint")]
    [InlineData(400, "FEATURE_DISABLED", "MLflow error")]
    public async Task Call_WhenMLflowAnswersAnErrorCode_ThrowsAnExceptionNamingTheCallAndTheCode(int status, string errorCode, string meaning)
    {
        await using var services = MLflowStoreHost.Build(_server.Uri, o => o.RetryCount = 0);
        _server.FailNext("POST model-versions/set-tag", status, errorCode);

        var setTag = () => Store(services).SetVersionTagAsync(Model, 1, "k", "v");

        var thrown = (await setTag.Should().ThrowAsync<MLflowException>()).Which;
        thrown.Should().BeAssignableTo<ModelStoreException>();
        thrown.ErrorCode.Should().Be(errorCode);
        thrown.StatusCode.Should().Be((HttpStatusCode)status);
        thrown.Call.Should().Be("POST model-versions/set-tag");
        thrown.Message.Should().Contain("POST model-versions/set-tag").And.Contain(errorCode).And.Contain($"HTTP {status}").And.Contain(meaning)
            .And.Contain($"Injected {errorCode}");
    }

    [Fact]
    public async Task Call_WhenTheServerAnswersWithAnHtmlPage_SaysSoAndNamesTheCall()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri, o => o.RetryCount = 0);
        _server.FailNext("GET registered-models/get", 405, errorCode: null);

        var list = () => Store(services).ListVersionsAsync(Model);

        (await list.Should().ThrowAsync<MLflowException>())
            .Which.Message.Should().Contain("GET registered-models/get").And.Contain("HTTP 405").And.Contain("does not offer this endpoint");
    }

    [Fact]
    public async Task GetVersionByAlias_WhenMLflowAnswers400ForAnUnknownAlias_ReturnsNullWithoutRetrying()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri);
        await Store(services).RegisterAsync(Registration());

        var champion = await Store(services).GetVersionByAliasAsync(Model, ModelAliases.Champion);

        champion.Should().BeNull();
        _server.CountOf("GET registered-models/alias").Should().Be(1);
    }

    [Fact]
    public async Task DownloadAttachment_WhenMissing_ListsInsteadOfProvokingTheProxys500()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri);
        await Store(services).RegisterAsync(Registration());

        var missing = await Store(services).DownloadAttachmentAsync(Model, 1, "absent.txt");

        missing.Should().BeNull();
        _server.Requests.Should().NotContain(r => r.Call == "GET mlflow-artifacts/artifacts" && r.ArtifactPath!.EndsWith("absent.txt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Requests_CarryABearerToken_WhenATokenIsConfigured()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri, o => o.Token = "s3cr3t");

        await Store(services).RegisterAsync(Registration());

        _server.Requests.Should().NotBeEmpty().And.OnlyContain(r => r.Authorization == "Bearer s3cr3t");
    }

    [Fact]
    public async Task Requests_CarryBasicCredentials_WhenAUserNameAndPasswordAreConfigured()
    {
        await using var services = MLflowStoreHost.Build(_server.Uri, o => (o.Username, o.Password) = ("ada", "pa:ss"));

        await Store(services).ListVersionsAsync(Model);

        _server.Requests.Should().NotBeEmpty()
            .And.OnlyContain(r => r.Authorization == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ada:pa:ss")));
    }

    [Fact]
    public void EnvironmentFallbacks_FillTrackingUriAndToken_WhenOptionsLeaveThemUnset()
    {
        var environment = new Dictionary<string, string?>
        {
            ["MLFLOW_TRACKING_URI"] = "http://mlflow.internal:5000",
            ["MLFLOW_TRACKING_TOKEN"] = "from-env",
            ["MLFLOW_TRACKING_USERNAME"] = "ignored-when-a-token-is-set",
        };
        var options = new MLflowModelStoreOptions();

        options.ApplyEnvironmentFallbacks(environment.GetValueOrDefault);

        options.TrackingUri.Should().Be(new Uri("http://mlflow.internal:5000"));
        options.Token.Should().Be("from-env");
        options.Username.Should().BeNull();
        MLflowRestClient.AuthorizationFor(options)!.ToString().Should().Be("Bearer from-env");
    }

    [Fact]
    public void EnvironmentFallbacks_FillBasicCredentials_AndNeverOverrideWhatOptionsSet()
    {
        var environment = new Dictionary<string, string?>
        {
            ["MLFLOW_TRACKING_URI"] = "http://from-env:5000",
            ["MLFLOW_TRACKING_USERNAME"] = "ada",
            ["MLFLOW_TRACKING_PASSWORD"] = "lovelace",
        };
        var options = new MLflowModelStoreOptions { TrackingUri = new Uri("http://from-options:5000") };

        options.ApplyEnvironmentFallbacks(environment.GetValueOrDefault);

        options.TrackingUri.Should().Be(new Uri("http://from-options:5000"));
        MLflowRestClient.AuthorizationFor(options)!.ToString().Should().Be("Basic " + Convert.ToBase64String("ada:lovelace"u8.ToArray()));
    }

    [Theory]
    [InlineData("mlflow-artifacts:/1/abc/artifacts/model/MLmodel", "/1/abc/artifacts/model/MLmodel")]
    [InlineData("mlflow-artifacts://mlflow:5000/1/abc/artifacts/model", "/1/abc/artifacts/model")]
    [InlineData("mlflow-artifacts:/1/abc/artifacts/model/attachments/eval report.html", "/1/abc/artifacts/model/attachments/eval%20report.html")]
    public void ArtifactPath_MapsAnMlflowArtifactsUriToTheProxyPath(string uri, string expected) =>
        MLflowRestClient.ArtifactPath(uri).Should().Be(expected);

    [Fact]
    public void ArtifactPath_RejectsAnythingButTheProxyScheme_WithAHint()
    {
        var map = () => MLflowRestClient.ArtifactPath("s3://bucket/1/abc/artifacts/model");

        map.Should().Throw<ModelStoreException>().WithMessage("*--serve-artifacts*");
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
