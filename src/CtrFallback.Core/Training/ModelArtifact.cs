using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;

namespace CtrFallback.Training;

/// <summary>
/// The model artifact: one zip that a store keeps as bytes and a server loads with nothing else,
/// holding the ML.NET model (<c>model.zip</c>) and its metadata (<c>ctrfallback.json</c>).
/// </summary>
internal static class ModelArtifact
{
    public const string ModelEntry = "model.zip";
    public const string MetadataEntry = "ctrfallback.json";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static byte[] Create(MLContext ml, ITransformer model, DataViewSchema inputSchema, ArtifactMetadata metadata) =>
        Create(SaveModel(ml, model, inputSchema), metadata);

    /// <summary>The ML.NET model as ML.NET saves it (the slow part of an artifact, which can be made while other work goes on).</summary>
    public static byte[] SaveModel(MLContext ml, ITransformer model, DataViewSchema inputSchema)
    {
        using var stream = new MemoryStream();
        ml.Model.Save(model, inputSchema, stream);
        return stream.ToArray();
    }

    public static byte[] Create(byte[] savedModel, ArtifactMetadata metadata)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            // ML.NET compresses its own model zip: compressing it again costs time and saves nothing.
            using (var entry = zip.CreateEntry(ModelEntry, CompressionLevel.NoCompression).Open())
            {
                entry.Write(savedModel);
            }

            using var meta = zip.CreateEntry(MetadataEntry, CompressionLevel.Fastest).Open();
            JsonSerializer.Serialize(meta, metadata, Json);
        }

        return output.ToArray();
    }

    public static ArtifactMetadata ReadMetadata(ReadOnlySpan<byte> artifact)
    {
        using var zip = Open(artifact.ToArray());
        return ReadMetadata(zip);
    }

    public static (ITransformer Model, DataViewSchema InputSchema, ArtifactMetadata Metadata) Load(MLContext ml, byte[] artifact)
    {
        using var zip = Open(artifact);
        var metadata = ReadMetadata(zip);

        // Before ML.NET looks for the model's loader: a tree artifact without its package gets an error that names it.
        if (metadata.RawFieldTrainer is { } family)
        {
            RawFieldModelFamilies.Require(family);
        }

        var entry = zip.GetEntry(ModelEntry) ?? throw new InvalidDataException($"The model artifact has no '{ModelEntry}'.");
        using var model = new MemoryStream();
        using (var stream = entry.Open())
        {
            stream.CopyTo(model);
        }

        model.Position = 0;
        var transformer = ml.Model.Load(model, out var inputSchema);
        return (transformer, inputSchema, metadata);
    }

    private static ZipArchive Open(byte[] artifact)
    {
        try
        {
            return new ZipArchive(new MemoryStream(artifact, writable: false), ZipArchiveMode.Read);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException("The model artifact is not a CtrFallback model (not a zip archive).", ex);
        }
    }

    private static ArtifactMetadata ReadMetadata(ZipArchive zip)
    {
        var entry = zip.GetEntry(MetadataEntry) ?? throw new InvalidDataException($"The model artifact has no '{MetadataEntry}'.");
        using var stream = entry.Open();
        var metadata = JsonSerializer.Deserialize<ArtifactMetadata>(stream, Json)
            ?? throw new InvalidDataException($"The model artifact's '{MetadataEntry}' is empty.");
        if (metadata.HasherVersion is < Features.FeatureHasher.OldestVersion or > Features.FeatureHasher.Version)
        {
            throw new InvalidDataException(
                $"The model artifact was featurized with hasher version {metadata.HasherVersion}; this library scores versions {Features.FeatureHasher.OldestVersion} to {Features.FeatureHasher.Version}.");
        }

        metadata.Profile?.Validate(metadata.Schema);
        return metadata;
    }
}

/// <summary>What the artifact says about its model: schema and featurizer settings, trainer settings, metrics, provenance.</summary>
internal sealed record ArtifactMetadata
{
    public int FormatVersion { get; init; } = 1;

    public int HasherVersion { get; init; } = Features.FeatureHasher.Version;

    public required FeatureSchema Schema { get; init; }

    public required IReadOnlyList<float> NumericScales { get; init; }

    /// <summary>Share of training negatives kept; predictions are corrected with q = p / (p + (1 - p) / w).</summary>
    public double NegativeSampleRate { get; init; } = 1;

    public required string Trainer { get; init; }

    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    public ModelMetrics? Metrics { get; init; }

    public string? DataFingerprint { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public long TrainingRows { get; init; }

    /// <summary>
    /// For a raw-field model (trees), each categorical field's vocabulary in code order (see
    /// <see cref="Features.RawFieldFeaturizer"/>); <see langword="null"/> for a hashed linear model.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>>? Vocabulary { get; init; }

    /// <summary>A value joined its field's vocabulary when seen at least this often in the training rows.</summary>
    public int VocabularyMinCount { get; init; }

    /// <summary>
    /// The training data's profile (holdout score bins and CTR, per-field missing shares and frequent values), which
    /// serving measures drift against; <see langword="null"/> in artifacts made before profiles existed (they still
    /// load and serve, without drift).
    /// </summary>
    public TrainingProfile? Profile { get; init; }

    /// <summary>The raw-field family that scores this model, or <see langword="null"/> for a hashed linear model.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CtrTrainerKind? RawFieldTrainer =>
        Vocabulary is null ? null
        : Enum.TryParse<CtrTrainerKind>(Trainer, out var kind) ? kind
        : throw new InvalidDataException($"The model artifact's trainer '{Trainer}' is not one this library knows.");
}
