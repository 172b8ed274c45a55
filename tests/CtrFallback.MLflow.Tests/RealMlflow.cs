using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace CtrFallback.Tests;

/// <summary>
/// The real MLflow tracking server at <c>CTRFALLBACK_MLFLOW_URI</c>, asked directly over its REST API (never through
/// the store under test, nor through a proxy): what the server really holds.
/// </summary>
internal sealed class RealMlflow : IDisposable
{
    private static readonly string? TrackingUriText = Environment.GetEnvironmentVariable("CTRFALLBACK_MLFLOW_URI");
    private readonly HttpClient _http;

    public RealMlflow(Uri trackingUri)
    {
        _http = new HttpClient { BaseAddress = trackingUri, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The server's address; skips the calling test (visibly) when <c>CTRFALLBACK_MLFLOW_URI</c> is not set.</summary>
    public static Uri RequireTrackingUri()
    {
        Skip.If(string.IsNullOrWhiteSpace(TrackingUriText), "CTRFALLBACK_MLFLOW_URI is not set: no real MLflow server to run against.");
        return new Uri(TrackingUriText!.TrimEnd('/') + "/");
    }

    /// <summary>The active experiments with exactly this name (MLflow keeps names unique, so zero or one).</summary>
    public async Task<IReadOnlyList<JsonObject>> ExperimentsNamedAsync(string name)
    {
        var answer = await PostAsync("api/2.0/mlflow/experiments/search", new JsonObject { ["filter"] = $"name = '{name}'", ["max_results"] = 10 });
        return Objects(answer["experiments"]);
    }

    /// <summary>Every run of an experiment, whatever its status.</summary>
    public async Task<IReadOnlyList<JsonObject>> RunsOfAsync(string experimentId)
    {
        var answer = await PostAsync("api/2.0/mlflow/runs/search", new JsonObject { ["experiment_ids"] = new JsonArray(experimentId), ["max_results"] = 1000 });
        return Objects(answer["runs"]);
    }

    /// <summary>Runs of an experiment matching a search filter, as MLflow evaluates it.</summary>
    public async Task<IReadOnlyList<JsonObject>> SearchRunsAsync(string experimentId, string filter)
    {
        var answer = await PostAsync("api/2.0/mlflow/runs/search", new JsonObject { ["experiment_ids"] = new JsonArray(experimentId), ["filter"] = filter, ["max_results"] = 1000 });
        return Objects(answer["runs"]);
    }

    /// <summary>The registered models with exactly this name (zero or one).</summary>
    public async Task<IReadOnlyList<JsonObject>> RegisteredModelsNamedAsync(string name)
    {
        var answer = await GetAsync($"api/2.0/mlflow/registered-models/search?filter={Uri.EscapeDataString($"name = '{name}'")}&max_results=10");
        return Objects(answer["registered_models"]);
    }

    /// <summary>The versions a search filter finds (for example <c>name='ctr'</c> or <c>run_id='…'</c>), in version order.</summary>
    public async Task<IReadOnlyList<Version>> VersionsAsync(string filter)
    {
        var answer = await GetAsync($"api/2.0/mlflow/model-versions/search?filter={Uri.EscapeDataString(filter)}&max_results=1000");
        return [.. Objects(answer["model_versions"]).Select(Version.From).OrderBy(v => v.Number)];
    }

    /// <summary>The version an alias points at, or <see langword="null"/> when the alias is not set.</summary>
    public async Task<int?> AliasAsync(string modelName, string alias)
    {
        using var response = await _http.GetAsync($"api/2.0/mlflow/registered-models/alias?name={Uri.EscapeDataString(modelName)}&alias={Uri.EscapeDataString(alias)}");
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        return int.Parse(answer!["model_version"]!["version"]!.GetValue<string>(), CultureInfo.InvariantCulture);
    }

    /// <summary>A file under an <c>mlflow-artifacts:</c> location, read through the server's artifact proxy.</summary>
    public async Task<byte[]> ArtifactAsync(string artifactUri)
    {
        var path = artifactUri["mlflow-artifacts:".Length..].TrimStart('/');
        return await _http.GetByteArrayAsync($"api/2.0/mlflow-artifacts/artifacts/{path}");
    }

    public void Dispose() => _http.Dispose();

    private static List<JsonObject> Objects(JsonNode? array) => array is JsonArray items ? [.. items.Select(i => i!.AsObject())] : [];

    private async Task<JsonObject> GetAsync(string url) => (await _http.GetFromJsonAsync<JsonObject>(url))!;

    private async Task<JsonObject> PostAsync(string url, JsonObject body)
    {
        using var response = await _http.PostAsJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue($"MLflow answers {url} with {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>A model version as the server holds it.</summary>
    public sealed record Version(string Name, int Number, string RunId, string Source, string Status, IReadOnlyDictionary<string, string> Tags)
    {
        public static Version From(JsonObject json) => new(
            json["name"]!.GetValue<string>(),
            int.Parse(json["version"]!.GetValue<string>(), CultureInfo.InvariantCulture),
            json["run_id"]?.GetValue<string>() ?? string.Empty,
            json["source"]!.GetValue<string>(),
            json["status"]?.GetValue<string>() ?? string.Empty,
            (json["tags"] as JsonArray ?? []).ToDictionary(t => t!["key"]!.GetValue<string>(), t => t!["value"]?.GetValue<string>() ?? string.Empty));
    }
}
