using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using static ConsulOperator.Testing.Consul.ConsulDatacenter;

namespace ConsulOperator.Testing.Consul;

/// <summary>An answer of the simulated HTTP API: a status with plain text, JSON or bytes.</summary>
public sealed record ConsulAnswer(int StatusCode, string? Text = null, JsonNode? Json = null, byte[]? Bytes = null);

/// <summary>
/// Consul's HTTP API over one simulated datacenter: routes, ACL checks and the answers' shapes, as in
/// shared/reference/consul-http-api-facts.md. Callers hold the datacenter's lock.
/// </summary>
internal sealed class ConsulApiHandler(ConsulDatacenter datacenter)
{
    private ConsulDatacenter Datacenter => datacenter;

    public ConsulAnswer Route(string method, string path, IQueryCollection query, JsonObject? body, Agent agent, string? token)
    {
        var acl = Datacenter.Authorizer(token);
        if (acl.TokenNotFound && path != "/v1/acl/bootstrap")
        {
            return new ConsulAnswer(403, "ACL not found");
        }

        var segments = path.Trim('/').Split('/');
        return (method, segments) switch
        {
            ("GET", ["v1", "status", "leader"]) => Ok(JsonValue.Create(LeaderAddress() ?? "")),
            ("GET", ["v1", "status", "peers"]) => Ok(new JsonArray([.. RaftServers().Select(a => (JsonNode)JsonValue.Create($"{a.Ip}:8300"))])),
            ("GET", ["v1", "operator", "raft", "configuration"]) => Require(acl, "operator", "", false) ?? NeedsLeader() ?? RaftConfiguration(),
            ("DELETE", ["v1", "operator", "raft", "peer"]) => Require(acl, "operator", "", true) ?? NeedsLeader() ?? RemovePeer(query),
            ("GET", ["v1", "operator", "autopilot", "health"]) => Require(acl, "operator", "", false) ?? NeedsLeader() ?? AutopilotHealth(),
            ("GET", ["v1", "agent", "members"]) => Ok(new JsonArray([.. Datacenter.Agents
                .Where(a => a.Status != MemberStatus.None && acl.Allows("node", a.Name, false)).OrderBy(a => a.Name).Select(Member)])),
            ("PUT", ["v1", "agent", "service", "register"]) => Register(agent, body, acl),
            ("PUT", ["v1", "agent", "service", "deregister", var id]) => Deregister(agent, id, acl),
            ("GET", ["v1", "agent", "services"]) => Ok(new JsonObject(agent.Services.Values
                .Where(s => acl.Allows("service", s.Name, false)).Select(s => KeyValuePair.Create(s.Id, (JsonNode?)AgentService(s))))),
            ("GET", ["v1", "health", "service", var name]) => NeedsLeader() ?? ServiceHealth(name, acl),
            ("PUT", ["v1", "agent", "token", var kind]) => Require(acl, "agent", agent.Name, true) ?? SetAgentToken(agent, kind, body),
            ("PUT", ["v1", "agent", "leave"]) => Require(acl, "agent", agent.Name, true) ?? Leave(agent),
            ("PUT", ["v1", "agent", "force-leave", var node]) => Require(acl, "operator", "", true) ?? ForceLeave(node, query.ContainsKey("prune")),
            (_, ["v1", "acl", ..]) when !Datacenter.AclEnabled => new ConsulAnswer(401, "ACL support disabled"),
            ("PUT", ["v1", "acl", "bootstrap"]) => NeedsLeader() ?? Bootstrap(body),
            ("GET", ["v1", "acl", "token", "self"]) => TokenSelf(token),
            ("GET", ["v1", "acl", "token", var accessor]) => Require(acl, "acl", "", false) ?? ReadToken(accessor),
            ("PUT", ["v1", "acl", "token"]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WriteToken(null, body!),
            ("PUT", ["v1", "acl", "token", var accessor]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WriteToken(accessor, body!),
            ("GET", ["v1", "acl", "policy", "name", var name]) => Require(acl, "acl", "", false) ?? ReadPolicy(name),
            ("PUT", ["v1", "acl", "policy"]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WritePolicy(null, body!),
            ("PUT", ["v1", "acl", "policy", var id]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WritePolicy(id, body!),
            ("GET", ["v1", "operator", "keyring"]) => Require(acl, "keyring", "", false) ?? Keyring(),
            (_, ["v1", "operator", "keyring"]) => Require(acl, "keyring", "", true) ?? ChangeKeyring(method, (string?)body?["Key"]),
            _ => new ConsulAnswer(404, $"no handler for {method} {path}"),
        };
    }

    private static ConsulAnswer? Require(Authorizer acl, string resource, string name, bool write) =>
        acl.Allows(resource, name, write) ? null : new ConsulAnswer(403, $"Permission denied: token lacks permission '{resource}:{(write ? "write" : "read")}'");

    private ConsulAnswer? NeedsLeader() => Datacenter.Leader is null ? new ConsulAnswer(500, "No cluster leader") : null;

    private string? LeaderAddress() => Datacenter.Leader is { } leader ? $"{Datacenter.Find(leader)!.Ip}:8300" : null;

    private List<Agent> RaftServers() => [.. Datacenter.Agents.Where(a => a.Server && a.InRaft).OrderBy(a => a.Ordinal)];

    private ConsulAnswer RaftConfiguration() => Ok(new JsonObject
    {
        ["Servers"] = new JsonArray([.. RaftServers().Select(a => (JsonNode)new JsonObject
        {
            ["ID"] = a.Id,
            ["Node"] = a.Name,
            ["Address"] = $"{a.Ip}:8300",
            ["Leader"] = a.Name == Datacenter.Leader,
            ["ProtocolVersion"] = "3",
            ["Voter"] = a.Voter,
        })]),
        ["Index"] = 22,
    });

    private ConsulAnswer RemovePeer(IQueryCollection query)
    {
        var id = query["id"].FirstOrDefault();
        var address = query["address"].FirstOrDefault();
        if ((id is null) == (address is null))
        {
            return new ConsulAnswer(400, id is null ? "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove" : "Must specify only one of ?id or ?address");
        }

        var server = RaftServers().FirstOrDefault(a => a.Id == id || $"{a.Ip}:8300" == address);
        if (server is null)
        {
            return new ConsulAnswer(500, $"id \"{id ?? address}\" was not found in the Raft configuration");
        }

        Datacenter.RemoveFromRaft(server);
        return Empty();
    }

    private ConsulAnswer AutopilotHealth()
    {
        var servers = RaftServers();
        var healthy = servers.All(a => a.Status == MemberStatus.Alive && a.Healthy);
        var voters = servers.Count(a => a.Voter);
        var healthyVoters = servers.Count(a => a.Voter && a.Status == MemberStatus.Alive && a.Healthy);
        var reply = new JsonObject
        {
            ["Healthy"] = healthy,
            ["FailureTolerance"] = Math.Max(0, healthyVoters - ((voters / 2) + 1)),
            ["Servers"] = new JsonArray([.. servers.Select(a => (JsonNode)new JsonObject
            {
                ["ID"] = a.Id,
                ["Name"] = a.Name,
                ["Address"] = $"{a.Ip}:8300",
                ["SerfStatus"] = a.Status.ToString().ToLowerInvariant(),
                ["Version"] = a.Version,
                ["Leader"] = a.Name == Datacenter.Leader,
                ["LastContact"] = a.Name == Datacenter.Leader ? "0s" : "12.5ms",
                ["LastTerm"] = 2,
                ["LastIndex"] = 46,
                ["Healthy"] = a.Status == MemberStatus.Alive && a.Healthy,
                ["Voter"] = a.Voter,
                ["StableSince"] = a.JoinedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            })]),
        };
        return new ConsulAnswer(healthy ? 200 : 429, Json: reply);
    }

    private JsonObject Member(Agent a) => new()
    {
        ["Name"] = a.Name,
        ["Addr"] = a.Ip,
        ["Port"] = 8301,
        ["Tags"] = new JsonObject
        {
            ["role"] = a.Server ? "consul" : "node",
            ["dc"] = Datacenter.Name,
            ["build"] = $"{a.Version}:test",
            ["acls"] = Datacenter.AclEnabled ? "1" : "0",
            ["use_tls"] = "1",
            ["id"] = a.Id,
        },
        ["Status"] = (int)a.Status,
        ["ProtocolMin"] = 1,
        ["ProtocolMax"] = 5,
        ["ProtocolCur"] = 2,
        ["DelegateMin"] = 2,
        ["DelegateMax"] = 5,
        ["DelegateCur"] = 4,
    };

    private static ConsulAnswer Register(Agent agent, JsonObject? body, Authorizer acl)
    {
        var name = (string?)body?["Name"];
        if (string.IsNullOrEmpty(name))
        {
            return new ConsulAnswer(400, "Missing service name");
        }

        if (!acl.Allows("service", name, true))
        {
            return new ConsulAnswer(403, $"Permission denied: token lacks permission 'service:write' on \"{name}\"");
        }

        var id = (string?)body!["ID"] is { Length: > 0 } given ? given : name;
        var checks = new List<RegisteredCheck>();
        foreach (var check in (body["Checks"] as JsonArray ?? []).Append(body["Check"]).OfType<JsonObject>())
        {
            var checkId = (string?)check["CheckID"] ?? $"service:{id}:{checks.Count + 1}";
            var previous = agent.Services.GetValueOrDefault(id)?.Checks.FirstOrDefault(c => c.Id == checkId);

            // Consul starts a check critical unless told otherwise; re-registering keeps the status it has reached.
            checks.Add(new RegisteredCheck(checkId, (string?)check["Name"] ?? checkId, previous?.Status ?? (string?)check["Status"] ?? "critical"));
        }

        agent.Services[id] = new RegisteredService(
            id, name, [.. (body["Tags"] as JsonArray ?? []).Select(t => (string)t!)], (string?)body["Address"] ?? agent.Ip, (int?)body["Port"] ?? 0,
            body["Meta"]?.DeepClone() as JsonObject ?? [], checks);
        return Empty();
    }

    private static ConsulAnswer Deregister(Agent agent, string id, Authorizer acl)
    {
        if (!agent.Services.TryGetValue(id, out var service))
        {
            return new ConsulAnswer(404, $"Unknown service \"{id}\"");
        }

        if (!acl.Allows("service", service.Name, true))
        {
            return new ConsulAnswer(403, "Permission denied");
        }

        agent.Services.Remove(id);
        return Empty();
    }

    private static JsonObject AgentService(RegisteredService s) => new()
    {
        ["ID"] = s.Id,
        ["Service"] = s.Name,
        ["Tags"] = new JsonArray([.. s.Tags.Select(t => (JsonNode)JsonValue.Create(t))]),
        ["Meta"] = s.Meta.DeepClone(),
        ["Port"] = s.Port,
        ["Address"] = s.Address,
        ["Weights"] = new JsonObject { ["Passing"] = 1, ["Warning"] = 1 },
        ["EnableTagOverride"] = false,
    };

    private ConsulAnswer ServiceHealth(string name, Authorizer acl)
    {
        if (!acl.Allows("service", name, false))
        {
            return Ok(new JsonArray());
        }

        var entries = Datacenter.Agents
            .Where(a => a.Status is MemberStatus.Alive or MemberStatus.Failed && acl.Allows("node", a.Name, false))
            .SelectMany(a => a.Services.Values.Where(s => s.Name == name).Select(s => (JsonNode)new JsonObject
            {
                ["Node"] = new JsonObject { ["ID"] = a.Id, ["Node"] = a.Name, ["Address"] = a.Ip, ["Datacenter"] = Datacenter.Name },
                ["Service"] = AgentService(s),
                ["Checks"] = new JsonArray([
                    new JsonObject { ["Node"] = a.Name, ["CheckID"] = "serfHealth", ["Name"] = "Serf Health Status", ["Status"] = a.Status == MemberStatus.Alive ? "passing" : "critical", ["ServiceID"] = "", ["Output"] = "" },
                    .. s.Checks.Select(c => (JsonNode)new JsonObject { ["Node"] = a.Name, ["CheckID"] = c.Id, ["Name"] = c.Name, ["Status"] = c.Status, ["ServiceID"] = s.Id, ["ServiceName"] = s.Name, ["Output"] = "" })]),
            }));
        return Ok(new JsonArray([.. entries]));
    }

    private static ConsulAnswer SetAgentToken(Agent agent, string kind, JsonObject? body)
    {
        if (kind is not ("agent" or "acl_agent_token" or "default" or "agent_recovery" or "replication"))
        {
            return new ConsulAnswer(404, $"Token \"{kind}\" is unknown");
        }

        if (kind is "agent" or "acl_agent_token")
        {
            agent.AgentToken = (string?)body?["Token"];
        }

        return Empty();
    }

    private ConsulAnswer Leave(Agent agent)
    {
        Datacenter.Leave(agent);
        return Empty();
    }

    private ConsulAnswer ForceLeave(string node, bool prune)
    {
        if (Datacenter.Find(node) is not { } agent)
        {
            return new ConsulAnswer(500, $"agent: No node found with name '{node}'");
        }

        if (agent.Status == MemberStatus.Failed || prune)
        {
            Datacenter.Leave(agent);
        }

        return Empty();
    }

    private ConsulAnswer Bootstrap(JsonObject? body) =>
        Datacenter.Bootstrap((string?)body?["BootstrapSecret"] is { Length: > 0 } given ? given : null) is { } token
            ? Ok(TokenJson(token))
            : new ConsulAnswer(403, "Permission denied: ACL bootstrap no longer allowed (reset index: 13)");

    private ConsulAnswer TokenSelf(string? secret) =>
        Datacenter.Tokens.Values.FirstOrDefault(t => t.SecretId == secret) is { } token ? Ok(TokenJson(token)) : new ConsulAnswer(403, "ACL not found");

    private ConsulAnswer ReadToken(string accessor) =>
        Datacenter.Tokens.TryGetValue(accessor, out var token) ? Ok(TokenJson(token)) : new ConsulAnswer(404, "ACL not found");

    private ConsulAnswer WriteToken(string? accessor, JsonObject body)
    {
        var policyIds = new List<string>();
        foreach (var link in (body["Policies"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var policy = Datacenter.Policies.Values.FirstOrDefault(p => p.Id == (string?)link["ID"] || p.Name == (string?)link["Name"]);
            if (policy is null)
            {
                return new ConsulAnswer(400, $"Invalid Token: Policy with ID/Name \"{(string?)link["ID"] ?? (string?)link["Name"]}\" does not exist");
            }

            policyIds.Add(policy.Id);
        }

        var nodes = (body["NodeIdentities"] as JsonArray ?? []).OfType<JsonObject>().Select(n => (string)n["NodeName"]!).ToList();
        Token token;
        if (accessor is null)
        {
            var secret = (string?)body["SecretID"] is { Length: > 0 } given ? given : Guid.NewGuid().ToString();
            if (Datacenter.Tokens.Values.Any(t => t.SecretId == secret))
            {
                return new ConsulAnswer(400, "Invalid Token: SecretID is already in use");
            }

            token = new Token(Guid.NewGuid().ToString(), secret, (string?)body["Description"] ?? "", policyIds, nodes);
        }
        else if (Datacenter.Tokens.TryGetValue(accessor, out var existing))
        {
            token = existing with { Description = (string?)body["Description"] ?? existing.Description, PolicyIds = policyIds, NodeIdentities = nodes };
        }
        else
        {
            return new ConsulAnswer(403, "ACL not found");
        }

        Datacenter.Tokens[token.AccessorId] = token;
        return Ok(TokenJson(token));
    }

    private JsonObject TokenJson(Token token) => new()
    {
        ["AccessorID"] = token.AccessorId,
        ["SecretID"] = token.SecretId,
        ["Description"] = token.Description,
        ["Policies"] = new JsonArray([.. token.PolicyIds.Select(id => (JsonNode)new JsonObject { ["ID"] = id, ["Name"] = Datacenter.Policies[id].Name })]),
        ["NodeIdentities"] = new JsonArray([.. token.NodeIdentities.Select(n => (JsonNode)new JsonObject { ["NodeName"] = n, ["Datacenter"] = Datacenter.Name })]),
        ["Local"] = false,
    };

    private ConsulAnswer ReadPolicy(string name) =>
        Datacenter.Policies.Values.FirstOrDefault(p => p.Name == name) is { } policy ? Ok(PolicyJson(policy)) : new ConsulAnswer(404, "ACL not found");

    private ConsulAnswer WritePolicy(string? id, JsonObject body)
    {
        var name = (string?)body["Name"] ?? "";
        var rules = (string?)body["Rules"] ?? "";
        if (Datacenter.Policies.Values.Any(p => p.Name == name && p.Id != id))
        {
            return new ConsulAnswer(400, $"Invalid Policy: A Policy with Name \"{name}\" already exists");
        }

        if (id is not null && !Datacenter.Policies.ContainsKey(id))
        {
            return new ConsulAnswer(403, "ACL not found");
        }

        var policy = new Policy(id ?? Guid.NewGuid().ToString(), name, rules);
        Datacenter.Policies[policy.Id] = policy;
        return Ok(PolicyJson(policy));
    }

    private static JsonObject PolicyJson(Policy policy) => new() { ["ID"] = policy.Id, ["Name"] = policy.Name, ["Rules"] = policy.Rules };

    private ConsulAnswer Keyring()
    {
        var alive = Datacenter.Agents.Where(a => a.Status == MemberStatus.Alive).ToList();
        JsonObject Pool(bool wan, int nodes) => new()
        {
            ["WAN"] = wan,
            ["Datacenter"] = Datacenter.Name,
            ["Segment"] = "",
            ["Keys"] = new JsonObject(Datacenter.GossipKeyList.Select(k => KeyValuePair.Create(k, (JsonNode?)nodes))),
            ["PrimaryKeys"] = Datacenter.GossipKeyList.Count > 0 ? new JsonObject { [Datacenter.GossipKeyList[0]] = nodes } : new JsonObject(),
            ["NumNodes"] = nodes,
        };
        return Ok(new JsonArray(Pool(true, alive.Count(a => a.Server)), Pool(false, alive.Count)));
    }

    private ConsulAnswer ChangeKeyring(string method, string? key)
    {
        var keys = Datacenter.GossipKeyList;
        if (string.IsNullOrEmpty(key))
        {
            return new ConsulAnswer(400, "Request decode failed: missing Key");
        }

        switch (method)
        {
            case "POST":
                if (!keys.Contains(key))
                {
                    keys.Add(key);
                }

                return Empty();
            case "PUT" when keys.Contains(key):
                keys.Remove(key);
                keys.Insert(0, key);
                return Empty();
            case "DELETE" when keys.Count > 0 && keys[0] == key:
                return new ConsulAnswer(500, $"{Datacenter.Name} (LAN) error: Removing the primary key is not allowed");
            case "DELETE":
                keys.Remove(key);
                return Empty();
            case "PUT":
                return new ConsulAnswer(500, $"{Datacenter.Name} (LAN) error: Requested key is not in the keyring");
            default:
                return new ConsulAnswer(405, $"method {method} not allowed");
        }
    }

    private static ConsulAnswer Ok(JsonNode json) => new(200, Json: json);

    private static ConsulAnswer Empty() => new(200);

}
