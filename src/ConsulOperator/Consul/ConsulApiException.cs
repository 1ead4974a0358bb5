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

    /// <summary>
    /// The ACL object asked for does not exist: 404 on newer servers, 403 "ACL not found" on older ones, which map
    /// <c>acl.ErrNotFound</c> to 403 (agent/http.go; hashicorp/consul#8428 on 1.8.0, #9933 on 1.9.3).
    /// </summary>
    public bool IsAclNotFound => IsNotFound || (IsPermissionDenied && Detail.Contains("ACL not found", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The agent does not hold the service: 404 on newer agents, a 500 "Unknown service" from older ones with ACLs on
    /// (agent/acl.go <c>vetServiceUpdate</c> returned a plain error before it returned <c>NotFoundError</c>).
    /// </summary>
    public bool IsUnknownService => IsNotFound || (StatusCode == HttpStatusCode.InternalServerError && Detail.Contains("Unknown service", StringComparison.Ordinal));

    /// <summary>
    /// Consul refused an ACL write for what it asked: rules that do not parse or name a bad policy value
    /// (acl/policy.go "Failed to parse ACL rules", "Invalid key policy"), a bad name, a link to a policy that does not
    /// exist, an invalid identity (agent/consul/acl_endpoint.go <c>PolicySet</c>, <c>tokenSetInternal</c>). The RPC
    /// layer carries these as plain errors, so agent/http.go answers 500, not 400; sending the same again fails again.
    /// </summary>
    public bool IsAclRejected => StatusCode is HttpStatusCode.BadRequest
        || (StatusCode == HttpStatusCode.InternalServerError && AclRejections.Any(r => Detail.Contains(r, StringComparison.Ordinal)));

    /// <summary>No answer at all, a timeout, a 5xx or rate limiting: the same request may succeed later. A 500 that says what is wrong with the request is not.</summary>
    public bool IsTransient => (StatusCode is null or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError) && !IsUnknownService && !IsAclRejected;

    private static readonly string[] AclRejections =
        ["Failed to parse ACL rules", "Invalid ", "No such ACL policy", "Service identity", "Node identity", "cannot find policy"];
}
