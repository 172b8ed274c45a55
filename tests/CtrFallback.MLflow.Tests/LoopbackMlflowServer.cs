using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace CtrFallback.Tests;

/// <summary>
/// A test double: a real HTTP server on 127.0.0.1 (ephemeral port) that implements, in memory, the MLflow REST
/// endpoints the store uses, answering as MLflow 2.17.2 does per the shared reference mlflow-rest.md (string
/// versions, omitted empty fields, 400 for an unknown alias, 500 for a missing proxied artifact, HTML for unknown routes).
/// Faults can be injected per call (<see cref="FaultInjectingMlflowServer"/>).
/// </summary>
internal sealed partial class LoopbackMlflowServer : FaultInjectingMlflowServer
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ExperimentState> _experiments = new(StringComparer.Ordinal) { ["Default"] = new("0", "Default") };
    private readonly Dictionary<string, RunState> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _artifacts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ModelState> _models = new(StringComparer.Ordinal);
    private int _nextExperimentId = 1;

    private LoopbackMlflowServer()
    {
    }

    public static async Task<LoopbackMlflowServer> StartAsync()
    {
        var server = new LoopbackMlflowServer();
        await server.StartListeningAsync();
        return server;
    }

    /// <summary>The names of every experiment, the default one included.</summary>
    public IReadOnlyList<string> ExperimentNames()
    {
        lock (_gate)
        {
            return [.. _experiments.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The names of every registered model.</summary>
    public IReadOnlyList<string> ModelNames()
    {
        lock (_gate)
        {
            return [.. _models.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>A model's versions with their run ids and tags, in version order.</summary>
    public IReadOnlyList<(int Version, string RunId, IReadOnlyDictionary<string, string> Tags)> Versions(string modelName)
    {
        lock (_gate)
        {
            return _models.TryGetValue(modelName, out var model)
                ? [.. model.Versions.Values.Select(v => (v.Version, v.RunId, (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(v.Tags)))]
                : [];
        }
    }

    /// <summary>A model's aliases and the versions they point to.</summary>
    public IReadOnlyDictionary<string, int> Aliases(string modelName)
    {
        lock (_gate)
        {
            return _models.TryGetValue(modelName, out var model) ? new Dictionary<string, int>(model.Aliases) : [];
        }
    }

    /// <summary>The statuses of every run, in creation order.</summary>
    public IReadOnlyList<string> RunStatuses()
    {
        lock (_gate)
        {
            return [.. _runs.Values.OrderBy(r => r.Sequence).Select(r => r.Status)];
        }
    }

    /// <summary>How many versions a model has (0 when it does not exist).</summary>
    public int VersionCount(string modelName)
    {
        lock (_gate)
        {
            return _models.TryGetValue(modelName, out var model) ? model.Versions.Count : 0;
        }
    }

    /// <summary>The paths of every stored artifact.</summary>
    public IReadOnlyList<string> ArtifactPaths()
    {
        lock (_gate)
        {
            return [.. _artifacts.Keys.Order(StringComparer.Ordinal)];
        }
    }

    protected override Task ServeOtherAsync(HttpContext context) =>
        context.Request.Path == "/health" ? Text(context, 200, "OK", "text/html") : NotFoundHtml(context);

    protected override async Task ServeAsync(HttpContext context, string call, string? artifactPath, Fault? afterServing)
    {
        var request = context.Request;
        try
        {
            if (artifactPath is not null)
            {
                await HandleArtifactAsync(context, artifactPath, afterServing);
                return;
            }

            JsonObject body = [];
            if (request.Method is "POST" or "PATCH" or "DELETE")
            {
                var mediaType = request.ContentType?.Split(';')[0].Trim();
                if (request.Method == "POST" && mediaType is null)
                {
                    throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Bad Request. Content-Type header is missing.");
                }

                if (request.Method == "POST" && mediaType != "application/json")
                {
                    throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Content-Type must be one of ['application/json']");
                }

                body = await JsonNode.ParseAsync(request.Body) as JsonObject ?? [];
            }

            JsonObject? answer = call switch
            {
                "GET experiments/get-by-name" => GetExperimentByName(Query(request, "experiment_name")),
                "POST experiments/create" => CreateExperiment(Str(body, "name")),
                "POST runs/create" => CreateRun(body),
                "POST runs/log-batch" => LogBatch(body),
                "POST runs/update" => UpdateRun(body),
                "POST runs/search" => SearchRuns(body),
                "GET runs/get" => GetRun(Query(request, "run_id")),
                "POST registered-models/create" => CreateRegisteredModel(Str(body, "name")),
                "GET registered-models/get" => GetRegisteredModel(Query(request, "name")),
                "POST registered-models/alias" => SetAlias(Str(body, "name"), Str(body, "alias"), VersionOf(body)),
                "GET registered-models/alias" => GetByAlias(Query(request, "name"), Query(request, "alias")),
                "DELETE registered-models/alias" => DeleteAlias(Str(body, "name"), Str(body, "alias")),
                "POST model-versions/create" => CreateModelVersion(body),
                "GET model-versions/get" => GetModelVersion(Query(request, "name"), ParseVersion(Query(request, "version"))),
                "GET model-versions/search" => SearchModelVersions(request),
                "POST model-versions/set-tag" => SetVersionTag(Str(body, "name"), VersionOf(body), Str(body, "key"), Str(body, "value")),
                "DELETE model-versions/delete" => DeleteModelVersion(Str(body, "name"), VersionOf(body)),
                _ => null,
            };
            if (answer is null)
            {
                await NotFoundHtml(context);
                return;
            }

            if (afterServing is not null)
            {
                await FailAfterServingAsync(context, afterServing, call);
                return;
            }

            await Json(context, 200, answer);
        }
        catch (MlflowError error)
        {
            await Error(context, error.Status, error.ErrorCode, error.Message);
        }
    }

    private async Task HandleArtifactAsync(HttpContext context, string path, Fault? afterServing)
    {
        if (path.Split('/').Contains(".."))
        {
            throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Invalid path");
        }

        switch (context.Request.Method)
        {
            case "PUT":
                using (var buffer = new MemoryStream())
                {
                    await context.Request.Body.CopyToAsync(buffer);
                    lock (_gate)
                    {
                        _artifacts[path] = buffer.ToArray();
                    }
                }

                if (afterServing is not null)
                {
                    await FailAfterServingAsync(context, afterServing, "PUT mlflow-artifacts/artifacts");
                    return;
                }

                await Json(context, 200, []);
                return;
            case "GET" when path.Length == 0:
                await Json(context, 200, ListArtifacts(context.Request.Query["path"].ToString().Trim('/')));
                return;
            case "GET":
                byte[]? bytes;
                lock (_gate)
                {
                    bytes = _artifacts.GetValueOrDefault(path);
                }

                if (bytes is null)
                {
                    // As MLflow's proxy does: a missing file is an internal error, not a 404.
                    throw new MlflowError(500, "INTERNAL_ERROR", $"[Errno 2] No such file or directory: '/srv/mlflow/artifacts/{path}'");
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/octet-stream";
                context.Response.Headers.ContentDisposition = $"attachment; filename={path.Split('/')[^1]}";
                await context.Response.Body.WriteAsync(bytes);
                return;
            case "DELETE":
                lock (_gate)
                {
                    _artifacts.Remove(path);
                }

                await Json(context, 200, []);
                return;
            default:
                await Text(context, 405, "<!doctype html><title>405 Method Not Allowed</title>", "text/html");
                return;
        }
    }

    private JsonObject ListArtifacts(string directory)
    {
        var prefix = directory.Length == 0 ? string.Empty : directory + "/";
        var files = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var (path, bytes) in _artifacts)
            {
                if (!path.StartsWith(prefix, StringComparison.Ordinal))
                {
                    continue;
                }

                var rest = path[prefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                files[slash < 0 ? rest : rest[..slash]] = slash < 0
                    ? new JsonObject { ["path"] = rest, ["is_dir"] = false, ["file_size"] = bytes.Length }
                    : new JsonObject { ["path"] = rest[..slash], ["is_dir"] = true };
            }
        }

        // Basenames only; a missing directory lists as {} (empty fields are omitted).
        return files.Count == 0 ? [] : new JsonObject { ["files"] = new JsonArray([.. files.Values]) };
    }

    private JsonObject GetExperimentByName(string name)
    {
        lock (_gate)
        {
            return _experiments.TryGetValue(name, out var experiment)
                ? new JsonObject { ["experiment"] = experiment.ToJson() }
                : throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", $"Could not find experiment with name '{name}'");
        }
    }

    private JsonObject CreateExperiment(string name)
    {
        lock (_gate)
        {
            if (_experiments.ContainsKey(name))
            {
                throw new MlflowError(400, "RESOURCE_ALREADY_EXISTS", $"Experiment '{name}' already exists. (sqlite3.IntegrityError) UNIQUE constraint failed: experiments.name");
            }

            var id = (_nextExperimentId++).ToString(CultureInfo.InvariantCulture);
            _experiments[name] = new ExperimentState(id, name);
            return new JsonObject { ["experiment_id"] = id };
        }
    }

    private JsonObject CreateRun(JsonObject body)
    {
        var experimentId = Str(body, "experiment_id");
        lock (_gate)
        {
            if (!_experiments.Values.Any(e => e.Id == experimentId))
            {
                throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", $"No Experiment with id={experimentId} exists");
            }

            var run = new RunState(Guid.NewGuid().ToString("N"), experimentId, _runs.Count)
            {
                Name = body["run_name"]?.GetValue<string>() ?? "loopback-run",
                StartTime = body["start_time"] is { } start ? Int64(start) : 0,
            };
            foreach (var tag in body["tags"]?.AsArray() ?? [])
            {
                run.Tags[Str(tag!.AsObject(), "key")] = Str(tag.AsObject(), "value");
            }

            run.Tags["mlflow.runName"] = run.Name;
            _runs[run.Id] = run;
            return new JsonObject { ["run"] = RunJson(run) };
        }
    }

    private JsonObject LogBatch(JsonObject body)
    {
        lock (_gate)
        {
            var run = RunOf(Str(body, "run_id"));
            foreach (var item in body["params"]?.AsArray() ?? [])
            {
                var (key, value) = (Str(item!.AsObject(), "key"), Str(item.AsObject(), "value"));
                if (run.Params.TryGetValue(key, out var old) && old != value)
                {
                    throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Changing param values is not allowed. Param with key='{key}' was already logged with value='{old}'.");
                }

                run.Params[key] = value;
            }

            foreach (var item in body["metrics"]?.AsArray() ?? [])
            {
                var metric = item!.AsObject();
                var value = metric["value"]!.GetValueKind() == JsonValueKind.String
                    ? double.Parse(metric["value"]!.GetValue<string>(), CultureInfo.InvariantCulture)
                    : metric["value"]!.GetValue<double>();
                run.Metrics[Str(metric, "key")] = (value, Int64(metric["timestamp"]!), metric["step"] is { } step ? Int64(step) : 0);
            }

            foreach (var item in body["tags"]?.AsArray() ?? [])
            {
                run.Tags[Str(item!.AsObject(), "key")] = Str(item.AsObject(), "value");
            }

            return [];
        }
    }

    /// <summary>runs/search with the one filter shape the store sends: <c>tags.`key` = 'value'</c> (backticks or double quotes around the key).</summary>
    private JsonObject SearchRuns(JsonObject body)
    {
        var experimentIds = body["experiment_ids"]?.AsArray().Select(e => e!.GetValue<string>()).ToHashSet(StringComparer.Ordinal)
            ?? throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'experiment_ids'.");
        var filter = body["filter"]?.GetValue<string>() ?? string.Empty;
        var match = RunTagFilterPattern().Match(filter);
        if (filter.Length > 0 && !match.Success)
        {
            throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Invalid filter '{filter}'");
        }

        var maxResults = body["max_results"] is { } max ? (int)Int64(max) : 1000;
        lock (_gate)
        {
            var runs = _runs.Values
                .Where(r => experimentIds.Contains(r.ExperimentId))
                .Where(r => !match.Success || r.Tags.GetValueOrDefault(match.Groups["key"].Value) == match.Groups["value"].Value)
                .OrderByDescending(r => r.StartTime).ThenByDescending(r => r.Sequence)
                .Take(maxResults)
                .ToList();
            return runs.Count == 0 ? [] : new JsonObject { ["runs"] = new JsonArray([.. runs.Select(RunJson)]) };
        }
    }

    private JsonObject UpdateRun(JsonObject body)
    {
        lock (_gate)
        {
            var run = RunOf(Str(body, "run_id"));
            if (body["status"] is { } status)
            {
                run.Status = status.GetValue<string>();
            }

            run.EndTime = body["end_time"] is { } end ? Int64(end) : run.EndTime;
            return new JsonObject { ["run_info"] = RunInfoJson(run) };
        }
    }

    private JsonObject GetRun(string runId)
    {
        lock (_gate)
        {
            return new JsonObject { ["run"] = RunJson(RunOf(runId)) };
        }
    }

    private JsonObject CreateRegisteredModel(string name)
    {
        lock (_gate)
        {
            if (_models.ContainsKey(name))
            {
                throw new MlflowError(400, "RESOURCE_ALREADY_EXISTS", $"Registered Model (name={name}) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint failed: registered_models.name");
            }

            var model = new ModelState(name, Now());
            _models[name] = model;
            return new JsonObject { ["registered_model"] = new JsonObject { ["name"] = name, ["creation_timestamp"] = model.Created, ["last_updated_timestamp"] = model.Created } };
        }
    }

    private JsonObject GetRegisteredModel(string name)
    {
        lock (_gate)
        {
            var model = ModelOf(name);
            var json = new JsonObject { ["name"] = name, ["creation_timestamp"] = model.Created, ["last_updated_timestamp"] = model.Created };
            if (model.Versions.Count > 0)
            {
                json["latest_versions"] = new JsonArray(VersionJson(model, model.Versions.Values.Last(), withAliases: false));
            }

            if (model.Aliases.Count > 0)
            {
                json["aliases"] = new JsonArray([.. model.Aliases.Select(a => new JsonObject { ["alias"] = a.Key, ["version"] = a.Value.ToString(CultureInfo.InvariantCulture) })]);
            }

            return new JsonObject { ["registered_model"] = json };
        }
    }

    private JsonObject SetAlias(string name, string alias, int version)
    {
        if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase) || ReservedVersionAlias().IsMatch(alias))
        {
            throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"'{alias}' alias name (case insensitive) is reserved.");
        }

        lock (_gate)
        {
            var model = ModelOf(name);
            _ = VersionOfModel(model, version);
            model.Aliases[alias] = version;
            return [];
        }
    }

    private JsonObject GetByAlias(string name, string alias)
    {
        lock (_gate)
        {
            var model = ModelOf(name);
            if (!model.Aliases.TryGetValue(alias, out var version))
            {
                throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Registered model alias {alias} not found.");
            }

            return new JsonObject { ["model_version"] = VersionJson(model, VersionOfModel(model, version), withAliases: true) };
        }
    }

    private JsonObject DeleteAlias(string name, string alias)
    {
        lock (_gate)
        {
            ModelOf(name).Aliases.Remove(alias);
            return [];
        }
    }

    private JsonObject CreateModelVersion(JsonObject body)
    {
        var name = Str(body, "name");
        var source = Str(body, "source");
        var runId = body["run_id"]?.GetValue<string>() ?? string.Empty;
        if (source.Split('/').Contains(".."))
        {
            throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Invalid model version source: '{source}'.");
        }

        if (source.StartsWith('/') || source.StartsWith("file:", StringComparison.Ordinal))
        {
            throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Invalid model version source: '{source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.");
        }

        lock (_gate)
        {
            var model = ModelOf(name);
            var version = new VersionState(++model.LastVersion, Now(), source, runId);
            foreach (var tag in body["tags"]?.AsArray() ?? [])
            {
                version.Tags[Str(tag!.AsObject(), "key")] = Str(tag.AsObject(), "value");
            }

            model.Versions[version.Version] = version;
            return new JsonObject { ["model_version"] = VersionJson(model, version, withAliases: false) };
        }
    }

    private JsonObject GetModelVersion(string name, int version)
    {
        lock (_gate)
        {
            if (!_models.TryGetValue(name, out var model) || !model.Versions.TryGetValue(version, out var found))
            {
                throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", $"Model Version (name={name}, version={version}) not found");
            }

            return new JsonObject { ["model_version"] = VersionJson(model, found, withAliases: true) };
        }
    }

    private JsonObject SearchModelVersions(HttpRequest request)
    {
        var filter = request.Query["filter"].ToString();
        var match = FilterPattern().Match(filter);
        if (filter.Length > 0 && !match.Success)
        {
            throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Invalid filter '{filter}'");
        }

        var maxResults = request.Query.TryGetValue("max_results", out var max) ? int.Parse(max.ToString(), CultureInfo.InvariantCulture) : 10_000;
        var offset = request.Query.TryGetValue("page_token", out var token) ? int.Parse(token.ToString(), CultureInfo.InvariantCulture) : 0;
        lock (_gate)
        {
            var all = _models.Values
                .SelectMany(m => m.Versions.Values.Select(v => (Model: m, Version: v)))
                .Where(x => !match.Success || (match.Groups["field"].Value == "name" ? x.Model.Name : x.Version.RunId) == match.Groups["value"].Value)
                .OrderByDescending(x => x.Version.Created).ThenByDescending(x => x.Version.Version)
                .ToList();
            var page = all.Skip(offset).Take(maxResults).ToList();
            var json = new JsonObject();
            if (page.Count > 0)
            {
                json["model_versions"] = new JsonArray([.. page.Select(x => VersionJson(x.Model, x.Version, withAliases: false))]);
            }

            if (offset + page.Count < all.Count)
            {
                json["next_page_token"] = (offset + page.Count).ToString(CultureInfo.InvariantCulture);
            }

            return json;
        }
    }

    private JsonObject SetVersionTag(string name, int version, string key, string value)
    {
        lock (_gate)
        {
            VersionOfModel(ModelOf(name), version).Tags[key] = value;
            return [];
        }
    }

    private JsonObject DeleteModelVersion(string name, int version)
    {
        lock (_gate)
        {
            var model = ModelOf(name);
            _ = VersionOfModel(model, version);
            model.Versions.Remove(version);
            return [];
        }
    }

    private RunState RunOf(string runId) =>
        _runs.TryGetValue(runId, out var run) ? run : throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", $"Run '{runId}' not found");

    private ModelState ModelOf(string name) =>
        _models.TryGetValue(name, out var model) ? model : throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", $"Registered Model with name={name} not found");

    private static VersionState VersionOfModel(ModelState model, int version) =>
        model.Versions.TryGetValue(version, out var found)
            ? found
            : throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", $"Model Version (name={model.Name}, version={version}) not found");

    private static JsonObject RunJson(RunState run)
    {
        var data = new JsonObject();
        if (run.Metrics.Count > 0)
        {
            data["metrics"] = new JsonArray([.. run.Metrics.Select(m => new JsonObject { ["key"] = m.Key, ["value"] = m.Value.Value, ["timestamp"] = m.Value.Timestamp, ["step"] = m.Value.Step })]);
        }

        if (run.Params.Count > 0)
        {
            data["params"] = new JsonArray([.. run.Params.Select(p => new JsonObject { ["key"] = p.Key, ["value"] = p.Value })]);
        }

        if (run.Tags.Count > 0)
        {
            data["tags"] = new JsonArray([.. run.Tags.Select(t => new JsonObject { ["key"] = t.Key, ["value"] = t.Value })]);
        }

        return new JsonObject { ["info"] = RunInfoJson(run), ["data"] = data, ["inputs"] = new JsonObject() };
    }

    private static JsonObject RunInfoJson(RunState run)
    {
        var info = new JsonObject
        {
            ["run_id"] = run.Id,
            ["run_uuid"] = run.Id,
            ["experiment_id"] = run.ExperimentId,
            ["run_name"] = run.Name,
            ["user_id"] = "loopback",
            ["status"] = run.Status,
            ["start_time"] = run.StartTime,
            ["artifact_uri"] = $"mlflow-artifacts:/{run.ExperimentId}/{run.Id}/artifacts",
            ["lifecycle_stage"] = "active",
        };
        if (run.EndTime is { } end)
        {
            info["end_time"] = end;
        }

        return info;
    }

    private static JsonObject VersionJson(ModelState model, VersionState version, bool withAliases)
    {
        var json = new JsonObject
        {
            ["name"] = model.Name,
            ["version"] = version.Version.ToString(CultureInfo.InvariantCulture),
            ["creation_timestamp"] = version.Created,
            ["last_updated_timestamp"] = version.Created,
            ["current_stage"] = "None",
            ["source"] = version.Source,
            ["run_id"] = version.RunId,
            ["status"] = "READY",
            ["run_link"] = string.Empty,
        };
        if (version.Tags.Count > 0)
        {
            json["tags"] = new JsonArray([.. version.Tags.Select(t => new JsonObject { ["key"] = t.Key, ["value"] = t.Value })]);
        }

        var aliases = model.Aliases.Where(a => a.Value == version.Version).Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
        if (withAliases && aliases.Count > 0)
        {
            json["aliases"] = new JsonArray([.. aliases.Select(a => JsonValue.Create(a))]);
        }

        return json;
    }

    private static string Query(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var value) && value.ToString().Length > 0
            ? value.ToString()
            : throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Missing value for required parameter '{name}'. See the API docs for more information about request parameters.");

    private static string Str(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null)
        {
            throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Missing value for required parameter '{name}'. See the API docs for more information about request parameters.");
        }

        return node.GetValueKind() == JsonValueKind.String
            ? node.GetValue<string>()
            : throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Invalid value {node.ToJsonString()} for parameter '{name}' supplied: Hint: Value was of type '{(node.GetValueKind() == JsonValueKind.Number ? "int" : "object")}'.");
    }

    /// <summary>MLflow wants the version as a string; a JSON number is a 400.</summary>
    private static int VersionOf(JsonObject body) => ParseVersion(Str(body, "version"));

    private static int ParseVersion(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new MlflowError(400, "INVALID_PARAMETER_VALUE", $"Parameter 'version' must be an integer, got '{text}'.");

    private static long Int64(JsonNode node) =>
        node.GetValueKind() == JsonValueKind.String ? long.Parse(node.GetValue<string>(), CultureInfo.InvariantCulture) : node.GetValue<long>();

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static Task Json(HttpContext context, int status, JsonObject body) =>
        Text(context, status, body.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), "application/json");

    private static Task NotFoundHtml(HttpContext context) =>
        Text(context, 404, "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>", "text/html; charset=utf-8");

    [GeneratedRegex(@"^v\d+$", RegexOptions.IgnoreCase)]
    private static partial Regex ReservedVersionAlias();

    [GeneratedRegex("""^\s*tags\.(?<kq>[`"])(?<key>[^`"]+)\k<kq>\s*=\s*'(?<value>[^']*)'\s*$""")]
    private static partial Regex RunTagFilterPattern();

    [GeneratedRegex("""^\s*(?<field>name|run_id)\s*=\s*(?<q>['"])(?<value>.*)\k<q>\s*$""")]
    private static partial Regex FilterPattern();

    private sealed class MlflowError(int status, string errorCode, string message) : Exception(message)
    {
        public int Status { get; } = status;

        public string ErrorCode { get; } = errorCode;
    }

    private sealed record ExperimentState(string Id, string Name)
    {
        public JsonObject ToJson() => new()
        {
            ["experiment_id"] = Id,
            ["name"] = Name,
            ["artifact_location"] = $"mlflow-artifacts:/{Id}",
            ["lifecycle_stage"] = "active",
        };
    }

    private sealed class RunState(string id, string experimentId, int sequence)
    {
        public string Id { get; } = id;

        public string ExperimentId { get; } = experimentId;

        public int Sequence { get; } = sequence;

        public string Name { get; set; } = string.Empty;

        public string Status { get; set; } = "RUNNING";

        public long StartTime { get; set; }

        public long? EndTime { get; set; }

        public Dictionary<string, (double Value, long Timestamp, long Step)> Metrics { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> Params { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
    }

    private sealed class ModelState(string name, long created)
    {
        public string Name { get; } = name;

        public long Created { get; } = created;

        public int LastVersion { get; set; }

        public SortedDictionary<int, VersionState> Versions { get; } = [];

        public Dictionary<string, int> Aliases { get; } = new(StringComparer.Ordinal);
    }

    private sealed class VersionState(int version, long created, string source, string runId)
    {
        public int Version { get; } = version;

        public long Created { get; } = created;

        public string Source { get; } = source;

        public string RunId { get; } = runId;

        public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
    }
}
