using CtrFallback.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using CtrFallback.Data;
using CtrFallback.Serving;
using CtrFallback.Training;

namespace CtrFallback.InferenceServer.Tests;

/// <summary>One small model trained once (20k generated rows) through the public trainer, shared by the server tests.</summary>
public sealed class TrainedArtifact : IDisposable
{
    public TrainedArtifact()
    {
        LogPath = Path.Combine(Path.GetTempPath(), $"ctrfallback-server-tests-{Guid.NewGuid():N}.tsv");
        SyntheticClickLog.Write(LogPath, new SyntheticClickLogOptions { Rows = 20_000, Seed = 5 });
        using var provider = new ServiceCollection().AddLogging().AddCtrFallback(o => o.L2Regularization = 3e-4f).Services.BuildServiceProvider();
        Artifact = provider.GetRequiredService<ICtrTrainer>().TrainAsync(ClickLogSchema.Criteo, [LogPath]).GetAwaiter().GetResult().Artifact;
    }

    public string LogPath { get; }

    public byte[] Artifact { get; }

    public void Dispose() => File.Delete(LogPath);
}

/// <summary>The real server (its Program), hosted in-process on a test server, over an in-memory model store.</summary>
public sealed class InferenceServerFactory(IReadOnlyDictionary<string, string>? settings = null) : WebApplicationFactory<Program>
{
    public InMemoryModelStore Store { get; } = new();

    /// <summary>The client address requests appear to come from (the test server has no real connection); none by default.</summary>
    public System.Net.IPAddress? RemoteAddress { get; set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("CtrFallback:Serving:PollInterval", "01:00:00");
        builder.UseSetting("CtrFallback:Serving:WarmupPredictions", "10");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<IStartupFilter>(new RemoteAddressFilter(() => RemoteAddress));
            services.RemoveAll<IModelStore>();
            services.AddSingleton<IModelStore>(Store);
        });
    }

    public async Task<ChampionReloadResult> ReloadAsync() => await Services.GetRequiredService<IChampionFollower>().ReloadAsync();
}

/// <summary>Gives test-server requests a client address, as Kestrel would from the socket.</summary>
internal sealed class RemoteAddressFilter(Func<System.Net.IPAddress?> address) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, following) =>
        {
            if (address() is { } remote)
            {
                context.Connection.RemoteIpAddress = remote;
            }

            return following(context);
        });
        next(app);
    };
}
