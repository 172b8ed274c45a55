using System.ComponentModel.DataAnnotations;

namespace CtrFallback;

/// <summary>What the training batch and the lifecycle commands work on.</summary>
public sealed class CtrFallbackOptions
{
    /// <summary>The registered model's name in the store.</summary>
    /// <value>The default is <c>ctr</c>.</value>
    [Required]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", ErrorMessage = "ModelName may hold letters, digits, '.', '_' and '-' (at most 100).")]
    public string ModelName { get; set; } = "ctr";

    /// <summary>The alias that points production at a version.</summary>
    /// <value>The default is <c>champion</c>.</value>
    [Required]
    public string ChampionAlias { get; set; } = ModelAliases.Champion;
}
