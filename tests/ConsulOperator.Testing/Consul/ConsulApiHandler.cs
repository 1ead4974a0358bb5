using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using static ConsulOperator.Testing.Consul.ConsulDatacenter;

namespace ConsulOperator.Testing.Consul;

/// <summary>An answer of the simulated HTTP API: a status with plain text, JSON or bytes; reads carry the raft index.</summary>
public sealed record ConsulAnswer(int StatusCode, string? Text = null, JsonNode? Json = null, byte[]? Bytes = null)
{
    public ulong? Index { get; init; }

    public IReadOnlyList<string>? Allow { get; init; }

    /// <summary>A JSON <c>null</c> body, which Consul answers where a single object would be but there is none.</summary>
    public bool JsonNull { get; init; }
}

/// <summary>
/// Consul's HTTP API over one simulated datacenter: routes, ACL checks and the answers' shapes, as the addressed agent's
/// version gives them (UPSTREAM.md beside this file has the evidence for each row). Callers hold the datacenter's lock.
/// </summary>
internal sealed class ConsulApiHandler(ConsulDatacenter datacenter)
{
    // [H1] The endpoints the operator calls and the methods each accepts (agent/http_register.go; agent/http.go in 1.6);
    // a known path with another method is a 405 with Allow, an unknown path a 404 (net/http ServeMux).
    private static readonly (string Pattern, string[] Methods)[] Endpoints =
    [
        ("status/leader", ["GET"]), ("status/peers", ["GET"]),
        ("operator/raft/configuration", ["GET"]), ("operator/raft/peer", ["DELETE"]), ("operator/autopilot/health", ["GET"]),
        ("operator/keyring", ["GET", "POST", "PUT", "DELETE"]),
        ("agent/members", ["GET"]), ("agent/self", ["GET"]), ("agent/services", ["GET"]), ("agent/service/register", ["PUT"]), ("agent/service/deregister/*", ["PUT"]),
        ("agent/token/*", ["PUT"]), ("agent/leave", ["PUT"]), ("agent/force-leave/*", ["PUT"]), ("agent/metrics", ["GET"]),
        ("health/service/*", ["GET"]), ("health/node/*", ["GET"]),
        ("catalog/register", ["PUT"]), ("catalog/deregister", ["PUT"]), ("catalog/node/*", ["GET"]),
        ("acl/bootstrap", ["PUT"]), ("acl/token/self", ["GET"]), ("acl/token", ["PUT"]), ("acl/token/*", ["GET", "PUT", "DELETE"]), ("acl/tokens", ["GET"]),
        ("acl/policy", ["PUT"]), ("acl/policy/name/*", ["GET"]), ("acl/policy/*", ["GET", "PUT", "DELETE"]), ("acl/policies", ["GET"]),
        ("kv/*", ["GET", "PUT", "DELETE"]),
        ("snapshot", ["GET", "PUT"]),
    ];

    private static readonly string[] IntervalCheckKinds = ["HTTP", "TCP", "GRPC", "UDP", "H2PING"];

    private ConsulDatacenter Datacenter => datacenter;

