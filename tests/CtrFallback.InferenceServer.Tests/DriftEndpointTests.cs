using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CtrFallback.Data;
using CtrFallback.Serving;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.InferenceServer.Tests;

/// <summary>
/// Not run beside other server tests: OpenTelemetry's meter provider listens to every <c>CtrFallback</c> meter in the
/// process, so another test's server (serving its own version 1) would show on this one's <c>/metrics</c>.
/// </summary>
[CollectionDefinition(nameof(DriftEndpointCollection), DisableParallelization = true)]
public sealed class DriftEndpointCollection;

/// <summary>Drift end to end: generated impressions through <c>/predict/batch</c>, the gauges on <c>/metrics</c>, the window on <c>/model</c>.</summary>
[Collection(nameof(DriftEndpointCollection))]
public sealed class DriftEndpointTests(TrainedArtifact model) : IClassFixture<TrainedArtifact>
{
    private const int Window = 2_000;

    private static readonly string[] Columns = [.. ClickLogSchema.Criteo.Columns!];

    /// <summary>Batches of generated impressions (another seed than the training log's) as candidates under an empty context.</summary>
    private static IEnumerable<string> Batches(int seed, int rows, bool otherIds = false)
    {
        var candidates = new List<string>();
        foreach (var row in SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = rows, Seed = seed }))
        {
            var fields = row.Line.Split('\t');
            var json = new StringBuilder("{");
            for (var i = 1; i < fields.Length; i++)
            {
                var value = fields[i];
                if (otherIds && i >= 14 && value.Length > 0)
                {
                    // Ids from another id space (the generator's ids do not depend on its seed): an upstream re-keying.
                    value = (uint.Parse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) * 2654435761u ^ 0x5bd1e995u).ToString("x8", CultureInfo.InvariantCulture);
                }

                json.Append('"').Append(Columns[i]).Append("\":")
                    .Append(value.Length == 0 ? "null" : i < 14 ? value : $"\"{value}\"").Append(',');
            }

            json.Length--;
            candidates.Add(json.Append('}').ToString());
            if (candidates.Count == 500)
            {
                yield return $"{{\"context\":{{}},\"candidates\":[{string.Join(',', candidates)}]}}";
                candidates.Clear();
            }
        }
    }

    /// <summary>Scrapes until <paramref name="ready"/> holds: the exporter caches its answer for 300 ms by default.</summary>
    private static async Task<string> ScrapeAsync(HttpClient client, Func<string, bool> ready)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var text = await client.GetStringAsync("/metrics");
            if (ready(text) || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                return text;
            }

            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Metrics_ShowDriftPerVersion_LowOnTrainingTraffic_HighOnReKeyedIds_FreshAfterAReload()
    {
        await using var factory = new InferenceServerFactory(new Dictionary<string, string>
        {
            ["CtrFallback:Serving:Drift:SampleEvery"] = "1",
            ["CtrFallback:Serving:Drift:Window"] = Window.ToString(CultureInfo.InvariantCulture),
        });
        await factory.Store.RegisterAsync("ctr", model.Artifact);
        _ = factory.Server;
        await factory.ReloadAsync();
        using var client = factory.CreateClient();

        // Ready means the request warm-up is over, which restarts the drift window: from here on every request counts.
        while (!(await client.GetAsync("/readyz")).IsSuccessStatusCode)
        {
            await Task.Delay(10);
        }

        foreach (var body in Batches(seed: 31, rows: Window))
        {
            (await client.PostAsync("/predict/batch", new StringContent(body, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        var healthy = await client.GetStringAsync("/metrics");
        var info = await client.GetFromJsonAsync<JsonElement>("/model");

        var v1 = new[] { "model=\"ctr\"", "version=\"1\"" };
        InferenceServerTests.Sample(healthy, "ctrfallback_serving_drift_window_impressions", v1).Should().Be(Window);
        InferenceServerTests.Sample(healthy, "ctrfallback_serving_drift_score_psi", v1).Should().BeLessThan(0.1);
        InferenceServerTests.Sample(healthy, "ctrfallback_serving_drift_mean_predicted_ctr", v1).Should().BeInRange(0.15, 0.25);
        InferenceServerTests.Sample(healthy, "ctrfallback_serving_drift_unseen_share", [.. v1, "field=\"C9\""]).Should().BeLessThan(0.01);
        InferenceServerTests.Sample(healthy, "ctrfallback_serving_drift_unseen_share_change", [.. v1, "field=\"C3\""]).Should().BeInRange(-0.1, 0.1);
        InferenceServerTests.Sample(healthy, "ctrfallback_serving_drift_missing_share_change", [.. v1, "field=\"I1\""]).Should().BeInRange(-0.05, 0.05);
        var drift = info.GetProperty("drift");
        drift.GetProperty("version").GetInt32().Should().Be(1);
        drift.GetProperty("windowImpressions").GetInt64().Should().Be(Window);
        drift.GetProperty("scorePsi").GetDouble().Should().Be(InferenceServerTests.Sample(healthy, "ctrfallback_serving_drift_score_psi", v1));
        drift.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()).Should().Contain(["I1", "C26"]);

        // A new version: a window of its own, which re-keyed ids fill with unseen values and shifted scores.
        await factory.Store.RegisterAsync("ctr", model.Artifact);
        (await factory.ReloadAsync()).Outcome.Should().Be(ChampionReloadOutcome.Loaded);
        var fresh = await ScrapeAsync(client, text => text.Contains("version=\"2\"", StringComparison.Ordinal));
        var v2 = new[] { "model=\"ctr\"", "version=\"2\"" };
        InferenceServerTests.Sample(fresh, "ctrfallback_serving_drift_window_impressions", v2).Should().Be(0);
        fresh.Should().NotContain("version=\"1\"", "only the served version reports drift");
        fresh.Should().NotContain("ctrfallback_serving_drift_score_psi{", "an empty window reports no PSI");
        foreach (var body in Batches(seed: 32, rows: Window, otherIds: true))
        {
            (await client.PostAsync("/predict/batch", new StringContent(body, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        var drifted = await ScrapeAsync(client, text => text.Contains("ctrfallback_serving_drift_score_psi{", StringComparison.Ordinal));
        InferenceServerTests.Sample(drifted, "ctrfallback_serving_drift_score_psi", v2).Should().BeGreaterThan(0.25);
        InferenceServerTests.Sample(drifted, "ctrfallback_serving_drift_unseen_share", [.. v2, "field=\"C9\""]).Should().BeGreaterThan(0.99);
        InferenceServerTests.Sample(drifted, "ctrfallback_serving_drift_unseen_share", [.. v2, "field=\"C3\""]).Should().BeGreaterThan(0.25);
        factory.Services.GetRequiredService<IChampionFollower>().Drift!.Version.Should().Be(2);
    }
}
