using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace CtrFallback.Cli;

internal static class ReportCommand
{
    /// <summary>The attachment a training batch registers with each version.</summary>
    public const string AttachmentName = "evaluation.html";

    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var version = args.Long("--version") ?? throw new UsageException("--version is required");
        var model = args.String("--model") ?? "ctr";
        var storeDirectory = args.String("--store");
        var mlflow = args.String("--mlflow");
        var output = args.Required("--out");
        args.EnsureAllUsed();
        if (version is < 1 or > int.MaxValue)
        {
            throw new UsageException($"--version must be a version number from 1, got {version}");
        }

        using var provider = Services.Build(quiet: true, more: services =>
        {
            if (mlflow is not null)
            {
                var uri = Uri.TryCreate(mlflow, UriKind.Absolute, out var u) ? u : throw new UsageException($"--mlflow must be an absolute URI, got '{mlflow}'");
                services.AddCtrFallback().UseMLflowModelStore(o => o.TrackingUri = uri);
            }

            // The file model store registers itself here once Core has one (for example services.AddCtrFallback().UseFileModelStore(storeDirectory)).
        });
        var store = provider.GetService<IModelStore>()
            ?? throw new UsageException(storeDirectory is not null
                ? "--store needs the file model store, which this build does not register yet; use --mlflow URI"
                : "no model store is configured: give --store DIR or --mlflow URI");

        var html = await store.DownloadAttachmentAsync(model, (int)version, AttachmentName, cancellationToken);
        if (html is null)
        {
            Console.Error.WriteLine($"ctrfallback report: {model}/{version} has no {AttachmentName} attachment (registered before evaluation reports existed?).");
            return 1;
        }

        await File.WriteAllBytesAsync(output, html, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote the evaluation report of {model}/{version} to {output} ({html.Length:N0} bytes)"));
        return 0;
    }
}
