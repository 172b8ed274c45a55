using CtrFallback;
using CtrFallback.InferenceServer;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

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

// /metrics is OpenTelemetry's Prometheus exporter: the library's meter (predictions, reloads, model version) and
// ASP.NET Core's own request metrics (http_server_request_duration_seconds by route and status code), with buckets
// fine enough for handlers that take tens of microseconds.
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
    .AddCtrFallbackInstrumentation()
    .AddMeter(UnknownFields.MeterName)
    .AddMeter("Microsoft.AspNetCore.Hosting")
    .AddView("http.server.request.duration", new ExplicitBucketHistogramConfiguration
    {
        Boundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    })
    .AddPrometheusExporter());
builder.Services.AddOptions<AdminOptions>().Bind(section.GetSection(AdminOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ServerOptions>().Bind(section.GetSection(ServerOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHttpClient(RequestWarmup.ClientName);
builder.Services.AddSingleton<RequestWarmup>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RequestWarmup>());
builder.Services.AddSingleton<UnknownFields>();
builder.Services.AddSingleton<ImpressionPool>();
builder.Services.AddSingleton<PredictEndpoints>();

var app = builder.Build();
var endpoints = app.Services.GetRequiredService<PredictEndpoints>();
app.MapPost("/predict", endpoints.PredictAsync);
app.MapPost("/predict/batch", endpoints.PredictBatchAsync);
app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
app.MapGet("/readyz", endpoints.Ready);
app.MapGet("/model", endpoints.Model);
app.MapPrometheusScrapingEndpoint("/metrics");

// Endpoints that change state are off unless configured, then loopback-only or behind a bearer token.
var admin = app.Services.GetRequiredService<IOptions<AdminOptions>>().Value;
if (admin.Access != AdminAccess.Off)
{
    app.MapPost("/model/reload", endpoints.ReloadAsync).AddEndpointFilter((context, next) =>
    {
        if (admin.Allows(context.HttpContext))
        {
            return next(context);
        }

        if (admin.Access == AdminAccess.Token)
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return ValueTask.FromResult<object?>(Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Not allowed", detail: "Send Authorization: Bearer <CtrFallback:Admin:Token>."));
        }

        return ValueTask.FromResult<object?>(Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not allowed", detail: "Admin endpoints answer loopback connections only (CtrFallback:Admin:Access is Loopback)."));
    });
}

app.Run();

/// <summary>The server's entry point (public so tests can host it in-process).</summary>
public partial class Program;
