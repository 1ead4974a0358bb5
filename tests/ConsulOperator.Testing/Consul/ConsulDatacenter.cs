using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// The state of one simulated Consul datacenter, kept as Consul keeps it: agents come up when their pods are ready;
/// a server whose pod goes away without leaving stays in raft as a failed voter; raft has a leader only while a
/// majority of voters is alive; a new server becomes a voter after autopilot's stabilization time; ACLs bootstrap once.
/// </summary>
public sealed class ConsulDatacenter(string name, string version, TimeProvider time)
{
    public const string AnonymousAccessor = "00000002-0000-0000-0000-000000000002";
    public const string GlobalManagement = "global-management";
    public const string GlobalManagementId = "00000000-0000-0000-0000-000000000001";

    private readonly Lock gate = new();
    private readonly Dictionary<string, Agent> agents = [];
    private readonly Dictionary<string, Token> tokens = [];
    private readonly Dictionary<string, Policy> policies = [];
    private readonly List<string> gossipKeys = [];
    private string? leader;
    private bool forcedNoLeader;
    private bool elected;

    public string Name => name;

    public string Version { get; set; } = version;

    /// <summary>Servers that must have joined before the first election (the agents' bootstrap_expect).</summary>
    public int BootstrapExpect { get; set; } = 1;

    /// <summary>Servers leave raft when their pod stops (leave_on_terminate); off, as the operator configures them, they stay a failed voter.</summary>
    public bool ServersLeaveOnTerminate { get; set; }

    /// <summary>The agent token an agent finds at start in its mounted Secret, by agent name.</summary>
    public Func<string, string?>? MountedAgentToken { get; set; }

    /// <summary>A Consul version whose agents come up unhealthy: a bad upgrade.</summary>
    public string? UnhealthyVersion { get; set; }

    /// <summary>How long a new server waits before autopilot makes it a voter.</summary>
    public TimeSpan Stabilization { get; set; } = TimeSpan.Zero;

    public bool AclEnabled { get; set; }

