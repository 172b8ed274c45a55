using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Tests;

/// <summary>Builds the MLflow store the way an application does: through <c>UseMLflowModelStore</c> on a service collection.</summary>
internal static class MLflowStoreHost
{
    public static ServiceProvider Build(Uri trackingUri, Action<MLflowModelStoreOptions>? configure = null)
    {
        var services = new ServiceCollection();
        new TestCtrFallbackBuilder(services).UseMLflowModelStore(o =>
        {
            o.TrackingUri = trackingUri;

            // Retries stay on, with a backoff short enough that tests take milliseconds.
            o.RetryDelay = TimeSpan.FromMilliseconds(1);
            configure?.Invoke(o);
        });
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>Overwrites a version's model artifact through the artifact proxy, leaving its recorded SHA-256 as it was.</summary>
    public static async Task CorruptArtifactAsync(Uri trackingUri, string modelName, int version)
    {
        using var http = new HttpClient { BaseAddress = trackingUri };
        var answer = await http.GetFromJsonAsync<JsonObject>($"api/2.0/mlflow/model-versions/get?name={Uri.EscapeDataString(modelName)}&version={version}");
        var source = answer!["model_version"]!["source"]!.GetValue<string>();
        var path = source["mlflow-artifacts:".Length..].TrimStart('/');
        using var put = await http.PutAsync($"api/2.0/mlflow-artifacts/artifacts/{path}/model.ctrfallback", new ByteArrayContent("tampered bytes"u8.ToArray()));
        put.EnsureSuccessStatusCode();
    }
}

/// <summary>A minimal <see cref="ICtrFallbackBuilder"/>: the MLflow package must not depend on Core, so neither do its tests.</summary>
internal sealed class TestCtrFallbackBuilder(IServiceCollection services) : ICtrFallbackBuilder
{
    public IServiceCollection Services { get; } = services;
}
