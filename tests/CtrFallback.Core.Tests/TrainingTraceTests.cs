using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using CtrFallback.Data;
using CtrFallback.Training;

namespace CtrFallback.Tests;

/// <summary>A training batch shows up as one trace through OpenTelemetry: the run and a child activity per stage.</summary>
public sealed class TrainingTraceTests : IDisposable
{
    private static readonly ActivitySource TestSource = new("CtrFallback.Tests.Trace");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>An OpenTelemetry tracer provider exporting this test's source and the library's into a list, and a training container over a file store.</summary>
    private (List<Activity> Exported, TracerProvider Tracing, ServiceProvider Provider) Traced()
    {
        var exported = new List<Activity>();
        var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(TestSource.Name)
            .AddCtrFallbackInstrumentation()
            .AddInMemoryExporter(exported)
            .Build();
        var services = new ServiceCollection();
        services.AddCtrFallback().UseFileModelStore(o => o.Path = _dir.File("store"));
        return (exported, tracing, services.BuildServiceProvider());
    }

    [Fact]
    public async Task Run_UnderATracerProvider_ExportsTheRunWithItsStagesAsChildren()
    {
        var (exported, tracing, provider) = Traced();
        using var owned = tracing;
        await using var ownedProvider = provider;
        var log = _dir.Write("day.tsv", string.Join('\n', SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 20_000, Seed = 3 }).Select(i => i.Line)));

        // Other tests train in parallel on the same activity source: keep this test's trace only.
        ActivityTraceId traceId;
        using (var root = TestSource.StartActivity("test"))
        {
            traceId = root!.TraceId;
            await provider.GetRequiredService<ITrainingJob>().RunAsync(new TrainingJobRequest([log], ClickLogSchema.Criteo));
        }

        tracing.ForceFlush();
        var ours = exported.Where(a => a.TraceId == traceId && a.Source.Name == CtrFallbackTelemetry.ActivitySourceName).ToList();
        var run = ours.Should().ContainSingle(a => a.OperationName == "ctrfallback.training.run").Subject;
        ours.Where(a => a.ParentSpanId == run.SpanId).Select(a => a.OperationName).Should().Equal(
            "ctrfallback.training.champion",
            "ctrfallback.training.featurize",
            "ctrfallback.training.fit",
            "ctrfallback.training.evaluate",
            "ctrfallback.training.gate",
            "ctrfallback.training.register",
            "ctrfallback.training.promote");
        run.GetTagItem("ctrfallback.model").Should().Be("ctr");
        run.GetTagItem("ctrfallback.version").Should().Be(1);
        run.GetTagItem("ctrfallback.promoted").Should().Be(true);
        run.Status.Should().Be(ActivityStatusCode.Unset);
        ours.Single(a => a.OperationName == "ctrfallback.training.featurize").GetTagItem("ctrfallback.rows").Should().Be(20_000L);
    }

    [Fact]
    public async Task Run_OnALogWithNothingToLearn_EndsTheRunActivityAsAnError()
    {
        var (exported, tracing, provider) = Traced();
        using var owned = tracing;
        await using var ownedProvider = provider;
        var log = _dir.Write("clicks-only.tsv", string.Join('\n', Enumerable.Range(0, 200).Select(i => "1\t" + i + new string('\t', 38))));

        ActivityTraceId traceId;
        using (var root = TestSource.StartActivity("test"))
        {
            traceId = root!.TraceId;
            var run = () => provider.GetRequiredService<ITrainingJob>().RunAsync(new TrainingJobRequest([log], ClickLogSchema.Criteo));
            await run.Should().ThrowAsync<ClickLogFormatException>();
        }

        tracing.ForceFlush();
        var failed = exported.Single(a => a.TraceId == traceId && a.OperationName == "ctrfallback.training.run");
        failed.Status.Should().Be(ActivityStatusCode.Error);
        failed.StatusDescription.Should().Contain("one label value");
    }
}
