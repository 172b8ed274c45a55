using System.IO.Compression;
using System.Text.Json.Nodes;
using CtrFallback.Training;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>Two small models trained on two different generated logs (20k rows each), plus artifacts broken on purpose.</summary>
public sealed class ServingModelFixture : IDisposable
{
    public const int Rows = 20_000;

    public ServingModelFixture()
    {
        Directory = new TempDirectory();
        LogPath = Directory.File("serving-a.tsv");
        SyntheticClickLog.Write(LogPath, new SyntheticClickLogOptions { Rows = Rows, Seed = 3 });
        var otherLog = Directory.File("serving-b.tsv");
        SyntheticClickLog.Write(otherLog, new SyntheticClickLogOptions { Rows = Rows, Seed = 4 });
        First = TrainedModelFixture.Train(Training, LogPath).Artifact;
        Second = TrainedModelFixture.Train(Training, otherLog).Artifact;
        RenamedField = WithFirstCategoricalRenamed(First, "X1");
    }

    public static TrainingOptions Training => new() { L2Regularization = 3e-4f };

    public TempDirectory Directory { get; }

    public string LogPath { get; }

    /// <summary>A model trained on the first log.</summary>
    public byte[] First { get; }

    /// <summary>A model trained on the second log: different weights, same schema.</summary>
    public byte[] Second { get; }

    /// <summary>The first model with its first categorical field renamed: loads and scores, but lays impressions out differently.</summary>
    public byte[] RenamedField { get; }

    /// <summary>Bytes that are no model artifact at all.</summary>
    public static byte[] Garbage => "this is not a zip archive, let alone a model"u8.ToArray();

    /// <summary>The first <paramref name="count"/> rows of the first log as impressions laid out by <paramref name="schema"/>.</summary>
    public Impression[] Impressions(FeatureSchema schema, int count)
    {
        var columns = ClickLogSchema.Criteo.Columns!;
        return File.ReadLines(LogPath).Take(count).Select(line =>
        {
            var fields = line.Split('\t');
            var impression = new Impression(schema);
            impression.SetAll(columns, fields);

            return impression;
        }).ToArray();
    }

    public void Dispose() => Directory.Dispose();

    private static byte[] WithFirstCategoricalRenamed(byte[] artifact, string name) =>
        WithMetadata(artifact, json => json["schema"]!["categoricalFields"]![0] = name);

    /// <summary>The artifact with its metadata entry edited, every other entry copied as it is.</summary>
    internal static byte[] WithMetadata(byte[] artifact, Action<JsonObject> edit)
    {
        using var input = new ZipArchive(new MemoryStream(artifact), ZipArchiveMode.Read);
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in input.Entries)
            {
                using var source = entry.Open();
                using var target = zip.CreateEntry(entry.FullName).Open();
                if (entry.FullName == ModelArtifact.MetadataEntry)
                {
                    var json = JsonNode.Parse(source)!.AsObject();
                    edit(json);
                    using var writer = new System.Text.Json.Utf8JsonWriter(target);
                    json.WriteTo(writer);
                }
                else
                {
                    source.CopyTo(target);
                }
            }
        }

        return output.ToArray();
    }
}
