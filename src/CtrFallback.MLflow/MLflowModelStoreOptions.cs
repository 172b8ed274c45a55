using System.ComponentModel.DataAnnotations;

namespace CtrFallback;

/// <summary>Where and how the MLflow model store reaches the MLflow tracking server and Model Registry.</summary>
/// <remarks>
/// Unset values fall back to MLflow's conventional environment variables: <c>MLFLOW_TRACKING_URI</c>,
/// <c>MLFLOW_TRACKING_TOKEN</c>, <c>MLFLOW_TRACKING_USERNAME</c> and <c>MLFLOW_TRACKING_PASSWORD</c>.
/// </remarks>
public sealed class MLflowModelStoreOptions : IValidatableObject
{
    /// <summary>The configuration section these options are conventionally bound from.</summary>
    public const string SectionName = "CtrFallback:MLflow";

    /// <summary>The tracking server's base address, for example <c>http://mlflow:5000</c>.</summary>
    /// <value>The default is the <c>MLFLOW_TRACKING_URI</c> environment variable; required.</value>
    [Required(ErrorMessage = "MLflow TrackingUri is required: set CtrFallback:MLflow:TrackingUri or MLFLOW_TRACKING_URI.")]
    public Uri? TrackingUri { get; set; }

    /// <summary>The experiment that registration runs are logged under; created when missing.</summary>
    /// <value>The default is <c>ctrfallback</c>.</value>
    [Required]
    public string ExperimentName { get; set; } = "ctrfallback";

    /// <summary>A bearer token sent as <c>Authorization: Bearer …</c>; takes precedence over user name and password.</summary>
    /// <value>The default is the <c>MLFLOW_TRACKING_TOKEN</c> environment variable, or none.</value>
    public string? Token { get; set; }

    /// <summary>The user name for HTTP Basic authentication.</summary>
    /// <value>The default is the <c>MLFLOW_TRACKING_USERNAME</c> environment variable, or none.</value>
    public string? Username { get; set; }

    /// <summary>The password for HTTP Basic authentication.</summary>
    /// <value>The default is the <c>MLFLOW_TRACKING_PASSWORD</c> environment variable, or none.</value>
    public string? Password { get; set; }

    /// <summary>How long one HTTP attempt may take before it is abandoned (and retried, if attempts remain).</summary>
    /// <value>The default is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times a call is retried after a transient failure (5xx, 429, 408, timeout, connection error); 0 disables retries.</summary>
    /// <value>The default is 3.</value>
    [Range(0, 20)]
    public int RetryCount { get; set; } = 3;

    /// <summary>The base delay of the exponential, jittered backoff between retries.</summary>
    /// <value>The default is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (TrackingUri is { } uri && (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            yield return new ValidationResult(
                $"MLflow TrackingUri '{uri}' must be an absolute http or https address.",
                [nameof(TrackingUri)]);
        }

        if (string.IsNullOrEmpty(Token) && (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(Password)))
        {
            yield return new ValidationResult(
                "MLflow Username and Password must be set together (or use Token).",
                [nameof(Username), nameof(Password)]);
        }
    }

    /// <summary>Fills unset values from MLflow's conventional environment variables.</summary>
    /// <param name="environment">Reads an environment variable; tests pass their own.</param>
    internal void ApplyEnvironmentFallbacks(Func<string, string?> environment)
    {
        if (TrackingUri is null && environment("MLFLOW_TRACKING_URI") is { Length: > 0 } uri)
        {
            // An unparsable value stays unset so that validation reports it as missing rather than throwing here.
            TrackingUri = Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? parsed : null;
        }

        if (string.IsNullOrEmpty(Token) && string.IsNullOrEmpty(Username))
        {
            Token = NullIfEmpty(environment("MLFLOW_TRACKING_TOKEN"));
            if (Token is null)
            {
                Username = NullIfEmpty(environment("MLFLOW_TRACKING_USERNAME"));
                Password ??= NullIfEmpty(environment("MLFLOW_TRACKING_PASSWORD"));
            }
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
