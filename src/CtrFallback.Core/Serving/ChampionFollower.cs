using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CtrFallback.Serving;

/// <summary>
/// The hosted service that keeps <see cref="ICtrPredictor"/> on the store's alias (or on the version
/// <see cref="ServingOptions.Version"/> pins), through the one <see cref="AliasFollower"/>.
/// </summary>
internal sealed class ChampionFollower : BackgroundService, IChampionFollower
{
    private readonly AliasFollower _follower;
    private readonly ChampionPredictor _predictor;
    private readonly TimeSpan _pollInterval;

    public ChampionFollower(
        IModelStore store,
        ChampionPredictor predictor,
        IOptions<ServingOptions> options,
        IOptions<MLOptions> ml,
        TimeProvider time,
        ILogger<ChampionFollower> logger)
    {
        var serving = options.Value;

        // Filled from CtrFallbackOptions by AddChampionServing's post-configuration when not set.
        var modelName = serving.ModelName ?? throw new InvalidOperationException("ServingOptions.ModelName is not set.");
        var alias = serving.Alias ?? throw new InvalidOperationException("ServingOptions.Alias is not set.");
        _pollInterval = serving.PollInterval;
        PinnedVersion = serving.Version;
        _predictor = predictor;
        _follower = new AliasFollower(store, predictor, modelName, alias, ml.Value.MLContext, serving.WarmupPredictions, time, logger, serving.Version);
    }

    public int? PinnedVersion { get; }

    public Task<ChampionReloadResult> ReloadAsync(CancellationToken cancellationToken = default) => _follower.ReloadAsync(cancellationToken);

    public ChampionServingStatistics Statistics =>
        new(_predictor.Metrics.PredictionCount, _predictor.Metrics.ReloadCount, _predictor.Metrics.FailedReloadCount);

    public ServingDrift? Drift => _predictor.Drift;

    public void RestartDriftWindow() => _predictor.RestartDriftWindow();

    public override void Dispose()
    {
        _follower.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _follower.FollowAsync(_pollInterval, stoppingToken);
}
