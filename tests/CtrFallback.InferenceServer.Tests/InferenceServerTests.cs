using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CtrFallback.Serving;

namespace CtrFallback.InferenceServer.Tests;

public sealed class InferenceServerTests(TrainedArtifact model) : IClassFixture<TrainedArtifact>
{
    // A body exactly as the baseline's make_requests.py writes it (ints as numbers, missing as null).
    private const string BaselineBody = """{"I1":1,"I2":0,"I3":5,"I4":0,"I5":1382,"I6":4,"I7":15,"I8":2,"I9":181,"I10":1,"I11":2,"I12":null,"I13":2,"C1":"68fd1e64","C2":"80e26c9b","C3":"fb936136","C4":"7b4723c4","C5":"25c83c98","C6":"7e0ccccf","C7":"de7995b8","C8":"1f89b562","C9":"a73ee510","C10":"a8cd5504","C11":"b2cb9c98","C12":"37c9c164","C13":"2824a5f6","C14":"1adce6ef","C15":"8ba8b39a","C16":"891b62e7","C17":"e5ba7672","C18":"f54016b9","C19":"21ddcdc9","C20":"b1252a9d","C21":"07b5194c","C22":null,"C23":"3a171ecb","C24":"c5c50484","C25":"e8b83407","C26":"9727dd16"}""";

    private const string AdminToken = "a-test-admin-token-of-some-length";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<InferenceServerFactory> ReadyServerAsync(TrainedArtifact model, IReadOnlyDictionary<string, string>? settings = null)
    {
        var factory = new InferenceServerFactory(settings);
        await factory.Store.RegisterAsync("ctr", model.Artifact);
        _ = factory.Server; // starts the host, whose follower may load the champion first
        (await factory.ReloadAsync()).Outcome.Should().BeOneOf(ChampionReloadOutcome.Loaded, ChampionReloadOutcome.Unchanged);
        factory.Services.GetRequiredService<ICtrPredictor>().IsReady.Should().BeTrue();
        return factory;
    }

    [Fact]
    public async Task Readyz_Is503UntilTheChampionIsLoaded_Then200()
    {
        await using var factory = new InferenceServerFactory();
        using var client = factory.CreateClient();

        var before = await client.GetAsync("/readyz");
        var predictBefore = await client.PostAsync("/predict", Json(BaselineBody));
        (await client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
        await factory.Store.RegisterAsync("ctr", model.Artifact);
        await factory.ReloadAsync();
        var after = await client.GetAsync("/readyz");

        before.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        before.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        predictBefore.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
        (await after.Content.ReadAsStringAsync()).Should().Contain("ctr/1");
    }

    [Fact]
    public async Task Predict_WithTheBaselinesBody_ReturnsTheInProcessScoreAndVersion()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();
        var predictor = factory.Services.GetRequiredService<ICtrPredictor>();
        var expected = predictor.Predict(ImpressionFrom(predictor.Schema!, BaselineBody));

        var response = await client.PostAsync("/predict", Json(BaselineBody));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        json.RootElement.GetProperty("ctr").GetSingle().Should().Be(expected.Ctr);
        json.RootElement.GetProperty("modelVersion").GetString().Should().Be("ctr/1");
    }

    [Fact]
    public async Task Predict_TreatsAbsentNullAndEmptyAlike_AcceptsNumericStrings_AndIgnoresUnknownFields()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();

        var absent = await CtrAsync(client, """{"I1":3,"C1":"68fd1e64"}""");
        var nulls = await CtrAsync(client, """{"I1":3,"I2":null,"C1":"68fd1e64","C2":null,"C3":""}""");
        var strings = await CtrAsync(client, """{"I1":"3","C1":"68fd1e64","I2":""}""");
        var unknown = await CtrAsync(client, """{"I1":3,"C1":"68fd1e64","extra":{"nested":[1,2,{"x":null}]},"site":"example.org"}""");
        var other = await CtrAsync(client, """{"I1":4,"C1":"68fd1e64"}""");

