using CtrFallback.Store;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CtrFallback.Tests.Store;

/// <summary>How AddCtrFallback and UseFileModelStore register the file store.</summary>
public sealed class FileModelStoreRegistrationTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void AddCtrFallback_FromConfiguration_UsesTheFileStoreAtTheStorePath()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["CtrFallback:Store:Kind"] = "file", ["CtrFallback:Store:Path"] = _root.Path })
            .Build();
        var services = new ServiceCollection();

        services.AddCtrFallback(configuration.GetSection(CtrFallbackServiceCollectionExtensions.SectionName));
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        provider.GetRequiredService<IModelStore>().Should().BeOfType<FileModelStore>()
            .Which.RootPath.Should().Be(Path.GetFullPath(_root.Path));
    }

    [Fact]
    public void AddCtrFallback_WithoutAPath_UsesCtrfallbackStoreUnderTheCurrentDirectory()
    {
        var services = new ServiceCollection();

        services.AddCtrFallback();
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IModelStore>().Should().BeOfType<FileModelStore>()
            .Which.RootPath.Should().Be(Path.GetFullPath("ctrfallback-store"));
    }

    [Fact]
    public void AddCtrFallback_KeepsAStoreTheApplicationRegisteredFirst()
    {
        var own = FileStoreHost.Create(_root.File("own"));
        var services = new ServiceCollection();
        services.AddSingleton<IModelStore>(own);

        services.AddCtrFallback();
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IModelStore>().Should().BeSameAs(own);
    }

    [Fact]
    public void UseFileModelStore_ReplacesAStoreRegisteredBefore()
    {
        var other = FileStoreHost.Create(_root.File("other"));
        var services = new ServiceCollection();
        services.AddSingleton<IModelStore>(other);

        services.AddCtrFallback().UseFileModelStore(o => o.Path = _root.File("chosen"));
        using var provider = services.BuildServiceProvider();

        services.Count(d => d.ServiceType == typeof(IModelStore)).Should().Be(1);
        provider.GetRequiredService<IModelStore>().Should().BeOfType<FileModelStore>()
            .Which.RootPath.Should().Be(_root.File("chosen"));
    }

    [Fact]
    public void Options_WithAnEmptyPath_FailValidationNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddCtrFallback().UseFileModelStore(o => o.Path = " ");
        using var provider = services.BuildServiceProvider();

        var read = () => provider.GetRequiredService<IOptions<FileModelStoreOptions>>().Value;

        read.Should().Throw<OptionsValidationException>().WithMessage("*CtrFallback:Store:Path*")
            .Which.Failures.Should().ContainSingle("AddCtrFallback and UseFileModelStore add the validation once");
    }
}
