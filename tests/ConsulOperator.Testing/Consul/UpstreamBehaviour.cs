using ConsulOperator.Api;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// What one Consul version does where versions differ, each fact with its evidence (the row in UPSTREAM.md beside this
/// file names the upstream file and function, docs page or issue). The simulated agents answer as the version in their
/// pod's image does; nothing here is taken from what the operator believes.
/// </summary>
public sealed record UpstreamBehaviour(ConsulVersion Version)
{
    /// <summary>[U1] <c>structs.ACLTokenAnonymousID</c> (agent/structs/acl.go); also HashiCorp's consul-api-double fixture v1/acl/token/_.</summary>
    public const string AnonymousTokenAccessor = "00000000-0000-0000-0000-000000000002";

    /// <summary>[U1] <c>structs.ACLPolicyGlobalManagementID</c>; consul-api-double v1/acl/policy/_ names it global-management.</summary>
    public const string GlobalManagementPolicyId = "00000000-0000-0000-0000-000000000001";

    private static readonly ConsulVersion PolicyByNameRoute = new(1, 7, 3);
    private static readonly ConsulVersion NodeIdentityField = new(1, 8, 1);
    private static readonly ConsulVersion NotFoundErrorForServices = new(1, 11, 0);
    private static readonly ConsulVersion AclNotFoundIs404 = new(1, 15, 0);
    private static readonly ConsulVersion BootstrapSecretBody = new(1, 15, 0);
    private static readonly ConsulVersion AutopilotOnEveryServer = new(1, 12, 0);
    private static readonly ConsulVersion AgentCertificateExpiry = new(1, 11, 0);

    public static UpstreamBehaviour Of(string version) => new(ConsulVersion.Parse(version));

    /// <summary>[U2] <c>GET /v1/acl/policy/name/:name</c> exists from 1.7.3 (hashicorp/consul#8032, #5649/PR #6615).</summary>
    public bool HasPolicyByNameRoute => Version >= PolicyByNameRoute;

    /// <summary>
    /// [U3] A policy or token that does not exist: <c>acl.ErrNotFound</c>, which agent/http.go maps to 403 "ACL not found"
    /// (seen on 1.8.0 in hashicorp/consul#8428 and 1.9.3 in #9933); newer agent/acl_endpoint.go (<c>ACLPolicyRead</c>,
    /// <c>ACLTokenGet</c>) answers 404. The boundary version is not confirmed; 1.15 is assumed (UPSTREAM.md).
    /// </summary>
    public bool MissingAclObjectIs404 => Version >= AclNotFoundIs404;

    /// <summary>[U4] Tokens take <c>NodeIdentities</c> from 1.8.1 (PR #7970); older servers ignore the unknown field.</summary>
    public bool HasNodeIdentities => Version >= NodeIdentityField;

    /// <summary>[U5] <c>PUT /v1/acl/bootstrap</c> reads an optional <c>BootstrapSecret</c> body only after PR #14437 (first in 1.15, assumed).</summary>
    public bool AcceptsBootstrapSecret => Version >= BootstrapSecretBody;

    /// <summary>
    /// [U6] Deregistering a service the agent does not hold, with ACLs on: <c>vetServiceUpdate</c> (agent/acl.go) returns
    /// a plain <c>fmt.Errorf("Unknown service %q")</c>, a 500; later versions return <c>NotFoundError</c>, a 404.
    /// The boundary is not confirmed; 1.11 (the first version with admin partitions in that function) is assumed.
    /// </summary>
    public int UnknownServiceStatus => Version >= NotFoundErrorForServices ? 404 : 500;

    /// <summary>
    /// [M2] autopilot.healthy and autopilot.failure_tolerance come from every server, with a <c>leader</c> label, after
    /// hashicorp/consul PR #12617 (merged April 2022); before, only the leader emits them, unlabelled. The release is
    /// not confirmed; 1.12.0 is assumed.
    /// </summary>
    public bool EmitsAutopilotMetricsOnEveryServer => Version >= AutopilotOnEveryServer;

    /// <summary>
    /// [M3] <c>consul_agent_tls_cert_expiry</c>, seconds until the agent's TLS certificate expires (agent/agent.go
    /// <c>tlsCertExpirationMonitor</c>, hashicorp/consul PR #10768, listed in the v1.11.0-alpha changelog, PR #11074).
    /// </summary>
    public bool EmitsAgentCertificateExpiry => Version >= AgentCertificateExpiry;

    /// <summary>[U6] The text that goes with it: <c>Unknown service "&lt;id&gt;"</c> in both.</summary>
    public static string UnknownService(string id) => $"Unknown service \"{id}\"";

    /// <summary>[U3] 403 or 404 for a missing ACL object; the 404's exact text (<c>acl.ACLResourceNotExistError</c>) is not confirmed, so the operator must not read it.</summary>
    public ConsulAnswer MissingAclObject() => new(MissingAclObjectIs404 ? 404 : 403, "ACL not found");

    /// <summary>[U1] Reserved IDs: <c>ACLIDReserved</c> treats every 00000000-0000-0000-0000-0000000000xx as reserved.</summary>
    public static bool IsReservedId(string id) => id.StartsWith("00000000-0000-0000-0000-0000000000", StringComparison.Ordinal);
}
