using System.IO.Compression;
using System.Text.Json.Nodes;
using CtrFallback.Features;
using CtrFallback.Serving;
using CtrFallback.Training;
using CtrFallback.Data;

namespace CtrFallback.Tests;

/// <summary>Artifacts are scored with the hashing they were trained with: version 1 (half-log buckets) still loads.</summary>
public sealed class FeatureHasherVersionTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    [Fact]
    public void Hashers_OfVersionsOneAndTwo_DifferOnlyInThePresentNumericTokens()
    {
        var schema = ClickLogSchema.Criteo.ToFeatureSchema();
        var v1 = new FeatureHasher(schema, version: 1);
        var v2 = new FeatureHasher(schema);
        var numeric = Enumerable.Range(0, 13).Select(i => i % 3 == 0 ? double.NaN : i * 7.0).ToArray();
        var hashes = Enumerable.Range(0, 26).Select(i => v1.HashCategorical(i, $"v{i}")).ToArray();
        var (i1, d1) = (new int[v1.HashedCount], new float[13]);
        var (i2, d2) = (new int[v2.HashedCount], new float[13]);

        v1.Featurize(numeric, hashes, null, i1, d1);
        v2.Featurize(numeric, hashes, null, i2, d2);

        i2[..29].Should().Equal(i1[..29], "categoricals and crosses hash the same");
        d2.Should().Equal(d1, "dense numerics are the same");
        for (var f = 0; f < 13; f++)
        {
            if (double.IsNaN(numeric[f]))
            {
                i2[29 + f].Should().Be(i1[29 + f], "missing has one token in both versions");
            }
            else
            {
                i2[29 + f].Should().NotBe(i1[29 + f]);
            }
        }

        // Version 2's present token does not depend on the value: only missing or present.
        var other = numeric.Select(x => double.IsNaN(x) ? x : x + 100).ToArray();
        var i3 = new int[v2.HashedCount];
        v2.Featurize(other, hashes, null, i3, d2);
        i3.Should().Equal(i2);
    }

    [Fact]
    public void Load_OfAVersionOneArtifact_ScoresWithHalfLogBuckets_AndAnUnknownVersionIsRefused()
    {
        fixture.Result.Parameters.Should().ContainKey("featurizer.hashBits");
        using (var current = CtrModel.Load(fixture.Result.Artifact))
        {
            current.Hasher.HasherVersion.Should().Be(FeatureHasher.Version);
        }

        using (var old = CtrModel.Load(WithHasherVersion(fixture.Result.Artifact, 1)))
        {
            old.Hasher.HasherVersion.Should().Be(1);
        }

        var act = () => CtrModel.Load(WithHasherVersion(fixture.Result.Artifact, FeatureHasher.Version + 1));
        act.Should().Throw<InvalidDataException>().WithMessage($"*hasher version {FeatureHasher.Version + 1}*scores versions 1 to {FeatureHasher.Version}*");
    }

    private static byte[] WithHasherVersion(byte[] artifact, int version)
    {
        using var output = new MemoryStream();
        output.Write(artifact);
        using (var zip = new ZipArchive(output, ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = zip.GetEntry(ModelArtifact.MetadataEntry)!;
            JsonNode metadata;
            using (var stream = entry.Open())
            {
                metadata = JsonNode.Parse(stream)!;
            }

            metadata["hasherVersion"] = version;
            entry.Delete();
            using var rewritten = zip.CreateEntry(ModelArtifact.MetadataEntry).Open();
            rewritten.Write(System.Text.Encoding.UTF8.GetBytes(metadata.ToJsonString()));
        }

        return output.ToArray();
    }
}
