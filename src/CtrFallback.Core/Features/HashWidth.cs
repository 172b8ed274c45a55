namespace CtrFallback.Features;

/// <summary>
/// The hash space from evidence: the expected share of distinct features that share a weight, against the memory the
/// weights may take. One rule for the analysis's suggestion and for training's automatic features.
/// </summary>
internal static class HashWidth
{
    /// <summary>A linear model's weight is a float.</summary>
    public const int BytesPerWeight = sizeof(float);

    /// <summary>Expected share of <paramref name="distinctFeatures"/> that share one of 2^<paramref name="bits"/> slots with another: 1 − (1 − 2^−b)^(D−1).</summary>
    public static double CollidingShare(int bits, long distinctFeatures) =>
        distinctFeatures <= 1 ? 0 : -double.ExpM1((distinctFeatures - 1) * Math.Log(1 - Math.ScaleB(1, -bits)));

    /// <summary>Bytes the weights of a 2^<paramref name="bits"/> space take.</summary>
    public static long WeightBytes(int bits) => (1L << bits) * BytesPerWeight;

    /// <summary>
    /// The fewest bits whose colliding share is at most <paramref name="maxCollidingShare"/>; when the memory budget
    /// does not reach that, the most bits it affords (never fewer than <see cref="FeatureSchema.MinHashBits"/>).
    /// </summary>
    public static int Choose(long distinctFeatures, double maxCollidingShare, long memoryBudgetBytes)
    {
        var affordable = FeatureSchema.MinHashBits;
        for (var bits = FeatureSchema.MinHashBits; bits <= FeatureSchema.MaxHashBits && WeightBytes(bits) <= memoryBudgetBytes; bits++)
        {
            affordable = bits;
            if (CollidingShare(bits, distinctFeatures) <= maxCollidingShare)
            {
                return bits;
            }
        }

        return affordable;
    }
}
