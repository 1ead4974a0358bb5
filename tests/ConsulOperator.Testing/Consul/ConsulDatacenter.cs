using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// The state of one simulated Consul datacenter, kept as Consul keeps it (UPSTREAM.md has the evidence per row):
/// an agent starts from what its pod holds (<see cref="AgentStart"/>) and refuses a configuration its version does
/// not know; gossip admits only members that share a key; raft bootstraps once <c>bootstrap_expect</c> servers that
/// agree on it have joined and none has raft state, and has a leader only while a majority of voters is alive; a server
/// that stops without leaving stays a failed voter, also after its volume is gone and a new server took its name; a new
/// server joins raft only through a leader and becomes a voter after autopilot's stabilization time; ACLs bootstrap once.
/// </summary>
public sealed class ConsulDatacenter(TimeProvider time)
{
    public const string AnonymousAccessor = UpstreamBehaviour.AnonymousTokenAccessor;
    public const string GlobalManagement = "global-management";
    public const string GlobalManagementId = UpstreamBehaviour.GlobalManagementPolicyId;

    // Machines sort after every pod (the ordinal orders raft members and elections), and their ordinals say which they are.
    private const int MachineOrdinalBase = 1000;

    private readonly Lock gate = new();
    private readonly Dictionary<string, Agent> agents = [];

    // Servers whose data volume is gone while raft still lists them: a new server took over the name (and the gossip
    // member), but raft knows them by ID and keeps them as voters until someone removes them or recovers raft.
    private readonly List<Agent> formerServers = [];
    private readonly Dictionary<string, Token> tokens = [];
    private readonly Dictionary<string, Policy> policies = [];
    private readonly Dictionary<string, KeyEntry> keys = [];
    private readonly Dictionary<string, IReadOnlyList<string>> startFailures = [];
    private readonly Dictionary<string, CatalogNode> catalogNodes = [];
    private string? leader;
    private bool forcedNoLeader;
    private bool elected;
    private ulong index = 10;

    /// <summary>The datacenter's name, from the servers' <c>datacenter</c>.</summary>
    public string Name { get; private set; } = "dc1";

    /// <summary>A Consul version whose agents come up unhealthy: a bad upgrade.</summary>
    public string? UnhealthyVersion { get; set; }

    /// <summary>How long a new server waits before autopilot makes it a voter.</summary>
    public TimeSpan Stabilization { get; set; } = TimeSpan.Zero;

    /// <summary>From the servers' <c>acl.enabled</c>.</summary>
    public bool AclEnabled { get; private set; }

    /// <summary>From the servers' <c>acl.default_policy</c>.</summary>
    public bool AclDefaultDeny { get; private set; }

