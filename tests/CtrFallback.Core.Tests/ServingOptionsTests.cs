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
    public void Drift_BindsFromItsSection_AndDefaultsToOnSampling1In64Over10000()
    {
        var defaults = Resolve([]).Drift;
        var bound = Resolve(new() { ["CtrFallback:Serving:Drift:Enabled"] = "false", ["CtrFallback:Serving:Drift:SampleEvery"] = "16", ["CtrFallback:Serving:Drift:Window"] = "5000" }).Drift;

        (defaults.Enabled, defaults.SampleEvery, defaults.Window).Should().Be((true, 64, 10_000));
        (bound.Enabled, bound.SampleEvery, bound.Window).Should().Be((false, 16, 5_000));
    }

    [Theory]
    [InlineData("SampleEvery", "0")]
    [InlineData("Window", "10")]
    public void Drift_OutOfRange_FailsAtStartWithAMessageNamingTheSection(string key, string value)
    {
        var act = () => Resolve(new() { [$"CtrFallback:Serving:Drift:{key}"] = value });

        act.Should().Throw<OptionsValidationException>().WithMessage("*CtrFallback:Serving:Drift*SampleEvery*Window*");
    }

    [Fact]
    public void Serving_WithNothingConfigured_FollowsCtrChampion()
    {
        var options = Resolve([]);

        options.ModelName.Should().Be("ctr");
        options.Alias.Should().Be(ModelAliases.Champion);
    }
}
