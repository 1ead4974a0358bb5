using ConsulOperator.Api;
using ConsulOperator.Consul;

namespace ConsulOperator.Desired;

/// <summary>The ACL policies the operator keeps in a cluster, in Consul's rule language.</summary>
public static class AclPolicies
{
    /// <summary>
    /// What DNS needs: a default-deny datacenter answers <c>*.service.consul</c> only when the token DNS uses (the
    /// anonymous token) may read services and nodes.
    /// </summary>
    public static readonly NewAclPolicy DnsRead = new(
        "consul-operator-dns-read",
        "Lets DNS lookups (anonymous token) see services and nodes; managed by consul-operator",
        """
        node_prefix "" { policy = "read" }
        service_prefix "" { policy = "read" }
        """);

    /// <summary>
    /// The operator's routine calls: raft and autopilot (operator), members (node read), registering outside services
    /// (service write) and Kubernetes Services on the catalog sync node (node write on that node only), leave and agent
    /// tokens (agent write), gossip rotation (keyring), and the ConsulACLPolicy and
    /// ConsulACLToken objects (acl write: Consul has no narrower grant for creating, updating and deleting policies and
    /// tokens, and acl:read alone would read tokens with their secrets redacted). The bootstrap token is used for the
    /// cluster's own ACL setup and snapshots only, and never handed to anything else.
    /// </summary>
    public static readonly NewAclPolicy Operator = new(
        "consul-operator",
        "The operator's own calls; managed by consul-operator",
        $$"""
        operator = "write"
        keyring = "write"
        acl = "write"
        node_prefix "" { policy = "read" }
        node "{{CatalogSync.Node}}" { policy = "write" }
        service_prefix "" { policy = "write" }
        agent_prefix "" { policy = "write" }
        """);

    /// <summary>
    /// What scraping an agent's metrics needs: agent read on that agent's node (agent/agent_endpoint.go
    /// <c>AgentMetrics</c> checks <c>AgentReadAllowed(NodeName)</c> and nothing else).
    /// </summary>
    public static readonly NewAclPolicy Metrics = new(
        "consul-operator-metrics",
        "Lets Prometheus read agents' metrics; managed by consul-operator",
        """
        agent_prefix "" { policy = "read" }
        """);

    public static IReadOnlyList<NewAclPolicy> All => [DnsRead, Operator, Metrics];

    public static NewAclToken MetricsToken(string secretId) => new("Prometheus scraping agent metrics; managed by consul-operator", NewAclToken.ByName(Metrics.Name), secretId);

    /// <summary>The built-in management policy: <c>structs.ACLPolicyGlobalManagementID</c> in hashicorp/consul agent/structs/acl.go.</summary>
    public const string GlobalManagementPolicyId = "00000000-0000-0000-0000-000000000001";

    /// <summary>The built-in anonymous token: <c>structs.ACLTokenAnonymousID</c> in hashicorp/consul agent/structs/acl.go.</summary>
    public const string AnonymousTokenAccessor = "00000000-0000-0000-0000-000000000002";

    /// <summary>
    /// The agent token for one pod: write on its own node, read on services. A node identity from 1.8.1, as Consul
    /// recommends for agents; before, a policy of its own with the rules a node identity stands for.
    /// </summary>
    public static NewAclToken AgentToken(string pod, string datacenter, string secretId, ConsulVersion servers) =>
        servers.HasNodeIdentities
            ? new($"Agent token for {pod}; managed by consul-operator", [], secretId) { NodeIdentities = [new(pod, datacenter)] }
            : new($"Agent token for {pod}; managed by consul-operator", NewAclToken.ByName(AgentPolicy(pod).Name), secretId);

    /// <summary>What a node identity grants (the docs' node identity template), as a policy for servers without node identities.</summary>
    public static NewAclPolicy AgentPolicy(string pod) => new(
        $"consul-operator-agent-{pod}",
        $"The agent token's rules for {pod}; managed by consul-operator",
        $$"""
        node "{{pod}}" { policy = "write" }
        service_prefix "" { policy = "read" }
        """);

    /// <summary>Every policy the operator keeps for these agents on servers of that version.</summary>
    public static IReadOnlyList<NewAclPolicy> For(IEnumerable<string> agentPods, ConsulVersion servers) =>
        servers.HasNodeIdentities ? All : [.. All, .. agentPods.Select(AgentPolicy)];

    public static NewAclToken OperatorToken(string secretId) => new("consul-operator", NewAclToken.ByName(Operator.Name), secretId);
}
