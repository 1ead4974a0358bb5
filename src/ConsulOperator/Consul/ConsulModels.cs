using System.Text.Json.Nodes;

namespace ConsulOperator.Consul;

// Shapes of Consul's HTTP API (shared/reference/consul-http-api-facts.md): PascalCase Go field names, read
// case-insensitively, unknown members ignored. Only the fields the operator reads are declared.

/// <summary>One server in <c>GET /v1/operator/raft/configuration</c>.</summary>
public sealed record RaftServer(string ID, string Node, string Address, bool Leader, bool Voter);

public sealed record RaftConfiguration(IReadOnlyList<RaftServer> Servers, ulong Index);

/// <summary>One server in <c>GET /v1/operator/autopilot/health</c>.</summary>
public sealed record ServerHealth(string ID, string Name, string Address, string SerfStatus, string Version, bool Leader, bool Healthy, bool Voter);

public sealed record AutopilotHealth(bool Healthy, int FailureTolerance, IReadOnlyList<ServerHealth> Servers);

/// <summary>One gossip member in <c>GET /v1/agent/members</c>.</summary>
public sealed record AgentMember(string Name, string Addr, int Port, IReadOnlyDictionary<string, string> Tags, int Status)
{
    public const int Alive = 1;
    public const int Leaving = 2;
    public const int Left = 3;
    public const int Failed = 4;

    public bool IsServer => Tags.TryGetValue("role", out var role) && role == "consul";
}

/// <summary>A service as an agent holds it (<c>GET /v1/agent/services</c>): note <c>Service</c>, not <c>Name</c>.</summary>
public sealed record AgentService(string ID, string Service, IReadOnlyList<string>? Tags, string Address, int Port, IReadOnlyDictionary<string, string>? Meta);

public sealed record HealthCheck(string Node, string CheckID, string Name, string Status, string ServiceID, string Output);

public sealed record HealthNode(string Node, string Address);

/// <summary>One instance in <c>GET /v1/health/service/:name</c>.</summary>
public sealed record ServiceEntry(HealthNode Node, AgentService Service, IReadOnlyList<HealthCheck> Checks);

public sealed record AclLink(string? ID, string Name);

public sealed record AclToken(string AccessorID, string SecretID, string? Description, IReadOnlyList<AclLink>? Policies);

public sealed record AclPolicy(string ID, string Name, string Rules);

/// <summary>One policy in <c>GET /v1/acl/policies</c> (structs.ACLPolicyListStub): no rules.</summary>
public sealed record AclPolicyStub(string ID, string Name);

/// <summary>One gossip pool in <c>GET /v1/operator/keyring</c>: how many nodes hold and use each key.</summary>
public sealed record KeyringResponse(bool WAN, string Datacenter, IReadOnlyDictionary<string, int> Keys, IReadOnlyDictionary<string, int>? PrimaryKeys, int NumNodes);

/// <summary>What the operator asks to create: a policy with rules, or a token linked to policies (and, optionally, a node identity).</summary>
public sealed record NewAclPolicy(string Name, string Description, string Rules);

public sealed record NewAclToken(string Description, IReadOnlyList<string> PolicyNames, string? SecretID = null, string? NodeName = null, string? Datacenter = null)
{
    public JsonObject ToJson()
    {
        var body = new JsonObject
        {
            [nameof(Description)] = Description,
            ["Policies"] = new JsonArray([.. PolicyNames.Select(n => (JsonNode)new JsonObject { ["Name"] = n })]),
        };
        if (SecretID is not null)
        {
            body[nameof(SecretID)] = SecretID;
        }

        if (NodeName is not null)
        {
            body["NodeIdentities"] = new JsonArray(new JsonObject { [nameof(NodeName)] = NodeName, [nameof(Datacenter)] = Datacenter });
        }

        return body;
    }
}
