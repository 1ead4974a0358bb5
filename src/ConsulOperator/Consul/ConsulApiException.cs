using System.Net;

namespace ConsulOperator.Consul;

/// <summary>
/// A Consul API call that failed: which endpoint, the status (none when the agent could not be reached) and Consul's
/// plain-text error. Never carries a token.
/// </summary>
public sealed class ConsulApiException(string method, Uri endpoint, HttpStatusCode? statusCode, string detail, Exception? inner = null)
    : Exception($"{method} {endpoint.GetLeftPart(UriPartial.Path)}: {(statusCode is { } code ? $"{(int)code} {detail}" : detail)}", inner)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;

    public string Detail { get; } = detail;

    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;

    public bool IsPermissionDenied => StatusCode == HttpStatusCode.Forbidden;

    /// <summary>Consul answers 500 "No cluster leader" while raft has no leader: worth trying again later, not an error in our request.</summary>
    public bool IsNoLeader => StatusCode == HttpStatusCode.InternalServerError && Detail.Contains("No cluster leader", StringComparison.OrdinalIgnoreCase);

    /// <summary>No answer at all, a timeout, a 5xx or rate limiting: the same request may succeed later.</summary>
    public bool IsTransient => StatusCode is null or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError;
}
