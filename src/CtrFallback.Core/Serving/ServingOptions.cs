using System.ComponentModel.DataAnnotations;

namespace CtrFallback.Serving;

/// <summary>Which champion the in-process predictor serves and how often it looks for a new one.</summary>
public sealed class ServingOptions
{
    /// <summary>The configuration section bound by default, under the application's root configuration.</summary>
    public const string SectionName = "CtrFallback:Serving";

    /// <summary>The registered model's name in the model store.</summary>
    /// <value>The default is <see langword="null"/>: <see cref="CtrFallbackOptions.ModelName"/> (<c>ctr</c>), the model the training batch registers.</value>
    [MinLength(1)]
    public string? ModelName { get; set; }

    /// <summary>The alias followed, whose version is served.</summary>
    /// <value>The default is <see langword="null"/>: <see cref="CtrFallbackOptions.ChampionAlias"/> (<c>champion</c>), the alias the training batch moves.</value>
    [MinLength(1)]
    public string? Alias { get; set; }

    /// <summary>
    /// A version to serve instead of the alias's (configuration key <c>CtrFallback:Serving:Version</c>, environment
    /// variable <c>CtrFallback__Serving__Version</c>): the follower loads exactly this registered version and ignores
    /// <see cref="Alias"/>. A canary pins each pod template's version, so old and new versions serve side by side.
    /// </summary>
    /// <value>The default is <see langword="null"/>: follow <see cref="Alias"/>.</value>
    [Range(1, int.MaxValue)]
    public int? Version { get; set; }

    /// <summary>How often the store's alias (or pinned version) is checked for a new version.</summary>
    /// <value>The default is 30 seconds; between 100 ms and one day.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Predictions made on a newly loaded model before it is swapped in, so the first real request does not pay for JIT and cache misses.</summary>
    /// <value>The default is 2,000; between 1 and 1,000,000.</value>
    [Range(1, 1_000_000)]
    public int WarmupPredictions { get; set; } = DefaultWarmupPredictions;

    /// <summary>What a server does with a request field the serving model's schema does not have (a renamed or misspelt field).</summary>
    /// <value>The default is <see cref="UnknownFieldHandling.Ignore"/>: scored without it, and counted by name.</value>
    public UnknownFieldHandling UnknownFields { get; set; } = UnknownFieldHandling.Ignore;

    /// <summary>Live drift of the served version against its training profile (<c>CtrFallback:Serving:Drift</c>).</summary>
    /// <value>The default is on, sampling 1 impression in 64 over a window of 10,000 sampled impressions.</value>
    public ServingDriftOptions Drift { get; set; } = new();

    /// <summary>The default of <see cref="WarmupPredictions"/>.</summary>
    internal const int DefaultWarmupPredictions = 2_000;
}

/// <summary>
/// How serving measures drift: a sample of the impressions it scores, in a sliding window per served version, against
/// the version's training profile (score PSI, per-field missing and unseen-value shares, mean predicted CTR).
/// </summary>
public sealed class ServingDriftOptions
{
    /// <summary>Whether drift is measured. A version whose artifact has no training profile (older artifacts) reports none either way.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>One impression in this many is sampled (per thread), so the predict path pays for drift on a few calls only.</summary>
    /// <value>
    /// The default is 64 (a sampled prediction costs a few microseconds more when other processes thrash the caches:
    /// at 1 in 16 the mean predict time grew 13% under load; see <c>drift-pairs</c> in the benchmarks); between 1 and 1,000,000.
    /// </value>
    [Range(1, 1_000_000)]
    public int SampleEvery { get; set; } = 64;

    /// <summary>Sampled impressions in the sliding window; the oldest leaves as a new one comes in.</summary>
    /// <value>The default is 10,000; between 100 and 1,000,000 (about 45 bytes each for a Criteo schema).</value>
    [Range(100, 1_000_000)]
    public int Window { get; set; } = 10_000;
}

/// <summary>What to do with a request field the serving model's schema does not have.</summary>
public enum UnknownFieldHandling
{
    /// <summary>Score without it; count it by name (the first 100 names) on the meter and log each name once.</summary>
    Ignore,

    /// <summary>Refuse the request (HTTP 400 naming the field); still counted.</summary>
    Reject,
}
