using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using CtrFallback.Promotion;
using CtrFallback.Training;

namespace CtrFallback.Cli;

/// <summary>Builds the services a command needs from environment variables (CtrFallback__…) and the store and deployment options.</summary>
internal static class Services
{
    public static ServiceProvider Build(CommandLine args, bool quiet, Action<TrainingOptions>? training = null)
    {
        var configuration = Configuration(args);
        var section = configuration.GetSection(CtrFallbackServiceCollectionExtensions.SectionName);
        var services = new ServiceCollection();
        services.AddLogging(b => b
            .SetMinimumLevel(quiet ? LogLevel.Warning : LogLevel.Information)
            .AddConsole(o =>
            {
                o.LogToStandardErrorThreshold = LogLevel.Trace;
                o.FormatterName = CliConsoleFormatter.FormatterName;
            })
            .AddConsoleFormatter<CliConsoleFormatter, ConsoleFormatterOptions>());
        var builder = services.AddCtrFallback(section);

        // Trees train and serve here too (--trainer LightGbm, predict and bench on a tree champion).
        builder.UseLightGbmTrainer(section.GetSection("LightGbm"));

        // Training:Features = Auto (train --features auto) searches crosses and hash bits with the analysis's code.
        builder.UseFeatureSearch();
        if (training is not null)
        {
            services.Configure(training);
        }

        if (string.Equals(section["Store:Kind"], "mlflow", StringComparison.OrdinalIgnoreCase))
        {
            builder.UseMLflowModelStore(section.GetSection("MLflow"));
        }

        if (!string.IsNullOrEmpty(section["Argo:RolloutName"]))
        {
            builder.UseArgoRolloutsTrigger(section.GetSection("Argo"));
        }

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            // Options are validated now, as a host would at start, so a bad setting fails before any work.
            _ = provider.GetRequiredService<IOptions<CtrFallbackOptions>>().Value;
            _ = provider.GetRequiredService<IOptions<TrainingOptions>>().Value;
            _ = provider.GetRequiredService<IOptions<PromotionGateOptions>>().Value;
            provider.GetRequiredService<IModelStore>();
            provider.GetRequiredService<IDeploymentTrigger>();
            return provider;
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    /// <summary>Environment variables, then the command line's store, model and deployment options on top.</summary>
    public static IConfiguration Configuration(CommandLine args)
    {
        var overrides = new Dictionary<string, string?>();
        void Map(string option, string key)
        {
            if (args.String(option) is { } value)
            {
                overrides[$"CtrFallback:{key}"] = value;
            }
        }

        if (args.String("--store") is { } store)
        {
            if (string.Equals(store, "mlflow", StringComparison.OrdinalIgnoreCase))
            {
                overrides["CtrFallback:Store:Kind"] = "mlflow";
            }
            else
            {
                overrides["CtrFallback:Store:Kind"] = "file";
                overrides["CtrFallback:Store:Path"] = store;
            }
        }

        Map("--model-name", "ModelName");
        Map("--mlflow-uri", "MLflow:TrackingUri");
        Map("--mlflow-experiment", "MLflow:ExperimentName");
        Map("--argo-rollout", "Argo:RolloutName");
        Map("--argo-namespace", "Argo:Namespace");
        Map("--kubeconfig", "Argo:KubeconfigPath");
        Map("--argo-context", "Argo:Context");
        Map("--argo-timeout", "Argo:Timeout");
        if (args.Flag("--no-wait"))
        {
            overrides["CtrFallback:Argo:WaitForCompletion"] = "false";
        }

        return new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddInMemoryCollection(overrides)
            .Build();
    }
}
