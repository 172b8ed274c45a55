using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CtrFallback.Data;
using CtrFallback.Promotion;
using CtrFallback.Training;

namespace CtrFallback.Tests;

/// <summary>How CtrFallback registers itself: calling it twice is harmless, and replacing a service changes what uses it.</summary>
public sealed class RegistrationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AddCtrFallback_CalledTwice_ValidatesEachOptionOnce()
    {
        var services = new ServiceCollection();
        services.AddCtrFallback(o => o.HoldoutFraction = 0.95);
        services.AddCtrFallback();
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<TrainingOptions>>().Value;

        var failures = act.Should().Throw<OptionsValidationException>().Which.Failures.ToArray();
        failures.Should().ContainSingle().Which.Should().Contain(nameof(TrainingOptions.HoldoutFraction));
        services.Count(d => d.ServiceType == typeof(IValidateOptions<TrainingOptions>)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(ITrainingJob)).Should().Be(1);
    }

    [Fact]
    public async Task TrainingJob_PromotesThroughTheRegisteredChampionManager()
    {
        var log = _dir.File("clicks.tsv");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 20_000, Seed = 4 });
        var manager = new RecordingChampionManager();
        var services = new ServiceCollection();
        services.AddCtrFallback(o => o.L2Regularization = 3e-4f).UseFileModelStore(o => o.Path = _dir.File("store"));
        services.AddSingleton<IChampionManager>(manager);
        using var provider = services.BuildServiceProvider();

        var result = await provider.GetRequiredService<ITrainingJob>().RunAsync(new TrainingJobRequest([log], ClickLogSchema.Criteo));

        result.Promoted.Should().BeTrue();
        manager.Candidates.Should().Equal((null, result.Version.Version));
    }

    private sealed class RecordingChampionManager : IChampionManager
    {
        public List<(int? Previous, int Version)> Candidates { get; } = [];

        public Task<ChampionChange> PromoteAsync(int version, bool force = false, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ChampionChange> RollbackAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ChampionChange> PromoteCandidateAsync(int? previousChampion, int version, CancellationToken cancellationToken = default)
        {
            Candidates.Add((previousChampion, version));
            var registered = new ModelVersion("ctr", version, DateTimeOffset.UnixEpoch, "0", new Dictionary<string, double>(), new Dictionary<string, string>(), new Dictionary<string, string>(), []);
            return Task.FromResult(new ChampionChange(previousChampion, registered, new DeploymentResult(DeploymentStatus.Skipped, "recorded")));
        }
    }
}
