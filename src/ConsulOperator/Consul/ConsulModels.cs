using System.Text.Json.Nodes;

namespace ConsulOperator.Consul;

// Shapes of Consul's HTTP API (shared/reference/consul-http-api-facts.md): PascalCase Go field names, read
// case-insensitively, unknown members ignored. Only the fields the operator reads are declared.

/// <summary>One server in <c>GET /v1/operator/raft/configuration</c>.</summary>
public sealed record RaftServer(string ID, string Node, string Address, bool Leader, bool Voter);

public sealed record RaftConfiguration(IReadOnlyList<RaftServer> Servers, ulong Index);

/// <summary>
/// <c>GET /v1/agent/self</c>, the parts the operator reads: the agent's node ID, and for a server its raft stats
/// (hashicorp/raft <c>Stats()</c>, every value a string: <c>last_log_index</c>, <c>last_log_term</c>, <c>state</c>).
/// </summary>
public sealed record AgentSelf(AgentSelfConfig Config, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? Stats)
{
    public ulong LastLogIndex => RaftStat("last_log_index");

    public ulong LastLogTerm => RaftStat("last_log_term");

    private ulong RaftStat(string key) =>
        Stats?.GetValueOrDefault("raft")?.GetValueOrDefault(key) is { } text && ulong.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;
}

public sealed record AgentSelfConfig(string NodeID);

/// <summary>One server in <c>GET /v1/operator/autopilot/health</c>.</summary>
public sealed record ServerHealth(
    string ID, string Name, string Address, string SerfStatus, string Version, bool Leader, bool Healthy, bool Voter, ulong LastIndex = 0, ulong LastTerm = 0, DateTime? StableSince = null);

public sealed record AutopilotHealth(bool Healthy, int FailureTolerance, IReadOnlyList<ServerHealth> Servers);

/// <summary>One gossip member in <c>GET /v1/agent/members</c>.</summary>
public sealed record AgentMember(string Name, string Addr, int Port, IReadOnlyDictionary<string, string> Tags, int Status)
{
    public const int Alive = 1;
    public const int Leaving = 2;
    public const int Left = 3;
    public const int Failed = 4;

    public bool IsServer => Tags.TryGetValue("role", out var role) && role == "consul";

    /// <summary>The status as serf names it (hashicorp/serf serf.go, MemberStatus.String).</summary>
    public string StatusName => Status switch
    {
        Alive => "alive",
        Leaving => "leaving",
        Left => "left",
        Failed => "failed",
        _ => "none",
    };
}

/// <summary>A service as an agent holds it (<c>GET /v1/agent/services</c>): note <c>Service</c>, not <c>Name</c>.</summary>
public sealed record AgentService(string ID, string Service, IReadOnlyList<string>? Tags, string Address, int Port, IReadOnlyDictionary<string, string>? Meta);

public sealed record HealthCheck(string Node, string CheckID, string Name, string Status, string ServiceID, string Output);

public sealed record HealthNode(string Node, string Address);

/// <summary><c>GET /v1/catalog/node/:node</c>: the node and its services by ID (a JSON null when the catalog has no such node).</summary>
public sealed record CatalogNodeServices(HealthNode Node, Dictionary<string, AgentService>? Services);

/// <summary>One instance in <c>GET /v1/health/service/:name</c>.</summary>
public sealed record ServiceEntry(HealthNode Node, AgentService Service, IReadOnlyList<HealthCheck> Checks);

/// <summary>A token's link to a policy, by ID or by name; Consul answers with both.</summary>
public sealed record AclLink(string? ID, string? Name);

/// <summary>Write on a service and its sidecar proxy, read on every service and node (docs: ACL service identities).</summary>
public sealed record ServiceIdentity(string ServiceName, IReadOnlyList<string>? Datacenters);

/// <summary>Write on a node, read on every service (docs: ACL node identities; Consul 1.8.1 and later).</summary>
public sealed record NodeIdentity(string NodeName, string Datacenter);

/// <summary>A token as <c>GET /v1/acl/token/:accessor</c> answers it; SecretID is redacted for a caller without acl:write.</summary>
public sealed record AclToken(
    string AccessorID, string SecretID, string? Description, IReadOnlyList<AclLink>? Policies,
    IReadOnlyList<ServiceIdentity>? ServiceIdentities = null, IReadOnlyList<NodeIdentity>? NodeIdentities = null);

public sealed record AclPolicy(string ID, string Name, string Rules, string? Description = null, IReadOnlyList<string>? Datacenters = null);

