using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using CtrFallback.Serving;

namespace CtrFallback.Tests;

public sealed class ServingOptionsTests
{
    private static ServingOptions Resolve(Dictionary<string, string?> settings)
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("CtrFallback");
        var services = new ServiceCollection();
        services.AddCtrFallback(section).AddChampionServing(section.GetSection("Serving"));
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<ServingOptions>>().Value;
    }

    [Fact]
    public void Serving_WithoutItsOwnModelName_FollowsTheModelTheTrainingBatchRegisters()
    {
        var options = Resolve(new() { ["CtrFallback:ModelName"] = "fallback-ctr", ["CtrFallback:ChampionAlias"] = "prod" });

        options.ModelName.Should().Be("fallback-ctr");
        options.Alias.Should().Be("prod");
    }

    [Fact]
    public void Serving_WithItsOwnModelName_KeepsIt()
    {
        var options = Resolve(new() { ["CtrFallback:ModelName"] = "fallback-ctr", ["CtrFallback:Serving:ModelName"] = "canary", ["CtrFallback:Serving:Alias"] = "challenger" });

        options.ModelName.Should().Be("canary");
        options.Alias.Should().Be("challenger");
    }

    [Fact]
    public void Serving_WithNothingConfigured_FollowsCtrChampion()
    {
        var options = Resolve([]);

        options.ModelName.Should().Be("ctr");
        options.Alias.Should().Be(ModelAliases.Champion);
    }
}
