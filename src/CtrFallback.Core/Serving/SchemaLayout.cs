namespace CtrFallback.Serving;

/// <summary>
/// Whether two schemas lay impressions out the same way: same numeric and categorical fields in the same order and
/// the same timestamp field. Hash bits and crosses may differ: they are the model's business, not the caller's.
/// </summary>
internal static class SchemaLayout
{
    /// <summary>Allocation-free comparison (no LINQ), so it may run on the hot path when schema instances differ.</summary>
    public static bool SameFields(FeatureSchema a, FeatureSchema b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        return SameList(a.NumericFields, b.NumericFields)
            && SameList(a.CategoricalFields, b.CategoricalFields)
            && (a.Timestamp is null ? b.Timestamp is null : b.Timestamp is not null && a.Timestamp.Field == b.Timestamp.Field && a.Timestamp.Format == b.Timestamp.Format);
    }

    /// <summary>Describes the first difference, for logs and exceptions.</summary>
    public static string Difference(FeatureSchema expected, FeatureSchema actual)
    {
        if (!SameList(expected.NumericFields, actual.NumericFields))
        {
            return $"numeric fields [{string.Join(",", actual.NumericFields)}] where [{string.Join(",", expected.NumericFields)}] are served";
        }

        if (!SameList(expected.CategoricalFields, actual.CategoricalFields))
        {
            return $"categorical fields [{string.Join(",", actual.CategoricalFields)}] where [{string.Join(",", expected.CategoricalFields)}] are served";
        }

        return $"timestamp field '{actual.Timestamp}' where '{expected.Timestamp}' is served";
    }

    private static bool SameList(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
