using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using CtrFallback.Serving;
using Microsoft.Extensions.Options;

namespace CtrFallback.InferenceServer;

/// <summary>Settings of the inference server itself, under <c>CtrFallback:Server</c>.</summary>
internal sealed class ServerOptions
{
    public const string SectionName = "Server";

    /// <summary>
    /// How long the server drives its own endpoints over loopback (JSON read, featurize, predict, JSON write, through
    /// Kestrel) after the first model loads and before <c>/readyz</c> turns 200, so the JIT has compiled the request path
    /// at full optimization before real traffic arrives. Zero turns it off.
    /// </summary>
    /// <value>
    /// The default is 1 second; between 0 and 2 minutes. Without quick JIT (the server's csproj) one pass over the path
    /// compiles our code fully optimized, so the first real requests do not pay the JIT (benchmarks/load/coldstart.sh).
    /// </value>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00", "00:02:00")]
    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest the warm-up goes on past <see cref="Warmup"/> while the JIT is still compiling (tier-up of the
    /// framework's code under the warm-up's load); it stops once no method was compiled for a second.
    /// </summary>
    /// <value>The default is 15 seconds; between 0 and 2 minutes. Zero stops at <see cref="Warmup"/>.</value>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00", "00:02:00")]
    public TimeSpan WarmupUntilJitSettles { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Concurrent connections of the warm-up.</summary>
    /// <value>The default is 8; between 1 and 256.</value>
    [System.ComponentModel.DataAnnotations.Range(1, 256)]
    public int WarmupConnections { get; set; } = 8;
}

/// <summary>
/// Warms the whole request path before the server reports ready: a rollout restarts every pod, and a cold .NET process
/// on one core served well under half its warm rate for its first ~20 s (tier-0 code, then tier-up competing with the
/// requests). Sends real requests to the server's own HTTP address; they are counted in the metrics like any other, except
/// drift, whose window restarts when the warm-up ends.
/// </summary>
internal sealed partial class RequestWarmup(
    IServer server,
    IHostApplicationLifetime lifetime,
    ICtrPredictor predictor,
    IChampionFollower follower,
    IHttpClientFactory clients,
    IOptions<ServerOptions> options,
    ILogger<RequestWarmup> logger) : BackgroundService
{
    public const string ClientName = "ctrfallback-warmup";

    /// <summary>The runtime setting that lets tier-1 recompiles start during the warm-up (0), set by the server's image.</summary>
    internal const string TieringDelayVariable = "DOTNET_TC_CallCountingDelayMs";
    private volatile bool _done;

    /// <summary>Whether the warm-up has finished (or was off, or could not run); <c>/readyz</c> waits for it.</summary>
    public bool IsDone => _done;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A failed warm-up must not keep the pod unready: it serves, only colder.
            LogFailed(logger, ex.Message);
        }
        finally
        {
            // The warm-up's made-up impressions (random ids) are not traffic: drift counts from the first real request.
            follower.RestartDriftWindow();
            _done = true;
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var duration = options.Value.Warmup;
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable(TieringDelayVariable) is null && Environment.GetEnvironmentVariable("COMPlus_TC_CallCountingDelayMs") is null)
        {
            // Only an environment variable sets it; the image does. Elsewhere say once why the first seconds are slower.
            LogTieringDelay(logger, TieringDelayVariable);
        }

        await WhenStartedAsync(stoppingToken).ConfigureAwait(false);
        var address = LoopbackAddress(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
        if (address is null)
        {
            LogNoAddress(logger);
            return;
        }

        while (predictor.Schema is null)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), stoppingToken).ConfigureAwait(false);
        }

        var bodies = Bodies(predictor.Schema, 256);
        var clock = Stopwatch.StartNew();
        var settle = options.Value.WarmupUntilJitSettles;
        var done = false;

        // Tier-up compiles in the background a while after a method gets hot: keep the load on until it has, so real
        // traffic does not share the core with the JIT.
        var watch = Task.Run(
            async () =>
            {
                var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                var quietSince = clock.Elapsed;
                while (clock.Elapsed < duration + settle)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), stoppingToken).ConfigureAwait(false);
                    var now = System.Runtime.JitInfo.GetCompiledMethodCount();
                    if (now != compiled)
                    {
                        (compiled, quietSince) = (now, clock.Elapsed);
                    }

                    if (clock.Elapsed >= duration && (settle <= TimeSpan.Zero || clock.Elapsed - quietSince >= TimeSpan.FromSeconds(1)))
                    {
                        break;
                    }
                }

                Volatile.Write(ref done, true);
            },
            stoppingToken);
        var client = clients.CreateClient(ClientName);
        client.BaseAddress = address;
        var counts = await Task.WhenAll(Enumerable.Range(0, options.Value.WarmupConnections).Select(worker => Task.Run(
            async () =>
            {
                long sent = 0;
                while (!Volatile.Read(ref done))
                {
                    // Mostly single impressions, as in production; every 16th a batch of candidates.
                    var i = (int)(sent++ % bodies.Single.Length);
                    var (path, body) = i % 16 == 15 ? ("/predict/batch", bodies.Batch[i % bodies.Batch.Length]) : ("/predict", bodies.Single[i]);
                    using var request = new HttpRequestMessage(HttpMethod.Post, path)
                    {
                        Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } },
                    };

                    // Every 64th request closes its connection, so accepting and closing connections (what a load
                    // balancer's new connections do) is compiled before ready too.
                    request.Headers.ConnectionClose = sent % 64 == 63;
                    using var response = await client.SendAsync(request, stoppingToken).ConfigureAwait(false);
                    response.EnsureSuccessStatusCode();
                }

                return sent;
            },
            stoppingToken))).ConfigureAwait(false);
        await watch.ConfigureAwait(false);
        LogWarmedUp(logger, counts.Sum(), clock.Elapsed.TotalSeconds, address, System.Runtime.JitInfo.GetCompiledMethodCount());
    }

    private Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(stoppingToken);
    }

    /// <summary>The first plain-HTTP address, with a wildcard host (<c>+</c>, <c>*</c>, <c>0.0.0.0</c>, <c>[::]</c>) as 127.0.0.1.</summary>
    internal static Uri? LoopbackAddress(IEnumerable<string> addresses)
    {
        foreach (var address in addresses)
        {
            if (!address.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var rest = address["http://".Length..];
            var colon = rest.LastIndexOf(':');
            var (host, port) = colon < 0 ? (rest, "80") : (rest[..colon], rest[(colon + 1)..].TrimEnd('/'));
            if (host is "+" or "*" or "0.0.0.0" or "[::]" or "localhost")
            {
                host = "127.0.0.1";
            }

            return new Uri($"http://{host}:{port}/");
        }

        return null;
    }

    /// <summary>Request bodies over the schema's own fields: numbers, ids and missing values, varied so every branch runs.</summary>
    internal static (byte[][] Single, byte[][] Batch) Bodies(FeatureSchema schema, int count)
    {
        var random = new Random(17);
        string Impression(bool all)
        {
            var json = new StringBuilder("{");
            foreach (var field in schema.NumericFields)
            {
                json.Append('"').Append(field).Append("\":").Append(all || random.Next(5) > 0 ? random.Next(-1, 500).ToString(System.Globalization.CultureInfo.InvariantCulture) : "null").Append(',');
            }

            foreach (var field in schema.CategoricalFields)
            {
                json.Append('"').Append(field).Append("\":").Append(all || random.Next(8) > 0 ? $"\"{random.Next():x8}\"" : "null").Append(',');
            }

            if (schema.Timestamp is { } timestamp)
            {
                json.Append('"').Append(timestamp.Field).Append("\":null,");
            }

            json.Length--;
            return json.Append('}').ToString();
        }

        var single = Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes(Impression(i % 4 == 0))).ToArray();
        var batch = Enumerable.Range(0, Math.Max(1, count / 16))
            .Select(_ => Encoding.UTF8.GetBytes($"{{\"context\":{Impression(false)},\"candidates\":[{string.Join(',', Enumerable.Range(0, 8).Select(_ => Impression(false)))}]}}"))
            .ToArray();
        return (single, batch);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Warmed up the request path with {Requests} requests in {Seconds:F1} s over {Address} ({Methods} methods compiled); ready")]
    private static partial void LogWarmedUp(ILogger logger, long requests, double seconds, Uri address, long methods);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Request warm-up failed ({Reason}); serving without it")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "{Variable} is not set: the runtime's tiering delay (1 s on one core) holds tier-1 recompiles back until after the warm-up, so the first seconds after ready run slower; the server's image sets {Variable}=0")]
    private static partial void LogTieringDelay(ILogger logger, string variable);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "No plain-HTTP address to warm up over; ready without a request warm-up")]
    private static partial void LogNoAddress(ILogger logger);
}
