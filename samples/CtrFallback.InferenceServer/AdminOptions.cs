using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace CtrFallback.InferenceServer;

/// <summary>Who may call the endpoints that change the server's state (<c>POST /model/reload</c>).</summary>
internal sealed class AdminOptions : IValidatableObject
{
    /// <summary>The configuration section, under <c>CtrFallback</c>.</summary>
    public const string SectionName = "Admin";

    /// <summary>The smallest bearer token accepted: shorter ones are guessable.</summary>
    public const int MinTokenLength = 16;

    /// <summary>How the admin endpoints are reached.</summary>
    /// <value>The default is <see cref="AdminAccess.Off"/>: not mapped at all (404).</value>
    public AdminAccess Access { get; set; } = AdminAccess.Off;

    /// <summary>The bearer token <see cref="AdminAccess.Token"/> requires (<c>Authorization: Bearer …</c>); from a secret, never from the repo.</summary>
    public string? Token { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Access == AdminAccess.Token && (Token is null || Token.Length < MinTokenLength))
        {
            yield return new ValidationResult(
                $"CtrFallback:Admin:Access is Token, so CtrFallback:Admin:Token must be set to a secret of at least {MinTokenLength} characters.",
                [nameof(Token)]);
        }
    }

    /// <summary>Whether a request may call an admin endpoint; loopback means the connection comes from this machine.</summary>
    public bool Allows(HttpContext context) => Access switch
    {
        AdminAccess.Loopback => context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address),
        AdminAccess.Token => HasToken(context.Request.Headers.Authorization.ToString()),
        _ => false,
    };

    private bool HasToken(string header)
    {
        const string scheme = "Bearer ";
        if (Token is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Constant-time: the comparison does not tell an attacker how much of a guess was right.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(Token));
    }
}

/// <summary>How the admin endpoints are reached.</summary>
internal enum AdminAccess
{
    /// <summary>Not mapped: <c>POST /model/reload</c> answers 404. The champion follower still polls the alias.</summary>
    Off,

    /// <summary>Only from a loopback address (a sidecar, <c>kubectl exec</c>, <c>kubectl port-forward</c> arrives as loopback).</summary>
    Loopback,

    /// <summary>From anywhere with <c>Authorization: Bearer &lt;CtrFallback:Admin:Token&gt;</c>.</summary>
    Token,
}
