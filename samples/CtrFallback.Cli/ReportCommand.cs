using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CtrFallback.Training;

namespace CtrFallback.Cli;

internal static class ReportCommand
{
    private const string AttachmentName = ITrainingJob.EvaluationReportAttachment;

    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        var version = args.Long("--version") ?? throw new UsageException("--version is required");
        var output = args.Required("--out");
        if (version is < 1 or > int.MaxValue)
        {
            throw new UsageException($"--version must be a version number from 1, got {version}");
        }

        using var provider = Services.Build(args, quiet: true);
        args.EnsureAllUsed();
        var store = provider.GetRequiredService<IModelStore>();
        var model = provider.GetRequiredService<IOptions<CtrFallbackOptions>>().Value.ModelName;

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
