using System.Text.Json.Serialization;

namespace CtrFallback;

/// <summary>
/// The fields a model reads from an impression and how they are featurized: the contract shared by training and serving.
/// </summary>
/// <param name="NumericFields">Names of the numeric (count) fields, in order.</param>
/// <param name="CategoricalFields">Names of the categorical fields, in order.</param>
/// <param name="Crosses">Pairs (or triples) of categorical fields whose values are hashed together as one feature.</param>
/// <param name="HashBits">The hashed feature space has 2^<paramref name="HashBits"/> weights.</param>
/// <param name="Timestamp">An optional timestamp field from which hour-of-day and day-of-week features are derived.</param>
public sealed record FeatureSchema(
    IReadOnlyList<string> NumericFields,
    IReadOnlyList<string> CategoricalFields,
    IReadOnlyList<FieldCross> Crosses,
    int HashBits,
    TimestampField? Timestamp = null)
{
    /// <summary>The smallest supported number of hash bits.</summary>
    public const int MinHashBits = 10;

    /// <summary>The largest supported number of hash bits.</summary>
    public const int MaxHashBits = 28;

    /// <summary>Every field an impression may carry: numeric fields, categorical fields, then the timestamp field if any.</summary>
    public IEnumerable<string> AllFields =>
        Timestamp is null
            ? NumericFields.Concat(CategoricalFields)
            : NumericFields.Concat(CategoricalFields).Append(Timestamp.Field);
}

/// <summary>Two or three categorical fields hashed together as one feature (for example <c>site^creative</c>).</summary>
/// <param name="First">The first field's name.</param>
/// <param name="Second">The second field's name.</param>
public sealed record FieldCross(string First, string Second)
{
    /// <summary>A cross of three fields (a triple): their values hashed together as one feature.</summary>
    /// <param name="First">The first field's name.</param>
    /// <param name="Second">The second field's name.</param>
    /// <param name="Third">The third field's name; <see langword="null"/> makes a pair.</param>
    /// <remarks>The constructor JSON reads with: artifacts written before triples have no <c>third</c>, and read as pairs.</remarks>
    [JsonConstructor]
    public FieldCross(string First, string Second, string? Third)
        : this(First, Second)
    {
        this.Third = Third;
    }

    /// <summary>The third field's name for a triple; <see langword="null"/> for a pair.</summary>
    /// <remarks>Left out of JSON when null, so a pair's record (in artifacts written before triples) reads and writes as before.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Third { get; init; }

    /// <summary>The crossed fields in order: two for a pair, three for a triple.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Fields => Third is null ? [First, Second] : [First, Second, Third];

    /// <inheritdoc />
    public override string ToString() => Third is null ? $"{First}x{Second}" : $"{First}x{Second}x{Third}";
}

/// <summary>A timestamp field and its text format.</summary>
/// <param name="Field">The field's name.</param>
/// <param name="Format">A .NET custom date format such as <c>yyMMddHH</c>, or <c>unix</c> for seconds since the epoch.</param>
public sealed record TimestampField(string Field, string Format);
