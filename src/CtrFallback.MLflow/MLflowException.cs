using System.Net;

namespace CtrFallback;

/// <summary>An MLflow REST call failed; the message names the call, the HTTP status and MLflow's <c>error_code</c>.</summary>
/// <remarks>Public so that callers can branch on <see cref="ErrorCode"/>; it is still a <see cref="ModelStoreException"/>.</remarks>
public sealed class MLflowException : ModelStoreException
{
    /// <summary>Creates the exception.</summary>
    public MLflowException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public MLflowException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public MLflowException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a failed call.</summary>
    /// <param name="call">The call, for example <c>POST registered-models/alias</c>.</param>
    /// <param name="statusCode">The HTTP status the server answered.</param>
    /// <param name="errorCode">MLflow's <c>error_code</c>, or <see langword="null"/> when the answer was not MLflow JSON.</param>
    /// <param name="serverMessage">MLflow's <c>message</c>, or the start of the body.</param>
    public MLflowException(string call, HttpStatusCode statusCode, string? errorCode, string? serverMessage)
        : base(Describe(call, statusCode, errorCode, serverMessage))
    {
        Call = call;
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    /// <summary>The call that failed, for example <c>POST registered-models/alias</c>.</summary>
    public string? Call { get; }

    /// <summary>The HTTP status the server answered.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>MLflow's <c>error_code</c> (for example <c>RESOURCE_DOES_NOT_EXIST</c>), or <see langword="null"/> when the answer was not MLflow JSON.</summary>
    public string? ErrorCode { get; }

    private static string Describe(string call, HttpStatusCode statusCode, string? errorCode, string? serverMessage)
    {
        var meaning = errorCode switch
        {
            "RESOURCE_DOES_NOT_EXIST" => "it does not exist",
            "RESOURCE_ALREADY_EXISTS" => "it already exists",
            "INVALID_PARAMETER_VALUE" => "the server rejected a parameter",
            "INTERNAL_ERROR" => "the server failed internally",
            "PERMISSION_DENIED" => "permission denied: check the token or user's permissions",
            "UNAUTHENTICATED" => "not authenticated: check MLFLOW_TRACKING_TOKEN or user name and password",
            "REQUEST_LIMIT_EXCEEDED" => "the server is throttling requests",
            "BAD_REQUEST" => "the server rejected the request",
            "INVALID_STATE" => "the resource is in a state that does not allow this",
            "ENDPOINT_NOT_FOUND" => "the server does not offer this endpoint (is it an MLflow server with the Model Registry?)",
            null when statusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed =>
                "the server does not offer this endpoint (is it an MLflow server of version 2.3 or later?)",
            null when statusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                "not authorized: check MLFLOW_TRACKING_TOKEN or user name and password",
            null => "the answer was not MLflow JSON",
            _ => "MLflow error",
        };
        var code = errorCode is null ? string.Empty : $" {errorCode}";
        var detail = string.IsNullOrWhiteSpace(serverMessage) ? string.Empty : $" Server said: {serverMessage}";
        return $"MLflow call {call} failed with HTTP {(int)statusCode}{code} ({meaning}).{detail}";
    }
}