    public ConsulAnswer Route(string method, string path, IQueryCollection query, JsonObject? body, Agent agent, string? token, byte[]? raw = null)
    {
        var behaviour = agent.Behaviour;
        var segments = path.Trim('/').Split('/');
        if (segments is not ["v1", ..] || Endpoint(segments[1..], behaviour) is not { } methods)
        {
            return new ConsulAnswer(404, "404 page not found");
        }

        if (!methods.Contains(method))
        {
            return new ConsulAnswer(405, $"method {method} not allowed") { Allow = methods };
        }

        var acl = Datacenter.Authorizer(token);
        if (acl.TokenNotFound && path != "/v1/acl/bootstrap")
        {
            // [A3] A secret Consul does not know: acl.ErrNotFound while resolving it, 403 in every version.
            return new ConsulAnswer(403, "ACL not found");
        }

        var answer = (method, segments) switch
        {
            ("GET", [_, "status", "leader"]) => Ok(JsonValue.Create((Datacenter.KnowsLeader(agent) ? LeaderAddress() : null) ?? "")),
            ("GET", [_, "status", "peers"]) => Ok(new JsonArray([.. RaftServers().Select(a => (JsonNode)JsonValue.Create($"{a.Ip}:8300"))])),
            ("GET", [_, "operator", "raft", "configuration"]) when query.ContainsKey("stale") && agent.Server =>
                Require(acl, "operator", "", false) ?? Read(RaftConfiguration(agent.InRaft ? RaftServers() : [])),
            ("GET", [_, "operator", "raft", "configuration"]) => Require(acl, "operator", "", false) ?? NeedsLeader() ?? Read(RaftConfiguration(RaftServers())),
            ("GET", [_, "agent", "self"]) => Require(acl, "agent", agent.Name, false) ?? Ok(Self(agent)),
            ("DELETE", [_, "operator", "raft", "peer"]) => Require(acl, "operator", "", true) ?? NeedsLeader() ?? RemovePeer(query),
            ("GET", [_, "operator", "autopilot", "health"]) => Require(acl, "operator", "", false) ?? NeedsLeader() ?? AutopilotHealth(),
            ("GET", [_, "agent", "members"]) => Ok(new JsonArray([.. Datacenter.Agents
                .Where(a => a.Status != MemberStatus.None && acl.Allows("node", a.Name, false)).OrderBy(a => a.Name).Select(Member)])),
            ("PUT", [_, "agent", "service", "register"]) => Register(agent, body, acl),
            ("PUT", [_, "agent", "service", "deregister", var id]) => Deregister(agent, id, acl),
            ("GET", [_, "agent", "services"]) => Ok(new JsonObject(agent.Services.Values
                .Where(s => acl.Allows("service", s.Name, false)).Select(s => KeyValuePair.Create(s.Id, (JsonNode?)AgentService(s))))),
            ("GET", [_, "health", "service", var name]) => NeedsLeader() ?? Read(ServiceHealth(name, acl)),
            ("GET", [_, "health", "node", var node]) => NeedsLeader() ?? Read(Ok(NodeChecks(node, acl))),
            ("PUT", [_, "catalog", "register"]) => NeedsLeader() ?? CatalogRegister(body, acl),
            ("PUT", [_, "catalog", "deregister"]) => NeedsLeader() ?? CatalogDeregister(body, acl),
            ("GET", [_, "catalog", "node", var node]) => NeedsLeader() ?? Read(CatalogNodeServices(node, acl) is { } found ? Ok(found) : new ConsulAnswer(200) { JsonNull = true }),
            ("PUT", [_, "agent", "token", var kind]) => Require(acl, "agent", agent.Name, true) ?? SetAgentToken(agent, kind, body),
            ("GET", [_, "agent", "metrics"]) => Require(acl, "agent", agent.Name, false) ?? Metrics(agent, query),
            ("PUT", [_, "agent", "leave"]) => Require(acl, "agent", agent.Name, true) ?? Leave(agent),
            ("PUT", [_, "agent", "force-leave", var node]) => Require(acl, "operator", "", true) ?? ForceLeave(node, query.ContainsKey("prune")),
            (_, [_, "acl", ..]) when !Datacenter.AclEnabled => new ConsulAnswer(401, "ACL support disabled"),
            ("PUT", [_, "acl", "bootstrap"]) => NeedsLeader() ?? Bootstrap(body, behaviour),
            ("GET", [_, "acl", "token", "self"]) => Read(TokenSelf(token, behaviour)),
            ("GET", [_, "acl", "token", var accessor]) => Require(acl, "acl", "", false) ?? Read(ReadToken(accessor, acl, behaviour)),
            ("DELETE", [_, "acl", "token", var accessor]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? DeleteToken(accessor, token),
            ("PUT", [_, "acl", "token"]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WriteToken(null, body!, behaviour),
            ("PUT", [_, "acl", "token", var accessor]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WriteToken(accessor, body!, behaviour),
            ("GET", [_, "acl", "policies"]) => Require(acl, "acl", "", false) ?? Read(ListPolicies()),
            ("GET", [_, "acl", "policy", "name", var name]) when behaviour.HasPolicyByNameRoute => Require(acl, "acl", "", false) ?? Read(ReadPolicy(p => p.Name == name, behaviour)),
            ("GET", [_, "acl", "policy", .. var id]) => Require(acl, "acl", "", false) ?? Read(ReadPolicyById(string.Join('/', id), behaviour)),
            ("PUT", [_, "acl", "policy"]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WritePolicy(null, body!, behaviour),
            ("PUT", [_, "acl", "policy", var id]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? WritePolicy(id, body!, behaviour),
            ("DELETE", [_, "acl", "policy", var id]) => Require(acl, "acl", "", true) ?? NeedsLeader() ?? DeletePolicy(id),
            ("GET", [_, "kv", .. var key]) => NeedsLeader() ?? Require(acl, "key", string.Join('/', key), false) ?? Read(ReadKey(string.Join('/', key))),
            ("PUT", [_, "kv", .. var key]) => NeedsLeader() ?? Require(acl, "key", string.Join('/', key), true) ?? WriteKey(string.Join('/', key), raw ?? []),
            ("DELETE", [_, "kv", .. var key]) => NeedsLeader() ?? Require(acl, "key", string.Join('/', key), true) ?? DeleteKey(string.Join('/', key)),
            // [SN2] agent/consul/snapshot_endpoint.go dispatchSnapshotRequest: forwarded to the leader unless stale (a
            // save only), one ACL sense for both (rule.Snapshot()); a restore replaces the state.
            ("GET", [_, "snapshot"]) => (query.ContainsKey("stale") ? null : NeedsLeader()) ?? Require(acl, "acl", "", true) ?? SaveSnapshot(),
            ("PUT", [_, "snapshot"]) => NeedsLeader() ?? Require(acl, "acl", "", true) ?? RestoreSnapshot(raw ?? []),
            ("GET", [_, "operator", "keyring"]) => Require(acl, "keyring", "", false) ?? Keyring(),
            (_, [_, "operator", "keyring"]) => Require(acl, "keyring", "", true) ?? ChangeKeyring(method, (string?)body?["Key"]),
            _ => new ConsulAnswer(405, $"method {method} not allowed") { Allow = methods },
        };
        if (method != "GET" && answer.StatusCode == 200)
        {
            Datacenter.Wrote();
        }

        return answer;
    }

    // [U2] Before 1.7.3 there is no /acl/policy/name route: the path falls to /acl/policy/:id with the id "name/<name>".
    private static string[]? Endpoint(string[] segments, UpstreamBehaviour behaviour) => Endpoints
        .Where(e => behaviour.HasPolicyByNameRoute || e.Pattern != "acl/policy/name/*")
        .Where(e => Matches(e.Pattern.Split('/'), segments))
        .Select(e => e.Methods)
        .FirstOrDefault();

    private static bool Matches(string[] pattern, string[] segments) =>
        pattern[^1] == "*"
            ? segments.Length >= pattern.Length && pattern.AsSpan(0, pattern.Length - 1).SequenceEqual(segments.AsSpan(0, pattern.Length - 1))
            : pattern.AsSpan().SequenceEqual(segments);

    // [H2] Reads answered from the state store carry X-Consul-Index (setMeta in each handler).
    private ConsulAnswer Read(ConsulAnswer answer) => answer with { Index = Datacenter.Index };

    private static ConsulAnswer? Require(Authorizer acl, string resource, string name, bool write) =>
        acl.Allows(resource, name, write) ? null : new ConsulAnswer(403, $"Permission denied: token lacks permission '{resource}:{(write ? "write" : "read")}'");

    private ConsulAnswer? NeedsLeader() => Datacenter.Leader is null ? new ConsulAnswer(500, "No cluster leader") : null;

    private string? LeaderAddress() => Datacenter.Leader is { } leader ? $"{Datacenter.Find(leader)!.Ip}:8300" : null;

    private List<Agent> RaftServers() => [.. Datacenter.RaftMembers];

    // [R6] agent/consul/operator_raft_endpoint.go RaftGetConfiguration: the node name and raft protocol come from the serf
    // member at the server's raft address, "(unknown)" and "unknown" when no member has that address (a former server).
    // With ?stale any server answers from its own raft state: a server that never joined raft has an empty configuration.
    private ConsulAnswer RaftConfiguration(List<Agent> servers) => Ok(new JsonObject
    {
        ["Servers"] = new JsonArray([.. servers.Select(a =>
        {
            var address = ConsulDatacenter.RaftAddressOf(a);
            var member = Datacenter.Agents.FirstOrDefault(m => ConsulDatacenter.OwnRaftAddress(m) == address && m.Status != MemberStatus.None);
            return (JsonNode)new JsonObject
            {
                ["ID"] = a.Id,
                ["Node"] = member?.Name ?? "(unknown)",
                ["Address"] = address,
                ["Leader"] = a.Name == Datacenter.Leader && member == a,
                ["ProtocolVersion"] = member is null ? "unknown" : "3",
                ["Voter"] = a.Voter,
            };
        })]),
        ["Index"] = 22,
    });

    // [R7] agent/agent_endpoint.go AgentSelf (agent:read on the agent's own node): Config, Member and Stats, where a
    // server's Stats has "raft" (agent/consul/server.go Server.Stats: hashicorp/raft Stats(), every value a string).
    // Only the fields the operator reads are filled; last_log_term is made up (always "2"), like LastTerm in autopilot.
    private JsonObject Self(Agent agent)
    {
        var stats = new JsonObject
        {
            ["consul"] = new JsonObject { ["server"] = agent.Server ? "true" : "false", ["leader"] = agent.Name == Datacenter.Leader ? "true" : "false" },
        };
        if (agent.Server)
        {
            var known = agent.InRaft ? RaftServers() : [];
            stats["raft"] = new JsonObject
            {
                ["state"] = agent.Name == Datacenter.Leader ? "Leader" : Datacenter.Leader is null ? "Candidate" : "Follower",
                ["last_log_index"] = Datacenter.LastIndexOf(agent).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["last_log_term"] = "2",
                ["num_peers"] = Math.Max(0, known.Count(a => a.Voter) - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["latest_configuration"] = $"[{string.Join(" ", known.Select(a => $"{{Suffrage:{(a.Voter ? "Voter" : "Nonvoter")} ID:{a.Id} Address:{ConsulDatacenter.RaftAddressOf(a)}}}"))}]",
            };
        }

        return new JsonObject
        {
            ["Config"] = new JsonObject
            {
                ["Datacenter"] = Datacenter.Name,
                ["NodeName"] = agent.Name,
                ["NodeID"] = agent.Id,
                ["Server"] = agent.Server,
                ["Version"] = agent.Version,
            },
            ["Member"] = Member(agent),
            ["Stats"] = stats,
        };
    }

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
                ["LastIndex"] = Datacenter.LastIndexOf(a),
                ["Healthy"] = a.Status == MemberStatus.Alive && a.Healthy,
                ["Voter"] = a.Voter,
                ["StableSince"] = a.JoinedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            })]),
        };
        return new ConsulAnswer(healthy ? 200 : 429, Json: reply);
    }

