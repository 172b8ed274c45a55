using System.ComponentModel.DataAnnotations;

namespace CtrFallback.Store;

/// <summary>Where the file-system model store keeps its versions and aliases.</summary>
/// <remarks>
/// Bound from <see cref="SectionName"/> (<c>CtrFallback:Store</c>); the <c>Kind</c> key in the same section is read by
/// hosts to choose a store and is ignored here. Several processes (training batches, servers) may share one folder,
/// on a local disk or a file system with POSIX rename and lock semantics.
/// </remarks>
public sealed class FileModelStoreOptions : IValidatableObject
{
    /// <summary>The configuration section these options are conventionally bound from.</summary>
    public const string SectionName = "CtrFallback:Store";

    /// <summary>The store's root folder; a relative path is resolved against the current directory when the store starts.</summary>
    /// <value>The default is <c>ctrfallback-store</c>.</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "The file model store's Path is required: set CtrFallback:Store:Path.")]
    public string Path { get; set; } = "ctrfallback-store";

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(Path) && Path.AsSpan().IndexOfAny(System.IO.Path.GetInvalidPathChars()) >= 0)
        {
            yield return new ValidationResult(
                $"The file model store's Path '{Path}' contains characters that are not valid in a path.",
                [nameof(Path)]);
        }
    }
}
