using CtrFallback;
using CtrFallback.InferenceServer;

var builder = WebApplication.CreateBuilder(args);

// Short options on top of the usual configuration keys (appsettings.json, CtrFallback__… environment variables, --Key=value).
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["--store"] = "CtrFallback:Store:Path",
    ["--store-kind"] = "CtrFallback:Store:Kind",
    ["--model-name"] = "CtrFallback:Serving:ModelName",
    ["--alias"] = "CtrFallback:Serving:Alias",
    ["--poll-interval"] = "CtrFallback:Serving:PollInterval",
    ["--mlflow"] = "CtrFallback:MLflow:TrackingUri",
});

var section = builder.Configuration.GetSection(CtrFallbackServiceCollectionExtensions.SectionName);
var ctr = builder.Services.AddCtrFallback(section);
var kind = section["Store:Kind"] ?? "file";
if (string.Equals(kind, "mlflow", StringComparison.OrdinalIgnoreCase))
{
    ctr.UseMLflowModelStore(section.GetSection("MLflow"));
}
else if (!string.Equals(kind, "file", StringComparison.OrdinalIgnoreCase))
{
    throw new InvalidOperationException($"CtrFallback:Store:Kind must be 'file' or 'mlflow', not '{kind}'.");
}

// A tree champion (CtrFallback.LightGbm) is served on the same allocation-free path as a linear one.
ctr.UseLightGbmTrainer(section.GetSection("LightGbm"));
ctr.AddChampionServing(section.GetSection("Serving"));
builder.Services.AddProblemDetails();
builder.Services.AddSingleton<ServerMetrics>();
builder.Services.AddSingleton<ImpressionPool>();
builder.Services.AddSingleton<PredictEndpoints>();

var app = builder.Build();
var endpoints = app.Services.GetRequiredService<PredictEndpoints>();
app.MapPost("/predict", endpoints.PredictAsync);
app.MapPost("/predict/batch", endpoints.PredictBatchAsync);
app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
app.MapGet("/readyz", endpoints.Ready);
app.MapGet("/model", endpoints.Model);
app.MapGet("/metrics", endpoints.MetricsAsync);
app.MapPost("/model/reload", endpoints.ReloadAsync);
app.Run();

/// <summary>The server's entry point (public so tests can host it in-process).</summary>
public partial class Program;