    public bool AclDefaultDeny { get; set; } = true;

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
    /// Brings agents in line with the pods Kubernetes reports: a ready pod runs its agent (a new pod, by UID, is a
    /// restarted agent), a pod that is not ready runs none, and an agent whose pod is gone was terminated.
    /// </summary>
    public void ObservePods(IReadOnlyCollection<PodView> pods)
    {
        lock (gate)
        {
            var byName = pods.ToDictionary(p => p.Name);
            foreach (var agent in agents.Values.Where(a => a.Status == MemberStatus.Alive))
            {
                if (!byName.TryGetValue(agent.Name, out var pod))
                {
                    Terminated(agent);
                }
                else if (!pod.Ready || pod.Uid != agent.PodUid)
                {
                    // Not running (crashed, or replaced by a new pod that has not started yet): gossip marks it failed.
                    agent.Status = MemberStatus.Failed;
                }
            }

            foreach (var pod in pods.Where(p => p.Ready).OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                Start(pod);
            }

            PromoteStableServers();
            ElectLeader();
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
            return [.. servers, .. visible.SelectMany(a => a.Services.Values).Where(s => s.Name == service && s.Checks.All(c => c.Status == "passing")).Select(s => s.Address)];
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

    public IReadOnlyList<string> GossipKeys
    {
        get
        {
            lock (gate)
            {
                return [.. gossipKeys];
            }
        }
    }

    public void InstallInitialGossipKey(string key)
    {
        lock (gate)
        {
            if (gossipKeys.Count == 0)
            {
                gossipKeys.Add(key);
            }
        }
    }

    internal Dictionary<string, Token> Tokens => tokens;

    internal Dictionary<string, Policy> Policies => policies;

    /// <summary>
    /// <c>PUT /v1/acl/bootstrap</c>: the management token (with the offered secret, if any), or null when bootstrapped
    /// already. Tests call it directly to stand for someone else bootstrapping.
    /// </summary>
    public Token? Bootstrap(string? offeredSecret)
    {
        lock (gate)
        {
            AclBootstrapCalls++;
            if (AclBootstrapped)
            {
                return null;
            }

            if (!policies.ContainsKey(GlobalManagementId))
            {
                policies[GlobalManagementId] = new Policy(GlobalManagementId, GlobalManagement, "");
                tokens[AnonymousAccessor] = new Token(AnonymousAccessor, "anonymous", "Anonymous Token", [], []);
            }

            var token = new Token(Guid.NewGuid().ToString(), offeredSecret ?? Guid.NewGuid().ToString(), "Bootstrap Token (Global Management)", [GlobalManagementId], []);
            tokens[token.AccessorId] = token;
            Bootstraps++;
            return token;
        }
    }

    internal List<string> GossipKeyList => gossipKeys;

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
        ElectLeader();
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

        var rules = linked.SelectMany(p => AclRules.Parse(p.Rules)).ToList();
        foreach (var node in token?.NodeIdentities ?? [])
        {
            rules.AddRange(AclRules.NodeIdentity(node));
        }

        return new Authorizer(!AclDefaultDeny, rules);
    }

    // Servers keep their raft membership across restarts (leave_on_terminate is off for them); clients leave.
    private void Terminated(Agent agent)
    {
        if (agent.Server && !ServersLeaveOnTerminate)
        {
            agent.Status = MemberStatus.Failed;
        }
        else
        {
            Leave(agent);
        }
    }

    private void Start(PodView pod)
    {
        if (!agents.TryGetValue(pod.Name, out var agent))
        {
            agent = new Agent(pod.Name, pod.Ordinal, pod.Server, $"10.0.{(pod.Server ? 0 : 1)}.{pod.Ordinal + 10}", Guid.NewGuid().ToString());
            agents[pod.Name] = agent;
        }

        // An agent that left stopped its process; the operator removes such a pod right away, so it is not brought back.
        if (agent.PodUid == pod.Uid && agent.Status is MemberStatus.Alive or MemberStatus.Left)
        {
            return;
        }

        agent.Status = MemberStatus.Alive;
        agent.PodUid = pod.Uid;
        agent.Version = pod.Version ?? Version;
        agent.Healthy = agent.Version != UnhealthyVersion;
        agent.AgentToken = MountedAgentToken?.Invoke(pod.Name);
        if (!agent.Server)
        {
            // A client's data directory lives as long as its pod: its services are gone with the old one.
            agent.Services.Clear();
        }
        else if (!agent.InRaft)
        {
            // A server new to raft (or back after leaving) joins as a non-voter until autopilot finds it stable.
            agent.InRaft = true;
            agent.Voter = false;
            agent.JoinedAt = time.GetUtcNow();
        }
    }

    private void PromoteStableServers()
    {
        foreach (var agent in agents.Values.Where(a => a.Server && a.InRaft && !a.Voter && a.Status == MemberStatus.Alive))
        {
            if (time.GetUtcNow() - agent.JoinedAt >= Stabilization)
            {
                agent.Voter = true;
            }
        }
    }

    private void ElectLeader()
    {
        var voters = agents.Values.Where(a => a.Server && a.InRaft && a.Voter).ToList();
        var alive = voters.Where(a => a.Status == MemberStatus.Alive).ToList();
        var neverElected = leader is null && !elected;
        if (forcedNoLeader || alive.Count * 2 <= voters.Count || alive.Count == 0 || (neverElected && voters.Count < BootstrapExpect))
        {
            leader = null;
            return;
        }

        if (leader is null || !alive.Any(a => a.Name == leader))
        {
            leader = alive.OrderBy(a => a.Ordinal).First().Name;
            elected = true;
        }
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

        public string Version { get; set; } = "";

        public DateTimeOffset JoinedAt { get; set; }

        public string? AgentToken { get; set; }

        public string? PodUid { get; set; }

        public Dictionary<string, RegisteredService> Services { get; } = [];
    }

    /// <summary>What the datacenter sees of one agent pod.</summary>
    public sealed record PodView(string Name, int Ordinal, bool Server, string Uid, bool Ready, string? Version);

    public sealed record RegisteredService(string Id, string Name, IReadOnlyList<string> Tags, string Address, int Port, JsonObject Meta, IReadOnlyList<RegisteredCheck> Checks);

    public sealed class RegisteredCheck(string id, string name, string status)
    {
        public string Id { get; } = id;

        public string Name { get; } = name;

        public string Status { get; set; } = status;
    }

    public sealed record Token(string AccessorId, string SecretId, string Description, IReadOnlyList<string> PolicyIds, IReadOnlyList<string> NodeIdentities);

    public sealed record Policy(string Id, string Name, string Rules);
}
