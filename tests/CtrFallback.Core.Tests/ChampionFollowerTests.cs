using System.Diagnostics.Metrics;
using CtrFallback.Serving;
using CtrFallback.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using CtrFallback.Data;

namespace CtrFallback.Tests;

public sealed class ChampionFollowerTests(ServingModelFixture fixture) : IClassFixture<ServingModelFixture>
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(30);

    private sealed class Serving : IAsyncDisposable
    {
        public Serving(Action<ServingOptions>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddMetrics();
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<IModelStore>(Store);
            services.AddCtrFallback().AddChampionServing(o =>
            {
                o.PollInterval = TimeSpan.FromSeconds(30);
                o.WarmupPredictions = 10;
                configure?.Invoke(o);
            });
            Provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        }

        public TimerWatchingTimeProvider Time { get; } = new();

        public InMemoryModelStore Store { get; } = new();

        public ServiceProvider Provider { get; }

        public ICtrPredictor Predictor => Provider.GetRequiredService<ICtrPredictor>();

        public IChampionFollower Follower => Provider.GetRequiredService<IChampionFollower>();

        public ServingMetrics Metrics => Provider.GetRequiredService<ChampionPredictor>().Metrics;

        public ValueTask DisposeAsync() => Provider.DisposeAsync();
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        // Bounded wait for background work; asserts the outcome, not how fast it came.
        var deadline = DateTime.UtcNow + Bounded;
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"waited for {what}");
            await Task.Delay(20);
        }
    }

    private static Impression AnyImpression(ICtrPredictor predictor)
    {
        var impression = new Impression(predictor.Schema!);
        impression.SetCategorical(0, "68fd1e64");
        impression.SetNumeric(0, 3);
        return impression;
    }

    [Fact]
    public async Task HostedFollower_WhenTheAliasMoves_ServesTheNewVersionAfterThePollInterval()
    {
        await using var serving = new Serving();
        await serving.Store.RegisterAsync("ctr", fixture.First);
        var hosted = serving.Provider.GetServices<IHostedService>().Should().ContainSingle().Subject;
        await hosted.StartAsync(CancellationToken.None);

        await Until(() => serving.Predictor.IsReady, "the first champion");
        serving.Predictor.CurrentModel!.Label.Should().Be("ctr/1");
        serving.Predictor.CurrentModel.LoadedAt.Should().Be(serving.Time.GetUtcNow());
        await Until(() => serving.Time.TimersCreated >= 1, "the follower to wait for its next poll");
        var impression = AnyImpression(serving.Predictor);
        var before = serving.Predictor.Predict(impression);

        await serving.Store.RegisterAsync("ctr", fixture.Second);
        serving.Time.Advance(TimeSpan.FromSeconds(29));
        serving.Predictor.Predict(impression).ModelVersion.Should().Be("ctr/1", "the poll interval has not passed");
        serving.Time.Advance(TimeSpan.FromSeconds(1));
        await Until(() => serving.Predictor.CurrentModel!.Label == "ctr/2", "the moved alias to be followed");

        var after = serving.Predictor.Predict(impression);
        after.ModelVersion.Should().Be("ctr/2");
        after.Ctr.Should().NotBe(before.Ctr, "the second model has other weights");
        serving.Metrics.ReloadCount.Should().Be(2);
        serving.Metrics.FailedReloadCount.Should().Be(0);
        await hosted.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Reload_WithoutAChampion_StaysNotReady()
    {
        await using var serving = new Serving();

        var result = await serving.Follower.ReloadAsync();

        result.Outcome.Should().Be(ChampionReloadOutcome.NoChampion);
        serving.Predictor.IsReady.Should().BeFalse();
        serving.Predictor.TryPredict(new Impression(ClickLogSchema.Criteo.ToFeatureSchema()), out _).Should().BeFalse();
    }

    public static TheoryData<string, string> BadVersions => new()
    {
        { "corrupt", "corrupt" },
        { "checksum", "checksum" },
        { "schema", "schema" },
    };

    [Theory]
    [MemberData(nameof(BadVersions))]
    public async Task Reload_OfABadVersion_KeepsTheOldModelServing_AndCountsOneFailure(string kind, string reason)
    {
        await using var serving = new Serving();
        await serving.Store.RegisterAsync("ctr", fixture.First);
        (await serving.Follower.ReloadAsync()).Outcome.Should().Be(ChampionReloadOutcome.Loaded);
        var impression = AnyImpression(serving.Predictor);
        var served = serving.Predictor.Predict(impression);
        using var failures = new FailureListener(serving.Provider);

        var bad = await serving.Store.RegisterAsync("ctr", kind == "corrupt" ? ServingModelFixture.Garbage : kind == "schema" ? fixture.RenamedField : fixture.Second);
        if (kind == "checksum")
        {
            serving.Store.CorruptArtifact("ctr", bad.Version);
        }

        var result = await serving.Follower.ReloadAsync();
        var again = await serving.Follower.ReloadAsync();

        result.Outcome.Should().Be(ChampionReloadOutcome.Failed);
        result.Message.Should().Contain(reason);
        again.Outcome.Should().Be(ChampionReloadOutcome.PreviouslyRejected, "a bad immutable version is not retried every poll");
        serving.Predictor.IsReady.Should().BeTrue();
        serving.Predictor.Predict(impression).Should().Be(served, "the old model keeps serving");
        serving.Metrics.FailedReloadCount.Should().Be(1);
        failures.Reasons.Should().Equal(reason);

        // The alias moving on to a sound version is followed.
        await serving.Store.RegisterAsync("ctr", fixture.Second);
        (await serving.Follower.ReloadAsync()).Outcome.Should().Be(ChampionReloadOutcome.Loaded);
        serving.Predictor.CurrentModel!.Label.Should().Be($"ctr/{bad.Version + 1}");
    }

    [Fact]
    public async Task Reload_WhenTheStoreIsDown_KeepsServing_AndRetriesAtTheNextCheck()
    {
        await using var serving = new Serving();
        await serving.Store.RegisterAsync("ctr", fixture.First);
        await serving.Follower.ReloadAsync();
        await serving.Store.RegisterAsync("ctr", fixture.Second);
        serving.Store.FailNextCalls(1);

        (await serving.Follower.ReloadAsync()).Outcome.Should().Be(ChampionReloadOutcome.Failed);
        serving.Predictor.CurrentModel!.Label.Should().Be("ctr/1");

        (await serving.Follower.ReloadAsync()).Outcome.Should().Be(ChampionReloadOutcome.Loaded);
        serving.Predictor.CurrentModel!.Label.Should().Be("ctr/2");
    }

    [Fact]
    public async Task Options_WithAZeroPollInterval_FailValidation()
    {
        await using var serving = new Serving(o => o.PollInterval = TimeSpan.Zero);

        serving.Invoking(s => s.Provider.GetRequiredService<IOptions<ServingOptions>>().Value).Should().Throw<OptionsValidationException>().WithMessage("*PollInterval*");
    }

    /// <summary>Listens to the failed-reload counter of one provider's meter.</summary>
    private sealed class FailureListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<string> _reasons = [];

        public FailureListener(IServiceProvider provider)
        {
            var factory = provider.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == CtrFallbackTelemetry.MeterName && instrument.Meter.Scope == factory && instrument.Name == ServingMetrics.FailedReloads)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                lock (_reasons)
                {
                    foreach (var tag in tags)
                    {
                        if (tag.Key == "reason")
                        {
                            _reasons.Add((string)tag.Value!);
                        }
                    }
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<string> Reasons
        {
            get
            {
                lock (_reasons)
                {
                    return _reasons.ToArray();
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
