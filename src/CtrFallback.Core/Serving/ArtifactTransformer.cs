using System.IO.Compression;
using CtrFallback.Training;
using Microsoft.ML;

namespace CtrFallback.Serving;

/// <summary>Loads a transformer from either a CtrFallback model artifact or a plain ML.NET model zip.</summary>
internal static class ArtifactTransformer
{
    public static ITransformer Load(MLContext ml, byte[] bytes)
    {
        if (IsCtrFallbackArtifact(bytes))
        {
            return ModelArtifact.Load(ml, bytes).Model;
        }

        using var stream = new MemoryStream(bytes, writable: false);
        return ml.Model.Load(stream, out _);
    }

    private static bool IsCtrFallbackArtifact(byte[] bytes)
    {
        try
        {
            using var zip = new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
            return zip.GetEntry(ModelArtifact.MetadataEntry) is not null && zip.GetEntry(ModelArtifact.ModelEntry) is not null;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