    /// <summary>Why each agent that was due to start did not: the errors Consul would print before exiting.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> StartFailures
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<string, IReadOnlyList<string>>(startFailures);
            }
        }
    }

    /// <summary>The raft index that reads report in <c>X-Consul-Index</c>; every write moves it.</summary>
    public ulong Index
    {
        get
        {
            lock (gate)
            {
                return index;
            }
        }
    }

    internal void Wrote() => index++;

    public bool AclBootstrapped => Bootstraps > 0;

    /// <summary>Successful ACL bootstraps: Consul allows one.</summary>
    public int Bootstraps { get; private set; }

    /// <summary>Every bootstrap request, including those refused.</summary>
    public int AclBootstrapCalls { get; private set; }

    public Lock Gate => gate;

    /// <summary>Raft loses its leader (an election that does not finish) until lifted, whatever the voters say.</summary>
    public void ForceNoLeader(bool on)
    {
        lock (gate)
        {
            forcedNoLeader = on;
            ElectLeader();
        }
    }

    /// <summary>
    /// Starts (or restarts) the agent of a machine outside Kubernetes from its own configuration
    /// (<see cref="AgentStart.OnMachine"/>): a hand-built datacenter's servers, which the pods may join through spec.join.
    /// It keeps its address (<c>advertise_addr</c>) and data directory across restarts. Null when it started; else why not.
    /// </summary>
    public IReadOnlyList<string>? StartMachine(AgentStart start)
    {
        var name = start.NodeName ?? throw new ArgumentException("a machine's configuration names its node_name", nameof(start));
        lock (gate)
        {
            var ordinal = agents.Values.FirstOrDefault(a => a.Name == name)?.Ordinal ?? MachineOrdinalBase + agents.Values.Count(a => a.OutsideKubernetes);
            Start(new PodView(name, ordinal, $"machine:{name}:{Guid.NewGuid():N}", Running: true, Ready: false, () => start), start);
            PromoteStableServers();
            ElectLeader();
            return startFailures.GetValueOrDefault(name);
        }
    }

    /// <summary>Stops a machine's agent: with <paramref name="leave"/> as <c>consul leave</c> does (out of gossip and raft), else as a crash or power loss (a failed member, a server a failed voter).</summary>
    public void StopMachine(string name, bool leave)
    {
        lock (gate)
        {
            var agent = agents[name];
            FreezeIndexes();
            if (leave)
            {
                Leave(agent);
            }
            else
            {
                agent.Status = MemberStatus.Failed;
                ElectLeader();
            }
        }
    }

    /// <summary>
    /// Brings agents in line with the pods Kubernetes reports: a pod whose container runs, runs its agent (a new pod, by
    /// UID, is a restarted agent), a pod whose container does not run has none, and an agent whose pod is gone was
    /// terminated. Readiness plays no part: it is the kubelet's verdict on the agent (<see cref="PassesReadinessProbe"/>).
    /// </summary>
    public void ObservePods(IReadOnlyCollection<PodView> pods)
    {
        lock (gate)
        {
            FreezeIndexes();
            var byName = pods.ToDictionary(p => p.Name);
            foreach (var agent in agents.Values.Where(a => a.Status == MemberStatus.Alive && !a.OutsideKubernetes))
            {
                if (!byName.TryGetValue(agent.Name, out var pod))
                {
                    Terminated(agent);
                }
                else if (!pod.Running || pod.Uid != agent.PodUid)
                {
                    // Not running (crashed, or replaced by a new pod that has not started yet): gossip marks it failed.
                    agent.Status = MemberStatus.Failed;
                }
            }

            // Raft notices the failures before any new agent starts: one that starts finds the leadership they left.
            ElectLeader();

            // Clients join through the servers (retry_join), so servers come up first.
            var starting = pods.Where(p => p.Running && !Running(p)).Select(p => (Pod: p, Start: p.Read())).ToList();
            foreach (var (pod, start) in starting.OrderByDescending(s => s.Start.Server).ThenBy(s => s.Pod.Name, StringComparer.Ordinal))
            {
                Start(pod, start);
            }

            PromoteStableServers();
            ElectLeader();
        }
    }

    /// <summary>
    /// What our readiness probe (<c>/v1/status/leader</c> on the agent's own loopback, grep for a non-empty address)
    /// finds in the agent of this pod: it must run this pod and know a leader. A server knows one only as a member of
    /// raft; a client asks the servers.
    /// </summary>
    public bool PassesReadinessProbe(string podName, string podUid)
    {
        lock (gate)
        {
            return agents.GetValueOrDefault(podName) is { Status: MemberStatus.Alive } agent && agent.PodUid == podUid && KnowsLeader(agent);
        }
    }

    /// <summary>Whether the agent would answer <c>/v1/status/leader</c> with an address.</summary>
    internal bool KnowsLeader(Agent agent) => leader is not null && (!agent.Server || agent.InRaft);

    /// <summary>A copy of the raft configuration, for tests: present servers and former ones whose volume is gone.</summary>
    public IReadOnlyList<Agent> RaftPeers
    {
        get
        {
            lock (gate)
            {
                return [.. RaftMembers];
            }
        }
    }

    /// <summary>The raft configuration as its members hold it: every server raft lists, present or former.</summary>
    internal IEnumerable<Agent> RaftMembers => agents.Values.Where(a => a.Server && a.InRaft).Concat(formerServers).OrderBy(a => a.Ordinal).ThenBy(a => a.Id, StringComparer.Ordinal);

    /// <summary>The last raft index in the agent's own log: the leader's, less its lag, while it follows; else where it stopped.</summary>
    internal ulong LastIndexOf(Agent agent) => Following(agent) ? Behind(agent) : agent.FrozenIndex;

    private bool Following(Agent agent) => leader is not null && agent.Server && agent.InRaft && agent.Status == MemberStatus.Alive;

    private ulong Behind(Agent agent) => index > agent.RaftLag ? index - agent.RaftLag : 0;

    // A server's log stops growing when it stops or loses its leader: remember where, before anything changes.
    private void FreezeIndexes()
    {
        foreach (var agent in agents.Values.Where(Following))
        {
            agent.FrozenIndex = Behind(agent);
        }
    }

    public string? Leader
    {
        get
        {
            lock (gate)
            {
                return leader;
            }
        }
    }

    /// <summary>
    /// [CT1] Nodes registered straight into the catalog (<c>PUT /v1/catalog/register</c>), which no agent runs: nothing
    /// syncs them or checks them, so what is registered there stays until it is deregistered.
    /// </summary>
    public IReadOnlyDictionary<string, CatalogNode> CatalogNodes
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<string, CatalogNode>(catalogNodes);
            }
        }
    }

    internal Dictionary<string, CatalogNode> CatalogNodesLocked => catalogNodes;

    public IReadOnlyList<Agent> Agents
    {
        get
        {
            lock (gate)
            {
                return [.. agents.Values];
            }
        }
    }

    public Agent? Find(string agentName)
    {
        lock (gate)
        {
            return agents.GetValueOrDefault(agentName);
        }
    }

    /// <summary>
    /// A fault: the agent stays a member but does not answer keyring queries (a serf query it misses, [K1]): installs do
    /// not reach it and listings count it in NumNodes without its keys.
    /// </summary>
    public void SetKeyringResponsive(string agentName, bool responsive)
    {
        lock (gate)
        {
            agents[agentName].KeyringResponsive = responsive;
        }
    }

    /// <summary>A test's way to make a follower trail the leader's raft log by this many entries (a slow disk, a bad link).</summary>
    public void SetRaftLag(string agentName, ulong entries)
    {
        lock (gate)
        {
            agents[agentName].RaftLag = entries;
        }
    }

    /// <summary>A test's way to make a server unhealthy (failing autopilot) without taking its pod away.</summary>
    public void SetHealthy(string agentName, bool healthy)
    {
        lock (gate)
        {
            agents[agentName].Healthy = healthy;
        }
    }

    /// <summary>An agent restarted without persisted state: it has forgotten the services registered on it.</summary>
    public void RestartAgent(string agentName)
    {
        lock (gate)
        {
            agents[agentName].Services.Clear();
        }
    }

    public void SetCheckStatus(string serviceId, string status)
    {
        lock (gate)
        {
            foreach (var agent in agents.Values)
            {
                if (agent.Services.TryGetValue(serviceId, out var service))
                {
                    foreach (var check in service.Checks)
                    {
                        check.Status = status;
                    }
                }
            }
        }
    }

    /// <summary>
    /// What a DNS lookup of <c>&lt;service&gt;.service.&lt;domain&gt;</c> answers: the addresses of instances on alive agents
    /// whose checks pass, if the anonymous token (which DNS uses) may read the service and its node.
    /// </summary>
    public IReadOnlyList<string> ResolveService(string service)
    {
        lock (gate)
        {
            var anonymous = Authorizer(null);
            if (!anonymous.Allows("service", service, write: false))
            {
                return [];
            }

            // Servers answer for the "consul" service themselves.
            var visible = agents.Values.Where(a => a.Status == MemberStatus.Alive && anonymous.Allows("node", a.Name, write: false)).OrderBy(a => a.Name, StringComparer.Ordinal).ToList();
            var servers = service == "consul" ? visible.Where(a => a.Server).Select(a => a.Ip) : [];
            var catalogServices = catalogNodes.Values.Where(n => anonymous.Allows("node", n.Name, write: false)).OrderBy(n => n.Name, StringComparer.Ordinal).SelectMany(n => n.Services.Values);
            return [.. servers, .. visible.SelectMany(a => a.Services.Values).Concat(catalogServices).Where(s => s.Name == service && s.Checks.All(c => c.Status == "passing")).Select(s => s.Address)];
        }
    }

    /// <summary>The token an agent was handed for its own use (<c>acl.tokens.agent</c>), if any.</summary>
    public Token? AgentToken(string agentName)
    {
        lock (gate)
        {
            return agents.GetValueOrDefault(agentName)?.AgentToken is { } secret ? tokens.Values.FirstOrDefault(t => t.SecretId == secret) : null;
        }
    }

    /// <summary>The keyring of the first alive server, primary key first: what the LAN pool encrypts with.</summary>
    public IReadOnlyList<string> GossipKeys
    {
        get
        {
            lock (gate)
            {
                return [.. Alive.Where(a => a.Server).OrderBy(a => a.Ordinal).FirstOrDefault()?.Keys ?? []];
            }
        }
    }

    internal IEnumerable<Agent> Alive => agents.Values.Where(a => a.Status == MemberStatus.Alive);

    internal Dictionary<string, Token> Tokens => tokens;

    internal Dictionary<string, Policy> Policies => policies;

    internal Dictionary<string, KeyEntry> Keys => keys;

    /// <summary>A copy of the policies, for tests.</summary>
    public IReadOnlyList<Policy> PolicyList
    {
        get
        {
            lock (gate)
            {
                return [.. policies.Values];
            }
        }
    }

    /// <summary>A copy of the tokens, for tests.</summary>
    public IReadOnlyList<Token> TokenList
    {
        get
        {
            lock (gate)
            {
                return [.. tokens.Values];
            }
        }
    }

    /// <summary>Does what someone with a management token would do by hand in Consul (tests use it to make drift).</summary>
    public void Edit(Action<Dictionary<string, Token>, Dictionary<string, Policy>> change)
    {
        lock (gate)
        {
            change(tokens, policies);
            Wrote();
        }
    }

    /// <summary>
    /// [A2] <c>PUT /v1/acl/bootstrap</c>: the management token, or null when bootstrapped already. The offered secret is
    /// used only by versions that read it [U5]; older ones make their own. Tests call it directly to stand for someone
    /// else bootstrapping.
    /// </summary>
    public Token? Bootstrap(string? offeredSecret, UpstreamBehaviour? behaviour = null)
    {
        lock (gate)
        {
            AclBootstrapCalls++;
            if (AclBootstrapped)
            {
                return null;
            }

            var secret = offeredSecret is not null && (behaviour?.AcceptsBootstrapSecret ?? true) ? offeredSecret : Guid.NewGuid().ToString();
            var token = new Token(Guid.NewGuid().ToString(), secret, "Bootstrap Token (Global Management)", [GlobalManagementId], []);
            tokens[token.AccessorId] = token;
            Bootstraps++;
            Wrote();
            return token;
        }
    }

    /// <summary>Writes a key as someone with a management token would through the KV API (tests use it to make data worth restoring).</summary>
    public void WriteKey(string key, string value)
    {
        lock (gate)
        {
            PutKey(key, System.Text.Encoding.UTF8.GetBytes(value));
            Wrote();
        }
    }

    /// <summary>[KV1] A key written at the next raft index, keeping the index it was created at; the caller counts the write.</summary>
    internal void PutKey(string key, byte[] value)
    {
        var created = keys.TryGetValue(key, out var existing) ? existing.CreateIndex : index + 1;
        keys[key] = new KeyEntry(value, created, index + 1);
    }

    /// <summary>A key's value as the KV store holds it now, or null.</summary>
    public string? ReadKey(string key)
    {
        lock (gate)
        {
            return keys.TryGetValue(key, out var entry) ? System.Text.Encoding.UTF8.GetString(entry.Value) : null;
        }
    }

    /// <summary>[SN2] The state a snapshot holds (KV, ACL tokens and policies), as of the current raft index.</summary>
    internal SnapshotArchive TakeSnapshot() => SnapshotArchive.Of(
        System.Text.Encoding.UTF8.GetBytes(new JsonObject
        {
            ["kv"] = new JsonObject([.. keys.Select(k => KeyValuePair.Create(k.Key, (JsonNode?)new JsonObject { ["value"] = Convert.ToBase64String(k.Value.Value), ["create"] = k.Value.CreateIndex, ["modify"] = k.Value.ModifyIndex }))]),
            ["tokens"] = new JsonArray([.. tokens.Values.Select(t => (JsonNode)System.Text.Json.JsonSerializer.SerializeToNode(t)!)]),
            ["policies"] = new JsonArray([.. policies.Values.Select(p => (JsonNode)System.Text.Json.JsonSerializer.SerializeToNode(p)!)]),
        }.ToJsonString()),
        index,
        term: 2,
        time.GetUtcNow());

    /// <summary>[SN2] A restore replaces the whole state with the snapshot's: keys, tokens and policies written since are gone. It is a raft write, which the caller counts.</summary>
    internal void Restore(SnapshotArchive archive)
    {
        var state = JsonNode.Parse(archive.State)!;
        keys.Clear();
        foreach (var (key, entry) in state["kv"]!.AsObject())
        {
            keys[key] = new KeyEntry(Convert.FromBase64String((string)entry!["value"]!), (ulong)entry["create"]!, (ulong)entry["modify"]!);
        }

        tokens.Clear();
        foreach (var token in state["tokens"]!.AsArray().Select(t => t.Deserialize<Token>()!))
        {
            tokens[token.AccessorId] = token;
        }

        policies.Clear();
        foreach (var policy in state["policies"]!.AsArray().Select(p => p.Deserialize<Policy>()!))
        {
            policies[policy.Id] = policy;
        }
    }

    /// <summary>A server leaves gracefully: out of gossip and out of raft.</summary>
    internal void Leave(Agent agent)
    {
        agent.Status = MemberStatus.Left;
        agent.InRaft = false;
        agent.Voter = false;
        ElectLeader();
    }

    internal void RemoveFromRaft(Agent agent)
    {
        agent.InRaft = false;
        agent.Voter = false;
        formerServers.Remove(agent);
        ElectLeader();
    }

    /// <summary>Whether a request with this secret (null: none, the anonymous token) may read or write the resource.</summary>
    public bool Allows(string? secretId, string resource, string name, bool write)
    {
        lock (gate)
        {
            return Authorizer(secretId).Allows(resource, name, write);
        }
    }

    internal Authorizer Authorizer(string? secretId)
    {
        if (!AclEnabled)
        {
            return new Authorizer(true, []);
        }

        var token = secretId is null ? tokens.GetValueOrDefault(AnonymousAccessor) : tokens.Values.FirstOrDefault(t => t.SecretId == secretId);
        if (token is null && secretId is not null)
        {
            return Testing.Consul.Authorizer.NotFound;
        }

        var linked = token?.PolicyIds.Select(p => policies.GetValueOrDefault(p)).OfType<Policy>().ToList() ?? [];
        if (linked.Any(p => p.Name == GlobalManagement))
        {
            return new Authorizer(true, []);
        }

        // [A9] docs: ACL policies ("Datacenters": valid only there) and service identities (a template, per datacenter).
        var rules = linked.Where(p => p.Datacenters.Count == 0 || p.Datacenters.Contains(Name)).SelectMany(p => AclRules.Parse(p.Rules)).ToList();
        foreach (var node in token?.NodeIdentities ?? [])
        {
            rules.AddRange(AclRules.NodeIdentity(node));
        }

        foreach (var service in (token?.ServiceIdentities ?? []).Where(s => s.Datacenters.Count == 0 || s.Datacenters.Contains(Name)))
        {
            rules.AddRange(AclRules.ServiceIdentity(service.ServiceName));
        }

        return new Authorizer(!AclDefaultDeny, rules);
    }

    // [C3] An agent whose configuration says leave_on_terminate leaves gossip (and raft) when its pod stops; one that
    // does not stays a failed member (a server: a failed voter).
    private void Terminated(Agent agent)
    {
        if (!agent.LeaveOnTerminate)
        {
            agent.Status = MemberStatus.Failed;
        }
        else
        {
            Leave(agent);
        }
    }

    // An agent that left stopped its process; the operator removes such a pod right away, so it is not brought back.
    // One that runs this pod already has read its configuration.
    private bool Running(PodView pod) =>
        agents.GetValueOrDefault(pod.Name) is { } known && known.PodUid == pod.Uid && known.Status is MemberStatus.Alive or MemberStatus.Left;

    private void Start(PodView pod, AgentStart start)
    {
        var known = agents.GetValueOrDefault(pod.Name);

        // [C5] The agent reads its configuration at start and exits on a key its version does not decode.
        if (start.Problems.Count > 0)
        {
            startFailures[pod.Name] = start.Problems;
            return;
        }

        // [R4] A server whose data volume is not the one it had starts with no raft state and a new node ID: to raft a new
        // server, while the old ID stays in the configuration. A new pod also gets a new address.
        if (known is not null && known.Server && known.DataVolume is not null && known.DataVolume != start.DataVolume)
        {
            if (known.InRaft)
            {
                known.Status = MemberStatus.Failed;
                formerServers.Add(known);
            }

            known = null;
        }

        var generation = formerServers.Count(f => f.Name == pod.Name);
        var outside = pod.Ordinal >= MachineOrdinalBase;
        var agent = known ?? new Agent(pod.Name, pod.Ordinal, start.Server, outside ? start.AdvertiseAddress ?? throw new ArgumentException($"machine {pod.Name} names no advertise_addr") : $"10.0.{(start.Server ? 0 : 1)}.{pod.Ordinal + 10 + (100 * generation)}", Guid.NewGuid().ToString())
        {
            DataVolume = start.DataVolume,
            OutsideKubernetes = outside,
        };
        agents[pod.Name] = agent;

        // [G1] A keyring file in the data directory wins over `encrypt`: a server's data volume outlives its pod, a
        // client's emptyDir does not, so a restarted client starts from `encrypt` again.
        if (!agent.Server || agent.PodUid is null)
        {
            agent.Keys.Clear();
            if (start.GossipKey is { } key)
            {
                agent.Keys.Add(key);
            }
        }

        if ((RetryJoinProblem(agent, start) ?? JoinProblem(agent) ?? MachineRpcProblem(agent, start)) is { } problem)
        {
            startFailures[pod.Name] = [problem];
            return;
        }

        // Before Consul starts, the pod's init containers run (with the pod's IP); then the server sets up raft from its
        // data directory.
        if (start.RunInitContainers?.Invoke(agent.Ip) is { } initFailure)
        {
            startFailures[pod.Name] = [initFailure];
            return;
        }

        if (agent.Server && start.DataDirectory is { } dataDirectory && SetupRaft(agent, start, dataDirectory) is { } raftFailure)
        {
            startFailures[pod.Name] = [raftFailure];
            return;
        }

        startFailures.Remove(pod.Name);

        // Files are read when the process starts; a Secret renewed later reaches it only with the next start.
        _ = AgentTls.Of(start);
        agent.Start = start;
        agent.Status = MemberStatus.Alive;
        agent.PodUid = pod.Uid;
        agent.Healthy = agent.Version != UnhealthyVersion;
        agent.AgentToken = start.AgentToken;
        if (agent.Server)
        {
            Name = start.Datacenter ?? "dc1";
            AclEnabled = start.AclEnabled;
            AclDefaultDeny = start.AclDefaultDeny;
        }

        if (!agent.Server)
        {
            // A client's data directory lives as long as its pod: its services are gone with the old one.
            agent.Services.Clear();
        }

        else if (!agent.InRaft && leader is not null)
        {
            AddThroughLeader(agent);
        }

        RegisterConfiguredServices(agent, start);
    }

    // [S2] The services of the agent's configuration files (agent/agent.go loadServices), synced to the catalog by
    // anti-entropy (agent/local/state.go): the node with the agent token (syncNodeInfo, acl.tokens.agent, else the
    // default token), which needs node:write on the agent's node; each service with its own token, else the default
    // token (serviceToken), which needs service:write on it. One that may not sync is not in the catalog, and neither is
    // anything of a node that may not register itself. **Simplification**: checked once at start (anti-entropy retries
    // every minute or so), and what is not synced is only missing, not logged.
    private void RegisterConfiguredServices(Agent agent, AgentStart start)
    {
        if (start.Config["services"] is not JsonArray { Count: > 0 } services)
        {
            return;
        }

        var defaultToken = (string?)start.Config["acl"]?["tokens"]?["default"];
        if (!Authorizer(start.AgentToken ?? defaultToken).Allows("node", agent.Name, write: true))
        {
            return;
        }

        foreach (var definition in services.OfType<JsonObject>())
        {
            var name = (string?)definition["name"];
            if (string.IsNullOrEmpty(name) || !Authorizer((string?)definition["token"] ?? defaultToken).Allows("service", name, write: true))
            {
                continue;
            }

            var id = (string?)definition["id"] ?? name;
            var checks = (definition["checks"] as JsonArray ?? []).Append(definition["check"]).OfType<JsonObject>()
                .Select((check, i) => new RegisteredCheck((string?)check["id"] ?? $"service:{id}:{i + 1}", (string?)check["name"] ?? $"service:{id}:{i + 1}", (string?)check["status"] ?? "critical"))
                .ToList();
            agent.Services[id] = new RegisteredService(
                id, name, [.. (definition["tags"] as JsonArray ?? []).Select(t => (string)t!)], (string?)definition["address"] ?? agent.Ip, (int?)definition["port"] ?? 0,
                definition["meta"]?.DeepClone() as JsonObject ?? [], checks);
        }
    }

    // [R5] The leader adds the server, which takes verified RPC both ways [R10]: the leader replicates to it, it forwards
    // to the leader. A refusal is what the server would log, and it stays out of raft.
    private void AddThroughLeader(Agent server)
    {
        var leading = agents[leader!];
        if ((RpcTls.Problem(leading, server, time.GetUtcNow()) ?? RpcTls.Problem(server, leading, time.GetUtcNow())) is { } refused)
        {
            startFailures[server.Name] = [refused];
            return;
        }

        startFailures.Remove(server.Name);
        JoinRaft(server);
    }

    // [R5] The leader adds a server new to raft (or back after leaving) as a non-voter; autopilot promotes it once stable.
    private void JoinRaft(Agent agent)
    {
        agent.InRaft = true;
        agent.HadRaftState = true;
        agent.Voter = false;
        agent.RaftAddress = null;
        agent.JoinedAt = time.GetUtcNow();
    }

    // [R8] agent/consul/server.go setupRaft, at every server start: without the raft/peers.info sentinel (a data directory
    // Consul never started on) it writes one and deletes any peers.json unread; with it, a peers.json is read (raft
    // protocol 3 on: hashicorp/raft ReadConfigJSON; before: ReadPeersJSON), raft.RecoverCluster makes it the whole
    // configuration (refused without existing raft state, and for a configuration checkConfiguration rejects), and the
    // file is deleted. An error stops the agent.
    private string? SetupRaft(Agent agent, AgentStart start, string dataDirectory)
    {
        var raft = Path.Combine(dataDirectory, "raft");
        Directory.CreateDirectory(raft);
        var sentinel = Path.Combine(raft, "peers.info");
        var peers = Path.Combine(raft, "peers.json");
        if (!File.Exists(sentinel))
        {
            File.WriteAllText(sentinel, "The simulated Consul wrote this at its first start on this data directory.\n");
            File.Delete(peers);
            return null;
        }

        if (!File.Exists(peers))
        {
            return null;
        }

        const string failed = "Error starting agent: Failed to start Consul server: Failed to start Raft: ";
        IReadOnlyList<RaftEntry> entries;
        try
        {
            entries = RaftEntry.Parse(File.ReadAllText(peers), start.RaftProtocol);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return $"{failed}recovery failed to parse peers.json: {e.Message}";
        }

        if (!agent.HadRaftState)
        {
            return $"{failed}recovery failed: refused to recover cluster with no initial state, this is probably an operator error";
        }

        if (RaftEntry.Check(entries) is { } invalid)
        {
            return $"{failed}recovery failed: {invalid}";
        }

        Recover(entries);
        File.Delete(peers);
        return null;
    }

    // raft.RecoverCluster writes the configuration as the newest state, which every member of it starts from: servers it
    // names are its voters (or non-voters) at the addresses it gives, every other server is out of raft.
    private void Recover(IReadOnlyList<RaftEntry> entries)
    {
        foreach (var server in agents.Values.Where(a => a.Server).Concat(formerServers))
        {
            var entry = entries.FirstOrDefault(e => e.Id == server.Id);
            server.InRaft = entry is not null;
            server.Voter = entry is { NonVoter: false };
            server.RaftAddress = entry?.Address;
        }

        formerServers.RemoveAll(f => !f.InRaft);
        foreach (var entry in entries.Where(e => !agents.Values.Concat(formerServers).Any(a => a.Id == e.Id)))
        {
            formerServers.Add(new Agent("(unknown)", -1, true, entry.Address.Split(':')[0], entry.Id)
            {
                Status = MemberStatus.Failed,
                InRaft = true,
                Voter = !entry.NonVoter,
                RaftAddress = entry.Address,
            });
        }
    }

    // hashicorp/raft dials a peer at the address its configuration lists (agent/consul/raft_rpc.go RaftLayer.Dial, a plain
    // net.Dial, so a DNS name resolves): a voter counts for an election only at its own IP, or at a DNS name of its pod.
    private static bool Reachable(Agent agent) =>
        agent.RaftAddress is null || agent.RaftAddress == OwnRaftAddress(agent)
        || (agent.Start?.DnsNames ?? []).Any(name => agent.RaftAddress == $"{name}:{agent.Start!.ServerPort}");

    /// <summary>The raft address a server advertises: its IP and server port.</summary>
    internal static string OwnRaftAddress(Agent agent) => $"{agent.Ip}:{agent.Start?.ServerPort ?? 8300}";

    /// <summary>The address raft lists for a server: the one it advertised when it joined, unless a recovery wrote another.</summary>
    internal static string RaftAddressOf(Agent agent) => agent.RaftAddress ?? OwnRaftAddress(agent);

    // Autopilot runs on the leader: without one, nobody is promoted.
    private void PromoteStableServers()
    {
        if (leader is null)
        {
            return;
        }

        foreach (var agent in agents.Values.Where(a => a.Server && a.InRaft && !a.Voter && a.Status == MemberStatus.Alive))
        {
            if (time.GetUtcNow() - agent.JoinedAt >= Stabilization)
            {
                agent.Voter = true;
            }
        }
    }

    // [G3] agent/retry_join.go: an agent joins the LAN pool through the addresses it lists (retry_join), retrying until
    // one answers; reaching one member is enough, gossip brings the rest. A DNS name resolves to what it names: a pod's
    // own name, or a headless Service's name to every pod behind it (DnsNames are <pod>.<service>.<ns>.svc...). The first
    // server of a datacenter finds nobody and starts the pool; a client that finds nobody keeps retrying, a member of
    // nothing. **Simplification**: an agent that reaches none of the members while some are alive would gossip in a pool
    // of its own (and a server with bootstrap_expect could bootstrap a second raft there); here it is refused instead,
    // so a missing join address fails loudly.
    private string? RetryJoinProblem(Agent joining, AgentStart start)
    {
        var members = Alive.Where(a => a != joining).ToList();
        if ((members.Count == 0 && joining.Server) || members.Any(m => start.JoinAddresses.Any(address => Reaches(address, m))))
        {
            return null;
        }

        var known = members.Count == 0 ? "no agent runs yet" : $"none of the datacenter's members ({string.Join(", ", members.Select(m => $"{m.Name} at {m.Ip}").Order(StringComparer.Ordinal))})";
        return $"retry_join [{string.Join(", ", start.JoinAddresses)}] reaches {known}; this agent would gossip in a pool of its own";
    }

    // [R11] A client agent sends every request to a server over internal RPC (agent/consul/client.go RPC through the
    // router's servers), with the TLS rules of R10: a machine's agent whose certificate the servers' CA did not sign, or
    // that cannot verify theirs, never gets an answer. **Simplification**: checked for machines' agents only; pods'
    // clients (with auto-encrypt, which first fetches its certificate) are not checked.
    private string? MachineRpcProblem(Agent joining, AgentStart start)
    {
        if (!joining.OutsideKubernetes || joining.Server || Alive.FirstOrDefault(a => a.Server && a != joining) is not { } server)
        {
            return null;
        }

        return RpcTls.Problem($"rpc: failed to reach a server from {joining.Name}", start, server, time.GetUtcNow());
    }

    private static bool Reaches(string address, Agent member)
    {
        var (host, port) = address.StartsWith('[') && address.IndexOf(']') is var close and > 0
            ? (address[1..close], address[(close + 1)..].TrimStart(':'))
            : address.LastIndexOf(':') is var colon and > 0 ? (address[..colon], address[(colon + 1)..]) : (address, "");
        var names = member.Start?.DnsNames ?? [];
        var resolves = host == member.Ip || names.Contains(host) || names.Any(n => n.Length > host.Length + 1 && n.EndsWith("." + host, StringComparison.Ordinal) && n.IndexOf('.') == n.Length - host.Length - 1);
        return resolves && (port.Length == 0 || port == (member.Start?.SerfLanPort ?? 8301).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    // [G2] memberlist decrypts with any key of its ring and encrypts with its primary: a member can join only if every
    // alive member holds its primary key and it holds theirs; an unencrypted agent cannot talk to an encrypted pool.
    private string? JoinProblem(Agent joining)
    {
        var others = Alive.Where(a => a != joining).ToList();
        var primary = joining.Keys.FirstOrDefault();
        var refused = others.FirstOrDefault(o => primary is null ? o.Keys.Count > 0 : !o.Keys.Contains(primary) || (o.Keys.Count > 0 && !joining.Keys.Contains(o.Keys[0])));
        return refused is null ? null : $"failed to join {refused.Name}: No installed keys could decrypt the message";
    }

    private void ElectLeader()
    {
        FreezeIndexes();
        if (!RaftMembers.Any())
        {
            Bootstrap();
        }

        var voters = RaftMembers.Where(a => a.Voter).ToList();
        var alive = voters.Where(a => a.Status == MemberStatus.Alive && Reachable(a)).ToList();
        if (forcedNoLeader || alive.Count * 2 <= voters.Count || alive.Count == 0)
        {
            leader = null;
            return;
        }

        if (leader is null || !alive.Any(a => a.Name == leader))
        {
            // Raft's election restriction: a voter grants its vote only to a candidate whose log is at least as far along.
            var furthest = alive.Max(LastIndexOf);
            leader = alive.Where(a => LastIndexOf(a) == furthest).OrderBy(a => a.Ordinal).First().Name;
            if (!elected && AclEnabled)
            {
                InitializeAcls();
            }

            elected = true;
        }

        foreach (var waiting in agents.Values.Where(a => a.Server && !a.InRaft && a.Status == MemberStatus.Alive).ToList())
        {
            AddThroughLeader(waiting);
        }

        // [R9] agent/consul/leader.go joinConsulServer: a server raft lists at another address than the one it advertises
        // (a recovery's DNS name) is removed and added again as a non-voter, which autopilot promotes once stable. Not
        // simulated: the leader fixing its own entry (it skips that below 3 servers, and would step down first).
        foreach (var moved in agents.Values.Where(a => a.Server && a.InRaft && a.Status == MemberStatus.Alive && a.Name != leader && RaftAddressOf(a) != OwnRaftAddress(a)))
        {
            JoinRaft(moved);
        }
    }

    // [R1] agent/consul/server_serf.go maybeBootstrap, run only by a server with bootstrap_expect: a new datacenter
    // bootstraps once that many servers (with or without an expect of their own) have joined, and not at all while any
    // of them expects another number; [R3] nor while any server reports raft peers (the caller checks that none does).
    // The bootstrap configuration makes them all voters.
    private void Bootstrap()
    {
        var servers = agents.Values.Where(a => a.Server && a.Status == MemberStatus.Alive).ToList();
        var expects = servers.Select(s => s.BootstrapExpect).Where(e => e > 0).Distinct().ToList();
        if (expects is [var expect] && servers.Count >= expect)
        {
            foreach (var server in servers)
            {
                JoinRaft(server);
                server.Voter = true;
            }
        }
    }

    // [A1] agent/consul/leader.go initializeACLs: the first leader with ACLs on creates the global-management policy and
    // the anonymous token (structs.ACLTokenAnonymousID), before anyone bootstraps.
    private void InitializeAcls()
    {
        policies.TryAdd(GlobalManagementId, new Policy(GlobalManagementId, GlobalManagement, ""));
        tokens.TryAdd(AnonymousAccessor, new Token(AnonymousAccessor, "anonymous", "Anonymous Token", [], []));
    }

    public enum MemberStatus
    {
        None = 0,
        Alive = 1,
        Leaving = 2,
        Left = 3,
        Failed = 4,
    }

    public sealed class Agent(string name, int ordinal, bool server, string ip, string id)
    {
        public string Name { get; } = name;

        public int Ordinal { get; } = ordinal;

        public bool Server { get; } = server;

        public string Ip { get; } = ip;

        public string Id { get; } = id;

        public MemberStatus Status { get; set; } = MemberStatus.None;

        public bool InRaft { get; set; }

        public bool Voter { get; set; }

        public bool Healthy { get; set; } = true;

        public string Version => Start?.Version ?? "";

        public DateTimeOffset JoinedAt { get; set; }

        public string? AgentToken { get; set; }

        public string? PodUid { get; set; }

        /// <summary>What the agent started from: its configuration and the files of its pod.</summary>
        public AgentStart? Start { get; set; }

        public bool LeaveOnTerminate => Start?.LeaveOnTerminate ?? false;

        public int BootstrapExpect => Start?.BootstrapExpect ?? 0;

        public bool KeyringResponsive { get; set; } = true;

        /// <summary>A machine's agent (<see cref="StartMachine"/>), which no pod runs.</summary>
        public bool OutsideKubernetes { get; init; }

        /// <summary>How many raft entries this server trails the leader by.</summary>
        public ulong RaftLag { get; set; }

        /// <summary>Where this server's log stood when it last stopped following a leader.</summary>
        public ulong FrozenIndex { get; set; }

        /// <summary>The address raft lists it at when a recovery wrote one; null: the address it advertises.</summary>
        public string? RaftAddress { get; set; }

        /// <summary>Whether its data directory holds raft state: it has been a member of raft.</summary>
        public bool HadRaftState { get; set; }

        /// <summary>The volume its data directory lives on (<see cref="AgentStart.DataVolume"/>).</summary>
        public string? DataVolume { get; init; }

        /// <summary>The agent's gossip keyring, primary key first.</summary>
        public List<string> Keys { get; } = [];

        public UpstreamBehaviour Behaviour => UpstreamBehaviour.Of(Version);

        public Dictionary<string, RegisteredService> Services { get; } = [];
    }

    /// <summary>
    /// What the datacenter sees of one agent pod: whether its container runs, whether the kubelet last called it ready,
    /// and (<paramref name="Read"/>) what its agent finds when it starts.
    /// </summary>
    public sealed record PodView(string Name, int Ordinal, string Uid, bool Running, bool Ready, Func<AgentStart> Read);

    /// <summary>A node of the catalog that no agent runs, and the services registered on it by ID.</summary>
    public sealed class CatalogNode(string name, string address, JsonObject meta)
    {
        public string Name { get; } = name;

        public string Address { get; set; } = address;

        public JsonObject Meta { get; } = meta;

        public Dictionary<string, RegisteredService> Services { get; } = [];
    }

    public sealed record RegisteredService(string Id, string Name, IReadOnlyList<string> Tags, string Address, int Port, JsonObject Meta, IReadOnlyList<RegisteredCheck> Checks);

    public sealed class RegisteredCheck(string id, string name, string status)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public string Status { get; set; } = status;
    }

    public sealed record Token(string AccessorId, string SecretId, string Description, IReadOnlyList<string> PolicyIds, IReadOnlyList<string> NodeIdentities)
    {
        public IReadOnlyList<ServiceIdentity> ServiceIdentities { get; init; } = [];
    }

    public sealed record ServiceIdentity(string ServiceName, IReadOnlyList<string> Datacenters);

    public sealed record Policy(string Id, string Name, string Rules)
    {
        public string Description { get; init; } = "";

        /// <summary>Where the policy applies; everywhere when empty.</summary>
        public IReadOnlyList<string> Datacenters { get; init; } = [];
    }

    public sealed record KeyEntry(byte[] Value, ulong CreateIndex, ulong ModifyIndex);
}
