using System.IO.Abstractions;
using CtrFallback.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests.Store;

/// <summary>Builds file stores for tests: through DI as an application does, or directly with a chosen clock and file system.</summary>
internal static class FileStoreHost
{
    public static ServiceProvider Build(string path, IFileSystem? fileSystem = null)
    {
        var services = new ServiceCollection();
        if (fileSystem is not null)
        {
            services.AddSingleton(fileSystem);
        }

        services.AddCtrFallback().UseFileModelStore(o => o.Path = path);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static FileModelStore Create(string path, TimeProvider? timeProvider = null, IFileSystem? fileSystem = null) =>
        new(fileSystem ?? new FileSystem(), Options.Create(new FileModelStoreOptions { Path = path }), timeProvider ?? TimeProvider.System);

    public static string VersionFolder(string root, string modelName, int version) =>
        Path.Combine(root, modelName, FileModelStore.VersionsFolder, version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string ArtifactPath(string root, string modelName, int version) =>
        Path.Combine(VersionFolder(root, modelName, version), FileModelStore.ArtifactFileName);
}