    // [M1] agent/agent_endpoint.go AgentMetrics: agent:read on the agent's own node; Prometheus text with ?format=prometheus,
    // only while telemetry.prometheus_retention_time is positive (else 415 with the text below). [M2] Metric names are
    // go-metrics keys with '.' as '_' (docs: agent telemetry); gauges carry the host name unless disable_hostname is set.
    // The values are made up; only the names and the shape are upstream's.
    private ConsulAnswer Metrics(Agent agent, IQueryCollection query)
    {
        var telemetry = agent.Start?.Config["telemetry"] as JsonObject;
        if ((string?)query["format"] != "prometheus")
        {
            return Ok(new JsonObject { ["Timestamp"] = "2026-12-02 00:00:00 +0000 UTC", ["Gauges"] = new JsonArray(), ["Points"] = new JsonArray(), ["Counters"] = new JsonArray(), ["Samples"] = new JsonArray() });
        }

        if (!(ConsulOperator.Api.GoDuration.TryParse((string?)telemetry?["prometheus_retention_time"], out var retention) && retention > TimeSpan.Zero))
        {
            return new ConsulAnswer(415, "Prometheus is not enabled since its retention time is not positive");
        }

        var host = (bool?)telemetry?["disable_hostname"] == true ? "" : agent.Name.Replace('-', '_') + "_";
        var gauges = new List<(string Name, double Value)> { ($"consul_{host}runtime_alloc_bytes", 12_582_912), ($"consul_{host}runtime_num_goroutines", 87) };
        var help = new Dictionary<string, string>();
        if (agent.Behaviour.EmitsAgentCertificateExpiry && agent.Start is { } start && AgentTls.Of(start) is { } tls)
        {
            // [M3] The one value here that is not made up: what the certificate the agent serves has left.
            var family = $"consul_{host}agent_tls_cert_expiry";
            gauges.Add((family, Math.Floor((tls.Serving.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalSeconds)));
            help[family] = "Seconds until the agent tls certificate expires. Updated every hour";
        }

        var leader = agent.Name == Datacenter.Leader;
        if (agent.Server && (leader || agent.Behaviour.EmitsAutopilotMetricsOnEveryServer))
        {
            var servers = RaftServers();
            var voters = servers.Count(a => a.Voter);
            var label = agent.Behaviour.EmitsAutopilotMetricsOnEveryServer ? $"{{leader=\"{(leader ? "true" : "false")}\"}}" : "";
            gauges.Add(($"consul_{host}autopilot_healthy{label}", servers.All(a => a.Status == MemberStatus.Alive && a.Healthy) ? 1 : 0));
            gauges.Add(($"consul_{host}autopilot_failure_tolerance{label}", Math.Max(0, servers.Count(a => a.Voter && a.Status == MemberStatus.Alive && a.Healthy) - ((voters / 2) + 1))));
        }

        var text = string.Concat(gauges.Select(g => (Family: g.Name.Split('{')[0], Sample: $"{g.Name} {g.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))
            .Select(g => $"# HELP {g.Family} {help.GetValueOrDefault(g.Family, g.Family)}\n# TYPE {g.Family} gauge\n{g.Sample}\n"));
        return new ConsulAnswer(200, text);
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
        var definitions = (body["Checks"] as JsonArray ?? []).Append(body["Check"]).OfType<JsonObject>().ToList();
        if (definitions.Select(CheckProblem).FirstOrDefault(p => p is not null) is { } invalid)
        {
            return new ConsulAnswer(400, $"Invalid check: {invalid}");
        }

        var checks = new List<RegisteredCheck>();
        foreach (var check in definitions)
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

    // [S1] agent/structs/check_type.go CheckType.Validate: HTTP, TCP, gRPC and script checks need an interval, the others a TTL, never both.
    private static string? CheckProblem(JsonObject check)
    {
        var interval = Seconds(check["Interval"]);
        var ttl = Seconds(check["TTL"]);
        var intervalCheck = check["ScriptArgs"] is JsonArray { Count: > 0 } || IntervalCheckKinds.Any(k => (string?)check[k] is { Length: > 0 });
        return (interval > 0 && ttl > 0) ? "Interval and TTL cannot both be specified"
            : intervalCheck && interval <= 0 ? "Interval must be > 0 for Script, HTTP, or TCP checks"
            : !intervalCheck && ttl <= 0 ? "TTL must be > 0 for TTL checks"
            : null;
    }

    private static double Seconds(JsonNode? duration) =>
        (string?)duration is { Length: > 0 } text && ConsulOperator.Api.GoDuration.TryParse(text, out var parsed) ? parsed.TotalSeconds : 0;

    // [U6] A service the agent does not hold: 500 or 404 by version, checked before the ACL.
    private static ConsulAnswer Deregister(Agent agent, string id, Authorizer acl)
    {
        if (!agent.Services.TryGetValue(id, out var service))
        {
            return new ConsulAnswer(agent.Behaviour.UnknownServiceStatus, UpstreamBehaviour.UnknownService(id));
        }

        if (!acl.Allows("service", service.Name, true))
        {
            return new ConsulAnswer(403, "Permission denied");
        }

        agent.Services.Remove(id);
        return Empty();
    }

    private static IEnumerable<JsonNode> ServiceChecks(string node, RegisteredService s) =>
        s.Checks.Select(c => (JsonNode)new JsonObject { ["Node"] = node, ["CheckID"] = c.Id, ["Name"] = c.Name, ["Status"] = c.Status, ["ServiceID"] = s.Id, ["ServiceName"] = s.Name, ["Output"] = "" });

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
                    .. ServiceChecks(a.Name, s)]),
            }));

        // [CT1] A catalog node has no serfHealth: no agent gossips for it.
        var catalogEntries = Datacenter.CatalogNodes.Values.Where(n => acl.Allows("node", n.Name, false))
            .SelectMany(n => n.Services.Values.Where(s => s.Name == name).Select(s => (JsonNode)new JsonObject
            {
                ["Node"] = new JsonObject { ["Node"] = n.Name, ["Address"] = n.Address, ["Datacenter"] = Datacenter.Name },
                ["Service"] = AgentService(s),
                ["Checks"] = new JsonArray([.. ServiceChecks(n.Name, s)]),
            }));
        return Ok(new JsonArray([.. entries, .. catalogEntries]));
    }

    // [CT1] agent/catalog_endpoint.go Register (docs: Catalog HTTP API, "Register Entity": Node and Address required,
    // ACL node:write,service:write; a Service without ID takes its name as ID; one service per ID on a node). The check
    // keeps the Status it is given; no agent runs it.
    private ConsulAnswer CatalogRegister(JsonObject? body, Authorizer acl)
    {
        var node = (string?)body?["Node"];
        var address = (string?)body?["Address"];
        if (string.IsNullOrEmpty(node) || string.IsNullOrEmpty(address))
        {
            return new ConsulAnswer(400, "Must provide node and address");
        }

        var service = body!["Service"] as JsonObject;
        var name = (string?)service?["Service"];
        if (!acl.Allows("node", node, true) || (name is not null && !acl.Allows("service", name, true)))
        {
            return new ConsulAnswer(403, "Permission denied");
        }

        lock (Datacenter.Gate)
        {
            var nodes = Datacenter.CatalogNodesLocked;
            var entry = nodes.GetValueOrDefault(node) ?? new CatalogNode(node, address, body["NodeMeta"]?.DeepClone() as JsonObject ?? []);
            entry.Address = address;
            nodes[node] = entry;

            if (service is not null && name is not null)
            {
                var id = (string?)service["ID"] is { Length: > 0 } given ? given : name;
                var checks = (body["Checks"] as JsonArray ?? []).Append(body["Check"]).OfType<JsonObject>().Where(c => (string?)c["ServiceID"] == id)
                    .Select(c => new RegisteredCheck((string?)c["CheckID"] ?? $"service:{id}", (string?)c["Name"] ?? "", (string?)c["Status"] ?? "critical")).ToList();
                entry.Services[id] = new RegisteredService(
                    id, name, [.. (service["Tags"] as JsonArray ?? []).Select(t => (string)t!)], (string?)service["Address"] ?? address, (int?)service["Port"] ?? 0,
                    service["Meta"]?.DeepClone() as JsonObject ?? [], checks);
            }
        }

        return Ok(JsonValue.Create(true));
    }

    // [CT1] agent/catalog_endpoint.go Deregister: a ServiceID removes that service and its checks (service:write on it),
    // no ServiceID the node and everything on it (node:write).
    private ConsulAnswer CatalogDeregister(JsonObject? body, Authorizer acl)
    {
        var node = (string?)body?["Node"];
        if (string.IsNullOrEmpty(node))
        {
            return new ConsulAnswer(400, "Must provide node");
        }

        lock (Datacenter.Gate)
        {
            var nodes = Datacenter.CatalogNodesLocked;
            if (!nodes.TryGetValue(node, out var entry))
            {
                return Ok(JsonValue.Create(true));
            }

            if ((string?)body!["ServiceID"] is { Length: > 0 } id)
            {
                if (entry.Services.TryGetValue(id, out var held) && !acl.Allows("service", held.Name, true))
                {
                    return new ConsulAnswer(403, "Permission denied");
                }

                entry.Services.Remove(id);
            }
            else if (!acl.Allows("node", node, true))
            {
                return new ConsulAnswer(403, "Permission denied");
            }
            else
            {
                nodes.Remove(node);
            }
        }

        return Ok(JsonValue.Create(true));
    }

    // [CT1] GET /v1/catalog/node/:node: the node and its services (filtered by node:read and service:read); a JSON null
    // for a node the catalog does not hold.
    private JsonObject? CatalogNodeServices(string node, Authorizer acl)
    {
        if (!acl.Allows("node", node, false) || Datacenter.CatalogNodes.GetValueOrDefault(node) is not { } entry)
        {
            return null;
        }

        return new JsonObject
        {
            ["Node"] = new JsonObject { ["Node"] = entry.Name, ["Address"] = entry.Address, ["Meta"] = entry.Meta.DeepClone() },
            ["Services"] = new JsonObject(entry.Services.Values.Where(s => acl.Allows("service", s.Name, false)).Select(s => KeyValuePair.Create(s.Id, (JsonNode?)AgentService(s)))),
        };
    }

    // [CT1] GET /v1/health/node/:node: the checks of a catalog node, each with its ServiceID.
    private JsonArray NodeChecks(string node, Authorizer acl) =>
        !acl.Allows("node", node, false) || Datacenter.CatalogNodes.GetValueOrDefault(node) is not { } entry
            ? []
            : new JsonArray([.. entry.Services.Values.Where(s => acl.Allows("service", s.Name, false)).SelectMany(s => s.Checks.Select(c => (JsonNode)new JsonObject
            {
                ["Node"] = node, ["CheckID"] = c.Id, ["Name"] = c.Name, ["Status"] = c.Status, ["ServiceID"] = s.Id, ["ServiceName"] = s.Name, ["Output"] = "",
            }))]);

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

        // [M1] A failed member becomes left (with prune, gone); an alive one refutes the leave intent about itself and
        // stays alive, prune or not.
        if (agent.Status == MemberStatus.Failed)
        {
            Datacenter.Leave(agent);
        }

        return Empty();
    }

    private ConsulAnswer Bootstrap(JsonObject? body, UpstreamBehaviour behaviour) =>
        Datacenter.Bootstrap((string?)body?["BootstrapSecret"] is { Length: > 0 } given ? given : null, behaviour) is { } token
            ? Ok(TokenJson(token, behaviour))
            : new ConsulAnswer(403, "Permission denied: ACL bootstrap no longer allowed (reset index: 13)");

    // [A4] token/self resolves the secret it is sent; one Consul does not know fails that resolution (403 "ACL not found").
    private ConsulAnswer TokenSelf(string? secret, UpstreamBehaviour behaviour) =>
        Datacenter.Tokens.Values.FirstOrDefault(t => t.SecretId == secret) is { } token ? Ok(TokenJson(token, behaviour)) : new ConsulAnswer(403, "ACL not found");

    // [A7] agent/consul/acl.go aclFilter.redactTokenSecret: a caller without acl:write reads "<hidden>" for the SecretID.
    private ConsulAnswer ReadToken(string accessor, Authorizer acl, UpstreamBehaviour behaviour) =>
        !Datacenter.Tokens.TryGetValue(accessor, out var token) ? behaviour.MissingAclObject()
        : acl.Allows("acl", "", true) ? Ok(TokenJson(token, behaviour))
        : Ok(TokenJson(token with { SecretId = "<hidden>" }, behaviour));

    // [A8] agent/consul/acl_endpoint.go TokenDelete: a token that does not exist is nothing to do; the anonymous token
    // and the request's own token cannot be deleted. The HTTP answer is true.
    private ConsulAnswer DeleteToken(string accessor, string? requestSecret)
    {
        if (!Guid.TryParse(accessor, out _))
        {
            return new ConsulAnswer(500, "Accessor ID is missing or an invalid UUID");
        }

        if (accessor == ConsulDatacenter.AnonymousAccessor)
        {
            return new ConsulAnswer(500, "Delete operation not permitted on the anonymous token");
        }

        if (Datacenter.Tokens.TryGetValue(accessor, out var existing) && existing.SecretId == requestSecret)
        {
            return new ConsulAnswer(500, "Deletion of the request's authorization token is not permitted");
        }

        Datacenter.Tokens.Remove(accessor);
        return Ok(JsonValue.Create(true));
    }

    // [A8] PolicyDelete: a policy that does not exist is nothing to do; global-management cannot be deleted.
    private ConsulAnswer DeletePolicy(string id)
    {
        if (id == ConsulDatacenter.GlobalManagementId)
        {
            return new ConsulAnswer(500, "Delete operation not permitted on the builtin global-management policy");
        }

        Datacenter.Policies.Remove(id);
        return Ok(JsonValue.Create(true));
    }

    // [KV1] docs: KV Store HTTP API. A read answers a list with the base64 value and 404 with no body when the key is
    // missing; a write and a delete answer true. key:read and key:write decide, by the longest key rule.
    private ConsulAnswer ReadKey(string key) => Datacenter.Keys.TryGetValue(key, out var entry)
        ? Ok(new JsonArray(new JsonObject
        {
            ["LockIndex"] = 0,
            ["Key"] = key,
            ["Flags"] = 0,
            ["Value"] = Convert.ToBase64String(entry.Value),
            ["CreateIndex"] = entry.CreateIndex,
            ["ModifyIndex"] = entry.ModifyIndex,
        }))
        : new ConsulAnswer(404, "");

    private ConsulAnswer WriteKey(string key, byte[] value)
    {
        Datacenter.PutKey(key, value);
        return Ok(JsonValue.Create(true));
    }

    private ConsulAnswer SaveSnapshot()
    {
        var archive = Datacenter.TakeSnapshot();
        return new ConsulAnswer(200, Bytes: archive.Write()) { Index = archive.Index };
    }

    // A file that fails the checks is refused with snapshot.Read's error, which the HTTP layer answers with 500.
    private ConsulAnswer RestoreSnapshot(byte[] file)
    {
        var (archive, error) = SnapshotArchive.Read(file);
        if (archive is null)
        {
            return new ConsulAnswer(500, error);
        }

        Datacenter.Restore(archive);
        return new ConsulAnswer(200, "");
    }

    private ConsulAnswer DeleteKey(string key)
    {
        Datacenter.Keys.Remove(key);
        return Ok(JsonValue.Create(true));
    }

    // [A5] agent/consul/acl_endpoint.go tokenSetInternal (@ 03b2be4d): a create may choose its AccessorID and SecretID
    // (UUIDs, unused, not reserved); links name existing policies by ID or name; an update needs the token to exist and
    // may not change its secret. Every refusal is a plain error, which agent/http.go answers with 500.
    // [U4] NodeIdentities only where the version has them; [A9] ServiceIdentities (1.5.0, before every simulated version).
    private ConsulAnswer WriteToken(string? accessor, JsonObject body, UpstreamBehaviour behaviour)
    {
        var policyIds = new List<string>();
        foreach (var link in (body["Policies"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var (id, name) = ((string?)link["ID"], (string?)link["Name"]);
            var policy = Datacenter.Policies.Values.FirstOrDefault(p => id is { Length: > 0 } ? p.Id == id : p.Name == name);
            if (policy is null)
            {
                return new ConsulAnswer(500, id is { Length: > 0 } ? $"No such ACL policy with ID \"{id}\"" : $"No such ACL policy with name \"{name}\"");
            }

            policyIds.Add(policy.Id);
        }

        var nodes = behaviour.HasNodeIdentities ? (body["NodeIdentities"] as JsonArray ?? []).OfType<JsonObject>().Select(n => (string)n["NodeName"]!).ToList() : [];
        var services = new List<ConsulDatacenter.ServiceIdentity>();
        foreach (var identity in (body["ServiceIdentities"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = (string?)identity["ServiceName"] ?? "";
            if (name.Length == 0)
            {
                return new ConsulAnswer(500, "Service identity is missing the service name field on this token");
            }

            services.Add(new(name, [.. (identity["Datacenters"] as JsonArray ?? []).Select(d => (string)d!)]));
        }

        var bodyAccessor = (string?)body["AccessorID"] is { Length: > 0 } a ? a : null;
        Token token;
        if (accessor is null)
        {
            if (bodyAccessor is not null && Refused(bodyAccessor, "AccessorID") is { } refusedAccessor)
            {
                return refusedAccessor;
            }

            var secret = (string?)body["SecretID"] is { Length: > 0 } given ? given : Guid.NewGuid().ToString();
            if (Refused(secret, "SecretID") is { } refusedSecret)
            {
                return refusedSecret;
            }

            token = new Token(bodyAccessor ?? Guid.NewGuid().ToString(), secret, (string?)body["Description"] ?? "", policyIds, nodes) { ServiceIdentities = services };
        }
        else if (Datacenter.Tokens.TryGetValue(accessor, out var existing))
        {
            if ((string?)body["SecretID"] is { Length: > 0 } changed && changed != existing.SecretId)
            {
                return new ConsulAnswer(500, "Changing a tokens SecretID is not permitted");
            }

            token = existing with { Description = (string?)body["Description"] ?? existing.Description, PolicyIds = policyIds, NodeIdentities = nodes, ServiceIdentities = services };
        }
        else
        {
            return new ConsulAnswer(500, $"Cannot find token \"{accessor}\"");
        }

        Datacenter.Tokens[token.AccessorId] = token;
        return Ok(TokenJson(token, behaviour));
    }

    // [A5] The texts of tokenSetInternal's checks on a chosen AccessorID or SecretID.
    private ConsulAnswer? Refused(string id, string field) =>
        !Guid.TryParse(id, out _) ? new ConsulAnswer(500, $"Invalid Token: {field} is not a valid UUID")
        : Datacenter.Tokens.Values.Any(t => t.AccessorId == id || t.SecretId == id) ? new ConsulAnswer(500, $"Invalid Token: {field} is already in use")
        : UpstreamBehaviour.IsReservedId(id) ? new ConsulAnswer(500, "Invalid Token: UUIDs with the prefix \"00000000-0000-0000-0000-0000000000\" are reserved")
        : null;

    private JsonObject TokenJson(Token token, UpstreamBehaviour behaviour)
    {
        var json = new JsonObject
        {
            ["AccessorID"] = token.AccessorId,
            ["SecretID"] = token.SecretId,
            ["Description"] = token.Description,
            // [A11] A link to a policy deleted since is dropped when the token is read (state/acl.go fixupTokenPolicyLinks).
            ["Policies"] = new JsonArray([.. token.PolicyIds.Where(Datacenter.Policies.ContainsKey).Select(id => (JsonNode)new JsonObject { ["ID"] = id, ["Name"] = Datacenter.Policies[id].Name })]),
            ["Local"] = false,
        };
        if (token.ServiceIdentities.Count > 0)
        {
            json["ServiceIdentities"] = new JsonArray([.. token.ServiceIdentities.Select(i => (JsonNode)new JsonObject
            {
                ["ServiceName"] = i.ServiceName,
                ["Datacenters"] = i.Datacenters.Count == 0 ? null : new JsonArray([.. i.Datacenters.Select(d => (JsonNode)d)]),
            })]);
        }

        if (behaviour.HasNodeIdentities && token.NodeIdentities.Count > 0)
        {
            json["NodeIdentities"] = new JsonArray([.. token.NodeIdentities.Select(n => (JsonNode)new JsonObject { ["NodeName"] = n, ["Datacenter"] = Datacenter.Name })]);
        }

        return json;
    }

    // [A6] GET /v1/acl/policies: stubs without Rules (structs.ACLPolicyListStub).
    private ConsulAnswer ListPolicies() => Ok(new JsonArray([.. Datacenter.Policies.Values.OrderBy(p => p.Name, StringComparer.Ordinal)
        .Select(p => (JsonNode)new JsonObject { ["ID"] = p.Id, ["Name"] = p.Name, ["Description"] = "", ["Datacenters"] = null, ["Hash"] = "", ["CreateIndex"] = 1, ["ModifyIndex"] = 1 })]));

    // [U2] Before the name route, "name/<name>" reaches the state store as a policy ID and fails its UUID index (#8032).
    private ConsulAnswer ReadPolicyById(string id, UpstreamBehaviour behaviour) => id.Length != 36
        ? new ConsulAnswer(500, "rpc error making call: failed acl policy lookup: index error: UUID must be 36 characters")
        : ReadPolicy(p => p.Id == id, behaviour);

    private ConsulAnswer ReadPolicy(Func<Policy, bool> which, UpstreamBehaviour behaviour) =>
        Datacenter.Policies.Values.FirstOrDefault(which) is { } policy ? Ok(PolicyJson(policy)) : behaviour.MissingAclObject();

    // [A10] agent/consul/acl_endpoint.go PolicySet (@ 03b2be4d): a name is required and must be valid; a new policy's
    // name must be free; an update needs the ID to exist ("cannot find policy"); the rules must parse (acl/policy.go).
    // Plain errors, so agent/http.go answers 500.
    private ConsulAnswer WritePolicy(string? id, JsonObject body, UpstreamBehaviour behaviour)
    {
        var name = (string?)body["Name"] ?? "";
        var rules = (string?)body["Rules"] ?? "";
        if (name.Length == 0)
        {
            return new ConsulAnswer(500, "Invalid Policy: no Name is set");
        }

        if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Za-z0-9\\-_]{1,128}$"))
        {
            return new ConsulAnswer(500, "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
        }

        if (id is not null && !Datacenter.Policies.ContainsKey(id))
        {
            return new ConsulAnswer(500, $"cannot find policy {id}");
        }

        if (Datacenter.Policies.Values.Any(p => p.Name == name && p.Id != id))
        {
            return new ConsulAnswer(500, $"Invalid Policy: A Policy with Name \"{name}\" already exists");
        }

        if (AclRules.Validate(rules) is { } error)
        {
            return new ConsulAnswer(500, error);
        }

        var policy = new Policy(id ?? Guid.NewGuid().ToString(), name, rules)
        {
            Description = (string?)body["Description"] ?? "",
            Datacenters = [.. (body["Datacenters"] as JsonArray ?? []).Select(d => (string)d!)],
        };
        Datacenter.Policies[policy.Id] = policy;
        return Ok(PolicyJson(policy));
    }

    private static JsonObject PolicyJson(Policy policy) => new()
    {
        ["ID"] = policy.Id,
        ["Name"] = policy.Name,
        ["Description"] = policy.Description,
        ["Rules"] = policy.Rules,
        ["Datacenters"] = policy.Datacenters.Count == 0 ? null : new JsonArray([.. policy.Datacenters.Select(d => (JsonNode)d)]),
    };

    // [K1] One answer per gossip pool (WAN: the servers; LAN: every member), counting the alive members that hold and use each key.
    private ConsulAnswer Keyring()
    {
        var alive = Datacenter.Alive.ToList();
        JsonObject Pool(bool wan, List<Agent> members)
        {
            var answering = Answering(members).ToList();
            return new()
            {
                ["WAN"] = wan,
                ["Datacenter"] = Datacenter.Name,
                ["Segment"] = "",
                ["Keys"] = new JsonObject(answering.SelectMany(m => m.Keys).Distinct().Select(k => KeyValuePair.Create(k, (JsonNode?)answering.Count(m => m.Keys.Contains(k))))),
                ["PrimaryKeys"] = new JsonObject(answering.Where(m => m.Keys.Count > 0).GroupBy(m => m.Keys[0]).Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Count()))),
                ["NumNodes"] = members.Count,
            };
        }

        return Ok(new JsonArray(Pool(true, [.. alive.Where(a => a.Server)]), Pool(false, alive)));
    }

    // [K1] Install, use and remove go to every alive member (a serf query); a member that is down misses the change.
    private ConsulAnswer ChangeKeyring(string method, string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return new ConsulAnswer(400, "Request decode failed: missing Key");
        }

        var alive = Answering(Datacenter.Alive).ToList();
        switch (method)
        {
            case "POST":
                alive.Where(a => !a.Keys.Contains(key)).ToList().ForEach(a => a.Keys.Add(key));
                return Empty();
            case "PUT":
                var lacking = alive.Where(a => !a.Keys.Contains(key)).Select(a => a.Name).ToList();
                foreach (var member in alive.Where(a => a.Keys.Contains(key)))
                {
                    member.Keys.Remove(key);
                    member.Keys.Insert(0, key);
                }

                return lacking.Count == 0 ? Empty() : new ConsulAnswer(500, $"{Datacenter.Name} (LAN) error: {string.Join(", ", lacking)}: Requested key is not in the keyring");
            default:
                if (alive.Any(a => a.Keys.FirstOrDefault() == key))
                {
                    return new ConsulAnswer(500, $"{Datacenter.Name} (LAN) error: Removing the primary key is not allowed");
                }

                alive.ForEach(a => a.Keys.Remove(key));
                return Empty();
        }
    }

    private static IEnumerable<Agent> Answering(IEnumerable<Agent> members) => members.Where(m => m.KeyringResponsive);

    private static ConsulAnswer Ok(JsonNode json) => new(200, Json: json);

    private static ConsulAnswer Empty() => new(200);

}