/// <summary>One policy in <c>GET /v1/acl/policies</c> (structs.ACLPolicyListStub): no rules.</summary>
public sealed record AclPolicyStub(string ID, string Name);

/// <summary>One gossip pool in <c>GET /v1/operator/keyring</c>: how many nodes hold and use each key.</summary>
public sealed record KeyringResponse(bool WAN, string Datacenter, IReadOnlyDictionary<string, int> Keys, IReadOnlyDictionary<string, int>? PrimaryKeys, int NumNodes);

/// <summary>What the operator asks to create: a policy with rules, or a token linked to policies (and, optionally, a node identity).</summary>
public sealed record NewAclPolicy(string Name, string Description, string Rules, IReadOnlyList<string>? Datacenters = null)
{
    /// <summary>Whether the policy Consul holds says what this one does (Consul answers no datacenters as null).</summary>
    public bool IsMetBy(AclPolicy existing) =>
        existing.Name == Name && existing.Rules == Rules && (existing.Description ?? "") == Description
        && (existing.Datacenters ?? []).SequenceEqual(Datacenters ?? []);
}

/// <summary>
/// A token to create or update. The AccessorID and SecretID may be chosen by the caller (Consul 1.5.0 and later, docs:
/// ACL Token HTTP API), which is what makes a create safe to repeat after a crash.
/// </summary>
public sealed record NewAclToken(string Description, IReadOnlyList<AclLink> Policies, string? SecretID = null, string? AccessorID = null)
{
    public IReadOnlyList<ServiceIdentity> ServiceIdentities { get; init; } = [];

    public IReadOnlyList<NodeIdentity> NodeIdentities { get; init; } = [];

    public static IReadOnlyList<AclLink> ByName(params IEnumerable<string> names) => [.. names.Select(n => new AclLink(null, n))];

    /// <summary>Whether the token Consul holds has what this one asks for: the same description, policies and identities.</summary>
    public bool IsMetBy(AclToken existing)
    {
        var linked = existing.Policies ?? [];
        return (existing.Description ?? "") == Description
            && linked.Count == Policies.Count
            && Policies.All(w => linked.Any(l => w.ID is not null ? l.ID == w.ID : l.Name == w.Name))
            && SameSet(ServiceIdentities.Select(Describe), (existing.ServiceIdentities ?? []).Select(Describe))
            && SameSet(NodeIdentities.Select(n => $"{n.NodeName}@{n.Datacenter}"), (existing.NodeIdentities ?? []).Select(n => $"{n.NodeName}@{n.Datacenter}"));
    }

    public JsonObject ToJson()
    {
        var body = new JsonObject
        {
            [nameof(Description)] = Description,
            [nameof(Policies)] = new JsonArray([.. Policies.Select(p => (JsonNode)(p.ID is { } id ? new JsonObject { ["ID"] = id } : new JsonObject { ["Name"] = p.Name }))]),
        };
        if (AccessorID is not null)
        {
            body[nameof(AccessorID)] = AccessorID;
        }

        if (SecretID is not null)
        {
            body[nameof(SecretID)] = SecretID;
        }

        if (ServiceIdentities.Count > 0)
        {
            body[nameof(ServiceIdentities)] = new JsonArray([.. ServiceIdentities.Select(s => (JsonNode)Identity(s.ServiceName, s.Datacenters))]);
        }

        if (NodeIdentities.Count > 0)
        {
            body[nameof(NodeIdentities)] = new JsonArray([.. NodeIdentities.Select(n => (JsonNode)new JsonObject { [nameof(n.NodeName)] = n.NodeName, [nameof(n.Datacenter)] = n.Datacenter })]);
        }

        return body;
    }

    private static string Describe(ServiceIdentity s) => $"{s.ServiceName}@{string.Join(',', s.Datacenters ?? [])}";

    private static bool SameSet(IEnumerable<string> left, IEnumerable<string> right) =>
        left.Order(StringComparer.Ordinal).SequenceEqual(right.Order(StringComparer.Ordinal));

    private static JsonObject Identity(string serviceName, IReadOnlyList<string>? datacenters)
    {
        var identity = new JsonObject { [nameof(ServiceIdentity.ServiceName)] = serviceName };
        if (datacenters is { Count: > 0 })
        {
            identity[nameof(ServiceIdentity.Datacenters)] = new JsonArray([.. datacenters.Select(d => (JsonNode)d)]);
        }

        return identity;
    }
}
