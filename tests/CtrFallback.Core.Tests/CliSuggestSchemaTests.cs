using System.Text.Json;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>The `ctrfallback` CLI from a generated log with planted crosses to a suggested schema file that `train` reads.</summary>
public sealed class CliSuggestSchemaTests : IDisposable
{
    private static readonly string Cli = CliProcess.PathFrom(typeof(CliSuggestSchemaTests).Assembly);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task GenerateWithCrosses_ThenAnalyzeSuggestSchema_WritesASchemaWithThePlantedCrossesThatTrainReads()
    {
        var log = _dir.File("planted.tsv");
        var schema = _dir.File("suggested.json");

        var generate = await RunAsync("generate", "--rows", "100000", "--seed", "7", "--crosses", "C2:C17,C5:C23", "--out", log);
        var analyze = await RunAsync("analyze", "--data", log, "--suggest-schema", schema, "--memory-budget-mb", "8");

        generate.ExitCode.Should().Be(0, generate.Output);
        analyze.ExitCode.Should().Be(0, analyze.Output);
        analyze.Output.Should().Contain($"wrote {schema}: 2 cross(es) added");
        var suggested = ClickLogSchema.Load(schema);
        suggested.Crosses.Should().Equal([.. ClickLogSchema.Criteo.Crosses, new FieldCross("C2", "C17"), new FieldCross("C5", "C23")]);
        suggested.HashBits.Should().BeLessThanOrEqualTo(21, "8 MiB holds 2^21 weights");
        using (var document = JsonDocument.Parse(File.ReadAllText(schema)))
        {
            document.RootElement.GetProperty("evidence").GetProperty("hashBits").GetProperty("memoryBudgetBytes").GetInt64().Should().Be(8L << 20);
        }

        var train = await RunAsync("train", "--data", log, "--schema", schema, "--store", _dir.File("store"), "--json");
        train.ExitCode.Should().Be(0, train.Output);
        train.Output.Should().Contain("C2xC17").And.Contain("C5xC23");
    }

    [Fact]
    public async Task TrainFeaturesAuto_RegistersTheCrossesItChoseOnTheTrainingRows()
    {
        var log = _dir.File("planted.tsv");
        SyntheticClickLog.Write(log, new SyntheticClickLogOptions { Rows = 60_000, Seed = 7, Crosses = [new FieldCross("C2", "C17")] });

        var (exitCode, output) = await RunAsync("train", "--data", log, "--features", "auto", "--store", _dir.File("store"), "--json");

        exitCode.Should().Be(0, output);
        output.Should().Contain("\"features\": \"Auto\"").And.Contain("\"features.addedCrosses\": \"C2xC17 (NE gain");
        output.Should().Contain("\"featurizer.crosses\": \"C6xC14,C2xC11,C17xC20,C2xC17");
    }

    [Fact]
    public async Task Train_WithAnUnknownFeaturesValue_ExitsTwoNamingTheChoices()
    {
        var (exitCode, output) = await RunAsync("train", "--data", "x.tsv", "--features", "magic");

        exitCode.Should().Be(2, output);
        output.Should().Contain("--features must be schema or auto, got 'magic'");
    }

    [Fact]
    public async Task Generate_WithACrossOfAnUnknownField_ExitsTwoNamingTheFlag()
    {
        var (exitCode, output) = await RunAsync("generate", "--rows", "10", "--crosses", "C2:C99", "--out", _dir.File("x.tsv"));

        exitCode.Should().Be(2, output);
        output.Should().Contain("--crosses").And.Contain("'C99'");
        File.Exists(_dir.File("x.tsv")).Should().BeFalse("nothing is written for a bad knob");
    }

    [Fact]
    public async Task Generate_WithATriple_WritesTheLogTheOptionsGive_AndABadTripleExitsTwo()
    {
        var log = _dir.File("triple.tsv");

        var (exitCode, output) = await RunAsync("generate", "--rows", "500", "--seed", "3", "--crosses", "C2:C17,C9:C14:C23", "--out", log);
        var bad = await RunAsync("generate", "--rows", "10", "--crosses", "C2:C17:C2:C9", "--out", _dir.File("x.tsv"));

        exitCode.Should().Be(0, output);
        var expected = SyntheticClickLog.Generate(new SyntheticClickLogOptions { Rows = 500, Seed = 3, Crosses = [new FieldCross("C2", "C17"), new FieldCross("C9", "C14", "C23")] });
        File.ReadAllLines(log).Should().Equal(expected.Select(i => i.Line));
        bad.ExitCode.Should().Be(2, bad.Output);
        bad.Output.Should().Contain("--crosses takes pairs or triples").And.Contain("'C2:C17:C2:C9'");
    }

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] args) => CliProcess.RunAsync(Cli, args, TimeSpan.FromMinutes(3));
}
