using CtrFallback;
using CtrFallback.TrainingWorker;
using OpenTelemetry;
using OpenTelemetry.Trace;

var builder = Host.CreateApplicationBuilder(args);
var section = builder.Configuration.GetSection(CtrFallbackServiceCollectionExtensions.SectionName);
var ctr = builder.Services.AddCtrFallback(section);

// CtrFallback:Training:Trainer = LightGbm trains trees; the champion it is gated against may be either kind.
ctr.UseLightGbmTrainer(section.GetSection("LightGbm"));

// CtrFallback:Training:Features = Auto chooses crosses and hash bits from each batch's training rows (the analysis's search).
ctr.UseFeatureSearch();

// CtrFallback:Worker:Data may name Parquet partitions as well as TSV, CSV and JSON lines.
ctr.UseParquetClickLogs();
if (string.Equals(section["Store:Kind"], "mlflow", StringComparison.OrdinalIgnoreCase))
{
    ctr.UseMLflowModelStore(section.GetSection("MLflow"));
}

if (!string.IsNullOrEmpty(section["Argo:RolloutName"]))
{
    ctr.UseArgoRolloutsTrigger(section.GetSection("Argo"));
}

// Each batch is a trace (run, champion, featurize, fit, evaluate, gate, register, promote), exported over OTLP when
// the standard OTEL_EXPORTER_OTLP_ENDPOINT is set; without it nothing listens and the activities cost nothing.
if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
{
    builder.Services.AddOpenTelemetry()
        .WithTracing(tracing => tracing.AddCtrFallbackInstrumentation())
        .WithMetrics(metrics => metrics.AddCtrFallbackInstrumentation())
        .UseOtlpExporter();
}

builder.Services.AddOptions<WorkerOptions>().Bind(section.GetSection("Worker")).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<TrainingWorkerService>();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

await builder.Build().RunAsync();
