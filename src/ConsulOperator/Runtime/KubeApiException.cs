using System.Net;

namespace ConsulOperator.Runtime;

/// <summary>An API request that failed, with the status code and the API server's reason and message.</summary>
public sealed class KubeApiException(HttpStatusCode statusCode, string? reason, string message) : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    public string? Reason { get; } = reason;

    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;

    public bool IsConflict => StatusCode == HttpStatusCode.Conflict;

    public bool IsGone => StatusCode == HttpStatusCode.Gone;
}