        nulls.Should().Be(absent);
        strings.Should().Be(absent);
        unknown.Should().Be(absent);
        other.Should().NotBe(absent, "a field's value matters");
    }

    [Theory]
    [InlineData("{\"I1\":3,")]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    [InlineData("")]
    [InlineData("{\"I1\":\"three\"}")]
    [InlineData("{\"I1\":true}")]
    [InlineData("{\"C1\":[\"a\"]}")]
    [InlineData("{\"I1\":1} {\"I1\":2}")]
    public async Task Predict_WithAMalformedBody_Answers400WithProblemDetails(string body)
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();

        var response = await client.PostAsync("/predict", Json(body));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("status").GetInt32().Should().Be(400);
        problem.RootElement.GetProperty("detail").GetString().Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task Predict_WithAnOversizedBody_Answers400()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();
        var body = "{\"C1\":\"" + new string('a', 100_000) + "\"}";

        var response = await client.PostAsync("/predict", Json(body));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("at most");
    }

    [Fact]
    public async Task PredictBatch_ScoresEachCandidateMergedWithTheContext()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();

        var batch = await client.PostAsync("/predict/batch", Json("""{"context":{"I1":3,"C1":"68fd1e64","C2":"80e26c9b"},"candidates":[{"C2":"aaaa"},{},{"I1":null}]}"""));

        batch.StatusCode.Should().Be(HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await batch.Content.ReadAsStringAsync());
        var ctrs = json.RootElement.GetProperty("ctrs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        json.RootElement.GetProperty("modelVersion").GetString().Should().Be("ctr/1");
        ctrs.Should().HaveCount(3);
        ctrs[0].Should().Be(await CtrAsync(client, """{"I1":3,"C1":"68fd1e64","C2":"aaaa"}"""));
        ctrs[1].Should().Be(await CtrAsync(client, """{"I1":3,"C1":"68fd1e64","C2":"80e26c9b"}"""));
        ctrs[2].Should().Be(await CtrAsync(client, """{"C1":"68fd1e64","C2":"80e26c9b"}"""));

        (await client.PostAsync("/predict/batch", Json("""{"context":{}}"""))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Metrics_CountRequestsPredictionsReloadsAndFailures_AndModelShowsTheVersion()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            (await client.PostAsync("/predict", Json(BaselineBody))).EnsureSuccessStatusCode();
        }

        await client.PostAsync("/predict", Json("{"));
        await factory.Store.RegisterAsync("ctr", "not a model"u8.ToArray());
        (await factory.ReloadAsync()).Outcome.Should().Be(ChampionReloadOutcome.Failed);
        (await client.PostAsync("/predict", Json(BaselineBody))).EnsureSuccessStatusCode();

        var text = await client.GetStringAsync("/metrics");
        var info = await client.GetFromJsonAsync<JsonElement>("/model");

        // OpenTelemetry's Prometheus exporter: ASP.NET Core's request metrics and the library's meter.
        Sample(text, "http_server_request_duration_seconds_count", "http_route=\"/predict\"", "http_response_status_code=\"200\"").Should().Be(4);
        Sample(text, "http_server_request_duration_seconds_count", "http_route=\"/predict\"", "http_response_status_code=\"400\"").Should().Be(1);
        Sample(text, "ctrfallback_serving_predictions_total").Should().Be(4);
        Sample(text, "ctrfallback_serving_reloads_total").Should().Be(1);
        Sample(text, "ctrfallback_serving_reload_failures_total", "reason=\"corrupt\"").Should().Be(1);
        Sample(text, "ctrfallback_serving_model_version", "model=\"ctr\"").Should().Be(1);
        Sample(text, "ctrfallback_serving_model_ready").Should().Be(1);
        Sample(text, "ctrfallback_serving_model_loaded_time_seconds", "model=\"ctr\"").Should().BeGreaterThan(1_700_000_000);
        info.GetProperty("modelVersion").GetString().Should().Be("ctr/1");
        info.GetProperty("serving").GetProperty("failedReloads").GetInt64().Should().Be(1);
        info.GetProperty("loadedAt").GetDateTimeOffset().Should().BeAfter(DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public async Task Predict_AfterTheAliasMoves_ReportsTheNewVersion()
    {
        await using var factory = await ReadyServerAsync(model, new Dictionary<string, string> { ["CtrFallback:Admin:Access"] = "Token", ["CtrFallback:Admin:Token"] = AdminToken });
        using var client = factory.CreateClient();
        await factory.Store.RegisterAsync("ctr", model.Artifact);

        var reload = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/model/reload") { Headers = { Authorization = new("Bearer", AdminToken) } });
        var response = await client.PostAsync("/predict", Json(BaselineBody));

        (await reload.Content.ReadAsStringAsync()).Should().Contain("Loaded");
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("modelVersion").GetString().Should().Be("ctr/2");
    }

    [Fact]
    public async Task Predict_WhenAVersionIsPinned_ServesThatVersionWhereverTheAliasPoints_AndModelSaysSo()
    {
        // CtrFallback__Serving__Version, as a canary's pod template sets it: v1 serves although the alias moves to v2.
        await using var factory = new InferenceServerFactory(new Dictionary<string, string> { ["CtrFallback:Serving:Version"] = "1" });
        await factory.Store.RegisterAsync("ctr", model.Artifact, alias: null);
        await factory.Store.RegisterAsync("ctr", model.Artifact);
        _ = factory.Server;
        var reload = await factory.ReloadAsync();
        using var client = factory.CreateClient();

        var response = await client.PostAsync("/predict", Json(BaselineBody));
        var info = await client.GetFromJsonAsync<JsonElement>("/model");
        var again = await factory.ReloadAsync();

        reload.Version!.Version.Should().Be(1, reload.Message);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("modelVersion").GetString().Should().Be("ctr/1");
        info.GetProperty("modelVersion").GetString().Should().Be("ctr/1");
        info.GetProperty("pinnedVersion").GetInt32().Should().Be(1);
        again.Outcome.Should().Be(ChampionReloadOutcome.Unchanged, "the alias at v2 is not what a pinned server follows");
    }

    [Fact]
    public async Task Model_WhenNotPinned_HasNoPinnedVersion_AndAPinnedVersionThatDoesNotExistKeepsTheServerUnready()
    {
        await using (var following = await ReadyServerAsync(model))
        {
            using var client = following.CreateClient();
            (await client.GetFromJsonAsync<JsonElement>("/model")).GetProperty("pinnedVersion").ValueKind.Should().Be(JsonValueKind.Null);
        }

        await using var pinned = new InferenceServerFactory(new Dictionary<string, string> { ["CtrFallback:Serving:Version"] = "9" });
        await pinned.Store.RegisterAsync("ctr", model.Artifact);
        _ = pinned.Server;
        var result = await pinned.ReloadAsync();

        result.Outcome.Should().Be(ChampionReloadOutcome.NoChampion);
        result.Message.Should().Contain("version 9").And.Contain("CtrFallback:Serving:Version");
        pinned.Services.GetRequiredService<ICtrPredictor>().IsReady.Should().BeFalse();
    }

    [Fact]
    public async Task Readyz_OnKestrel_TurnsReadyOnlyAfterTheRequestWarmupHasDrivenBothEndpoints()
    {
        await using var factory = new InferenceServerFactory(new Dictionary<string, string> { ["CtrFallback:Server:Warmup"] = "00:00:01", ["CtrFallback:Server:WarmupUntilJitSettles"] = "00:00:03" });
        factory.UseKestrel(0);
        await factory.Store.RegisterAsync("ctr", model.Artifact);
        factory.StartServer();
        using var client = factory.CreateClient();
        var seen = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpResponseMessage ready;
        while (true)
        {
            ready = await client.GetAsync("/readyz");
            if (ready.IsSuccessStatusCode || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                break;
            }

            seen.Add(await ready.Content.ReadAsStringAsync());
            await Task.Delay(20);
        }

        var statistics = factory.Services.GetRequiredService<IChampionFollower>().Statistics;
        var text = await client.GetStringAsync("/metrics");

        ready.StatusCode.Should().Be(HttpStatusCode.OK);
        seen.Should().Contain(s => s.Contains("Warming up"), "the model loads in well under the one-second warm-up");
        statistics.Predictions.Should().BeGreaterThan(100, "the warm-up scores through the real endpoints");
        Sample(text, "http_server_request_duration_seconds_count", "http_route=\"/predict/batch\"", "http_response_status_code=\"200\"").Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task Reload_ByDefault_IsNotMapped()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();
        await factory.Store.RegisterAsync("ctr", model.Artifact);

        var reload = await client.PostAsync("/model/reload", null);

        reload.StatusCode.Should().Be(HttpStatusCode.NotFound);
        factory.Services.GetRequiredService<ICtrPredictor>().CurrentModel!.Label.Should().Be("ctr/1");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer not-the-token-at-all")]
    [InlineData("Basic " + AdminToken)]
    public async Task Reload_InTokenMode_WithoutTheToken_Answers401AndReloadsNothing(string? authorization)
    {
        await using var factory = await ReadyServerAsync(model, new Dictionary<string, string> { ["CtrFallback:Admin:Access"] = "Token", ["CtrFallback:Admin:Token"] = AdminToken });
        using var client = factory.CreateClient();
        await factory.Store.RegisterAsync("ctr", model.Artifact);
        var request = new HttpRequestMessage(HttpMethod.Post, "/model/reload");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        var reload = await client.SendAsync(request);

        reload.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        reload.Headers.WwwAuthenticate.ToString().Should().Be("Bearer");
        factory.Services.GetRequiredService<ICtrPredictor>().CurrentModel!.Label.Should().Be("ctr/1");
    }

    [Theory]
    [InlineData("127.0.0.1", HttpStatusCode.OK)]
    [InlineData("::1", HttpStatusCode.OK)]
    [InlineData("10.1.2.3", HttpStatusCode.Forbidden)]
    public async Task Reload_InLoopbackMode_AnswersOnlyLoopbackConnections(string remote, HttpStatusCode expected)
    {
        await using var factory = await ReadyServerAsync(model, new Dictionary<string, string> { ["CtrFallback:Admin:Access"] = "Loopback" });
        factory.RemoteAddress = System.Net.IPAddress.Parse(remote);
        using var client = factory.CreateClient();

        var reload = await client.PostAsync("/model/reload", null);

        reload.StatusCode.Should().Be(expected);
    }

    [Fact]
    public void Start_InTokenModeWithoutAToken_FailsNamingTheOption()
    {
        using var factory = new InferenceServerFactory(new Dictionary<string, string> { ["CtrFallback:Admin:Access"] = "Token" });

        var start = () => factory.Server;

        start.Should().Throw<Exception>().Where(e => e.ToString().Contains("CtrFallback:Admin:Token"));
    }

    [Theory]
    [InlineData("""{"I1":1e400}""")]
    [InlineData("""{"I1":-1e400}""")]
    [InlineData("""{"I1":"1e400"}""")]
    [InlineData("""{"I1":"Infinity"}""")]
    [InlineData("""{"I1":"NaN"}""")]
    [InlineData("""{"I1":"-\u0049nfinity"}""")]
    public async Task Predict_WithANonFiniteNumber_Answers400NamingTheField(string body)
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();

        var response = await client.PostAsync("/predict", Json(body));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, body);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("detail").GetString().Should().Contain("'I1'").And.Contain("finite");
    }

    [Fact]
    public async Task PredictBatch_WithANonFiniteNumberInACandidate_Answers400NamingTheField()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();

        var response = await client.PostAsync("/predict/batch", Json("""{"context":{"C1":"68fd1e64"},"candidates":[{"C2":"aaaa"},{"I2":1e999}]}"""));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("candidate 1").And.Contain("'I2'");
    }

    [Fact]
    public async Task Predict_WithUnknownFields_ScoresWithoutThem_AndCountsThemByNameOnMetrics()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();
        var without = await CtrAsync(client, """{"C2":"80e26c9b"}""");

        var with = await CtrAsync(client, """{"c1":"68fd1e64","C2":"80e26c9b"}""");
        await CtrAsync(client, """{"c1":"68fd1e64","site_id":"x"}""");
        (await client.PostAsync("/predict/batch", Json("""{"context":{},"candidates":[{"c1":"a"},{"C2":"b"}]}"""))).EnsureSuccessStatusCode();
        var text = await client.GetStringAsync("/metrics");

        with.Should().Be(without);
        Sample(text, "ctrfallback_server_unknown_fields_total", "field=\"c1\"").Should().Be(3);
        Sample(text, "ctrfallback_server_unknown_fields_total", "field=\"site_id\"").Should().Be(1);
    }

    [Fact]
    public async Task Predict_WithMoreThanAHundredUnknownNames_CountsTheRestTogether()
    {
        await using var factory = await ReadyServerAsync(model);
        using var client = factory.CreateClient();

        for (var i = 0; i < 105; i++)
        {
            await CtrAsync(client, $$"""{"extra{{i}}":1}""");
        }

        var text = await client.GetStringAsync("/metrics");

        text.Split('\n').Count(l => l.StartsWith("ctrfallback_server_unknown_fields_total{", StringComparison.Ordinal)).Should().Be(101);
        Sample(text, "ctrfallback_server_unknown_fields_total", "field=\"(other)\"").Should().Be(5);
    }

    [Fact]
    public async Task Predict_InRejectMode_Answers400NamingTheUnknownFieldAndTheLikelyOne()
    {
        await using var factory = await ReadyServerAsync(model, new Dictionary<string, string> { ["CtrFallback:Serving:UnknownFields"] = "Reject" });
        using var client = factory.CreateClient();

        var single = await client.PostAsync("/predict", Json("""{"c1":"68fd1e64"}"""));
        var batch = await client.PostAsync("/predict/batch", Json("""{"context":{},"candidates":[{"C1":"a"},{"C3x":"b"}]}"""));
        var known = await client.PostAsync("/predict", Json(BaselineBody));

        single.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await single.Content.ReadAsStringAsync()).Should().Contain("'c1'").And.Contain("did you mean 'C1'");
        batch.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await batch.Content.ReadAsStringAsync()).Should().Contain("candidate 1").And.Contain("'C3x'");
        known.StatusCode.Should().Be(HttpStatusCode.OK);
        Sample(await client.GetStringAsync("/metrics"), "ctrfallback_server_unknown_fields_total", "field=\"c1\"").Should().Be(1);
    }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels include every one given, from Prometheus text.</summary>
    internal static double Sample(string text, string name, params string[] labels)
    {
        var samples = text.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
            .Where(line => labels.All(label => line.Contains(label, StringComparison.Ordinal)))
            .ToList();
        samples.Should().ContainSingle($"one sample of {name} with {string.Join(",", labels)} in:\n{text}");
        return double.Parse(samples[0][(samples[0].LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<float> CtrAsync(HttpClient client, string body)
    {
        var response = await client.PostAsync("/predict", Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ctr").GetSingle();
    }

    private static Impression ImpressionFrom(FeatureSchema schema, string body)
    {
        var impression = new Impression(schema);
        foreach (var property in JsonDocument.Parse(body).RootElement.EnumerateObject())
        {
            impression.Set(property.Name, property.Value.ValueKind == JsonValueKind.Null ? null : property.Value.ToString());
        }

        return impression;
    }
}
