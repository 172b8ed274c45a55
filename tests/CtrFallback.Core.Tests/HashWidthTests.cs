using CtrFallback.Features;

namespace CtrFallback.Tests;

public sealed class HashWidthTests
{
    [Theory]
    [InlineData(1_000_000, 0.1, 64L << 20, 24)] // 23 bits: 11.2% collide; 24: 5.8%
    [InlineData(1_000_000, 0.1, 4L << 20, 20)] // the budget holds 2^20 weights
    [InlineData(1_000_000, 0.5, 64L << 20, 21)] // 20 bits: 61%; 21: 38%
    [InlineData(100, 0.1, 64L << 20, 10)] // even the smallest space is nearly collision-free
    public void Choose_TakesTheFewestBitsUnderTheTarget_OrTheMostTheBudgetAffords(long distinct, double target, long budget, int expected)
    {
        HashWidth.Choose(distinct, target, budget).Should().Be(expected);
    }

    [Fact]
    public void CollidingShare_IsTheChanceAFeatureSharesItsSlot()
    {
        HashWidth.CollidingShare(20, 1).Should().Be(0);
        HashWidth.CollidingShare(20, 1_000_000).Should().BeApproximately(1 - Math.Pow(1 - Math.Pow(2, -20), 999_999), 1e-9);
        HashWidth.WeightBytes(24).Should().Be(64L << 20);
    }
}
