using CtrFallback.Data;
namespace CtrFallback.Tests;

public sealed class ClickLogSchemaTests
{
    [Fact]
    public void Parse_FullDocument_ReadsEveryKey()
    {
        var schema = ClickLogSchema.Parse("""
            {
              "separator": ",", "hasHeader": false,
              "columns": ["ts", "clicked", "site", "device", "price", "junk"],
              "label": "clicked", "numeric": ["price"], "categorical": ["site", "device"], "ignore": ["junk"],
              "timestamp": { "column": "ts", "format": "unix" },
              "crosses": [["site", "device"]], "hashBits": 18
            }
            """);

        schema.Separator.Should().Be(',');
        schema.Label.Should().Be("clicked");
        schema.Crosses.Should().Equal(new FieldCross("site", "device"));
        schema.Timestamp.Should().Be(new TimestampField("ts", "unix"));
        schema.HashBits.Should().Be(18);
        schema.ToFeatureSchema().AllFields.Should().Equal("price", "site", "device", "ts");
    }

    [Fact]
    public void Parse_PairsAndTriples_ReadBackFromToJson_AsTheSameCrosses()
    {
        var schema = ClickLogSchema.Parse("""
            {
              "hasHeader": true, "label": "clicked", "categorical": ["site", "device", "app"],
              "crosses": [["site", "device"], ["site", "device", "app"]]
            }
            """);

        var read = ClickLogSchema.Parse(schema.ToJson());

        schema.Crosses.Should().Equal(new FieldCross("site", "device"), new FieldCross("site", "device", "app"));
        schema.Crosses[1].Third.Should().Be("app");
        schema.Crosses[1].ToString().Should().Be("sitexdevicexapp");
        schema.Crosses[0].Third.Should().BeNull();
        read.Crosses.Should().Equal(schema.Crosses);
        using var document = System.Text.Json.JsonDocument.Parse(schema.ToJson());
        document.RootElement.GetProperty("crosses")[1].EnumerateArray().Select(e => e.GetString()).Should().Equal("site", "device", "app");
    }

    [Theory]
    [InlineData("criteo")]
    [InlineData("avazu")]
    public void ToJson_ReadsBackAsTheSameSchema_WithEvidenceKeptOutOfTheSchema(string preset)
    {
        var schema = ClickLogSchema.FromPreset(preset) with { HashBits = 23 };

        var json = schema.ToJson(w => w.WriteStringValue("why"));
        var read = ClickLogSchema.Parse(json);

        json.Should().Contain("\"evidence\": \"why\"");
        read.Separator.Should().Be(schema.Separator);
        read.HasHeader.Should().Be(schema.HasHeader);
        (read.Columns ?? []).Should().Equal(schema.Columns ?? []);
        read.Label.Should().Be(schema.Label);
        read.Numeric.Should().Equal(schema.Numeric);
        read.Categorical.Should().Equal(schema.Categorical);
        read.Ignore.Should().Equal(schema.Ignore);
        read.Timestamp.Should().Be(schema.Timestamp);
        read.Crosses.Should().Equal(schema.Crosses);
        read.HashBits.Should().Be(23);
        read.ToJson().Should().Be(schema.ToJson(), "the same schema writes the same bytes");
    }

    [Theory]
    [InlineData("""{ "separator": ",", "hasHeader": true, "categorical": ["a"] }""", "*'label' is required*")]
    [InlineData("""{ "hasHeader": false, "label": "y", "categorical": ["a"] }""", "*'columns' must list*")]
    [InlineData("""{ "hasHeader": false, "columns": ["y", "a"], "label": "y", "categorical": ["a", "b"] }""", "*unknown column 'b'*")]
    [InlineData("""{ "hasHeader": true, "label": "y", "categorical": ["a"], "crosses": [["a", "z"]] }""", "*cross 'axz' names 'z'*")]
    [InlineData("""{ "hasHeader": true, "label": "y", "categorical": ["a", "b"], "crosses": [["a", "b", "z"]] }""", "*cross 'axbxz' names 'z'*")]
    [InlineData("""{ "hasHeader": true, "label": "y", "categorical": ["a", "b", "c", "d"], "crosses": [["a", "b", "c", "d"]] }""", "*pair or a triple*got [a, b, c, d]*")]
    [InlineData("""{ "hasHeader": true, "label": "y", "categorical": ["a"], "crosses": [["a"]] }""", "*pair or a triple*got [a]*")]
    [InlineData("""{ "hasHeader": true, "label": "y", "categorical": ["a"], "hashBits": 40 }""", "*'hashBits' must be between*")]
    [InlineData("""{ "hasHeader": true, "label": "y", "categorical": ["a"], "colums": [] }""", "*not a valid schema*colums*")]
    [InlineData("""{ "hasHeader": true, "label": "y" }""", "*no feature columns*")]
    public void Parse_InvalidDocument_FailsWithAClearMessage(string json, string expected)
    {
        var act = () => ClickLogSchema.Parse(json, "my-schema.json");

        act.Should().Throw<ClickLogSchemaException>().WithMessage(expected).Which.Message.Should().StartWith("my-schema.json");
    }

    [Fact]
    public void FromPreset_UnknownName_ListsTheChoices()
    {
        var act = () => ClickLogSchema.FromPreset("kaggle");

        act.Should().Throw<ClickLogSchemaException>().WithMessage("*'criteo', 'avazu'*");
    }
}
