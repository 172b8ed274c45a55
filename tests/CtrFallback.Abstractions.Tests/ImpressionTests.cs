namespace CtrFallback.Tests;

public sealed class ImpressionTests
{
    private static readonly FeatureSchema Schema = new(
        ["I1", "I2"], ["C1", "C2"], [new FieldCross("C1", "C2")], 16, new TimestampField("hour", "yyMMddHH"));

    [Fact]
    public void Set_ByName_ParsesNumericCategoricalAndTimestamp()
    {
        var impression = new Impression(Schema);

        impression.Set("I2", "-3").Should().BeTrue();
        impression.Set("C1", "68fd1e64").Should().BeTrue();
        impression.Set("hour", "14102915").Should().BeTrue();
        impression.Set("unknown", "x").Should().BeFalse();

        impression.Numeric[1].Should().Be(-3);
        double.IsNaN(impression.Numeric[0]).Should().BeTrue("I1 was never set, so it is missing");
        impression.Categorical[0].Should().Be("68fd1e64");
        impression.Timestamp.Should().Be(new DateTimeOffset(2014, 10, 29, 15, 0, 0, TimeSpan.Zero));
        impression.IsNumericSet(1).Should().BeTrue();
        impression.IsNumericSet(0).Should().BeFalse();
        impression.IsCategoricalSet(0).Should().BeTrue();
    }

    [Fact]
    public void SetAll_ALogRow_SetsKnownFieldsAndIgnoresTheLabelColumn()
    {
        var impression = new Impression(Schema);

        impression.SetAll(["label", "I1", "I2", "C1", "C2", "hour"], ["1", "7", "", "ab", "cd", "14102915"]);

        impression.Numeric[0].Should().Be(7);
        double.IsNaN(impression.Numeric[1]).Should().BeTrue("an empty value is missing");
        impression.IsNumericSet(1).Should().BeTrue();
        impression.Categorical.ToArray().Should().Equal("ab", "cd");
        impression.Timestamp.Should().Be(new DateTimeOffset(2014, 10, 29, 15, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public void Clear_UnsetsEveryField()
    {
        var impression = new Impression(Schema);
        impression.SetNumeric(0, 4);
        impression.SetCategorical(1, "a");

        impression.Clear();

        impression.IsNumericSet(0).Should().BeFalse();
        impression.IsCategoricalSet(1).Should().BeFalse();
        impression.Categorical[1].Should().BeNull();
        impression.Timestamp.Should().BeNull();
    }

    [Fact]
    public void Set_WithUnparsableNumber_ThrowsFormatException()
    {
        var impression = new Impression(Schema);

        var act = () => impression.Set("I1", "twelve");

        act.Should().Throw<FormatException>().WithMessage("*'I1'*twelve*");
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("Infinity")]
    [InlineData("NaN")]
    public void Set_WithANonFiniteNumber_ThrowsNamingTheField(string text)
    {
        var impression = new Impression(Schema);

        var act = () => impression.Set("I2", text);

        act.Should().Throw<FormatException>().WithMessage("*'I2'*finite*");
        impression.IsNumericSet(1).Should().BeFalse();
    }

    [Fact]
    public void SetNumeric_WithInfinity_Throws_AndNaNStillMeansMissing()
    {
        var impression = new Impression(Schema);

        var act = () => impression.SetNumeric(0, double.PositiveInfinity);
        impression.SetNumeric(1, double.NaN);

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*'I1'*finite*");
        impression.IsNumericSet(0).Should().BeFalse();
        impression.IsNumericSet(1).Should().BeTrue();
        double.IsNaN(impression.Numeric[1]).Should().BeTrue();
    }

    [Fact]
    public void GateDecision_PassesOnlyWhenEveryCriterionPasses()
    {
        var passing = new GateDecision([new GateCriterionResult("min-auc", true, "AUC 0.77 >= 0.70")]);
        var failing = passing with { Criteria = [.. passing.Criteria, new GateCriterionResult("calibration", false, "calibration 1.4 outside [0.9, 1.1]")] };

        passing.Passed.Should().BeTrue();
        failing.Passed.Should().BeFalse();
        failing.Reasons.Should().HaveCount(2);
    }

    [Fact]
    public void ModelMetrics_RoundTripsThroughDictionary()
    {
        var metrics = new ModelMetrics(0.77, 0.41, 0.84, 1.01, 100_000, 19_431);

        ModelMetrics.FromDictionary(metrics.ToDictionary()).Should().Be(metrics);
        ModelMetrics.FromDictionary(new Dictionary<string, double> { ["auc"] = 0.7 }).Should().BeNull();
    }
}
