using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;
using k8s.Models;

namespace ConsulOperator.Controllers;

/// <summary>The status a ConsulCluster should show for what was observed: pure, so every branch is tested without a server.</summary>
public static class ClusterStatus
{
    public const string TlsReady = "TLSReady";
    public const string DnsReady = "DNSReady";
    public const string ConsulHealthy = "ConsulHealthy";
    public const string AclReady = "ACLReady";

    public static ConsulClusterStatus Observe(
        V1Alpha1ConsulCluster cluster, KeyMaterial material, int bootstrapExpect, V1StatefulSet? servers, V1StatefulSet? clients,
        string? dnsIp, DnsOutcome dns, ConsulObservation consul, AclOutcome acl, string? waiting, DateTimeOffset now, TimeSpan? indexRefresh = null)
    {
        var spec = cluster.Spec;
        var generation = cluster.Metadata.Generation;
        var (serversReady, readyServers) = Rollout(servers, spec.Servers.Replicas);
        var (clientsReady, readyClients) = spec.Clients.Replicas == 0 ? (true, 0) : Rollout(clients, spec.Clients.Replicas);
        var podsReady = serversReady && clientsReady && waiting is null;
        var pods = $"{readyServers}/{spec.Servers.Replicas} servers and {readyClients}/{spec.Clients.Replicas} clients ready{(waiting is null ? "" : $"; {waiting}")}";
        var firstLeafExpiry = material.Leaves.Values.Min(l => l.NotAfter);

        var conditions = cluster.Status?.Conditions;
        var health = AssessConsul(spec.Servers.Replicas, consul, Desired.KeyMaterialSecrets.NamesOf(cluster));

        // Without a leader the pods are not ready (the probe asks for one), so raft speaks first: a datacenter that has
        // had a leader and lost it is degraded whatever the pods show; one that never had one is still coming up.
        var raftDown = health.Reason == QuorumLoss.Lost || (health.Reason == QuorumLoss.NoLeader && cluster.Status?.RaftPeers is { Count: > 0 });
        conditions = Conditions.Set(conditions, Conditions.Progressing, !podsReady, podsReady ? "RolloutComplete" : "PodsNotReady", pods, generation, now);
        conditions = Conditions.Set(conditions, ConsulHealthy, health.Healthy, health.Reason, health.Message, generation, now);
        conditions = Conditions.Set(conditions, AclReady, acl.Ready, acl.Reason, acl.Message, generation, now);

        // Pods that are still coming up explain themselves through Progressing; once they all run (an upgrade half done
        // included), what Consul says counts. A bootstrap someone else did blocks everything after it, so it is named
        // first; it needs a human.
        var podsRunning = readyServers == spec.Servers.Replicas && readyClients == spec.Clients.Replicas;
        var aclBlocked = acl.Reason == ConsulAcl.BootstrappedElsewhere;
        // Lag is judged on what was just observed; status keeps indexes that moved alone for a while (RaftLag.Settle).
        var observedServers = consul.Autopilot is { } autopilot ? RaftLag.Servers(autopilot, cluster.Status?.Servers, now) : null;
        var lagging = (observedServers ?? cluster.Status?.Servers) is { } judged ? RaftLag.Lagging(judged, now) : [];
        var (serverStatus, serversObservedAt) = observedServers is null
            ? (cluster.Status?.Servers, cluster.Status?.ServersObservedAt)
            : RaftLag.Settle(observedServers, cluster.Status?.Servers, cluster.Status?.ServersObservedAt, now, indexRefresh);
        var (degraded, degradedReason, degradedMessage) = (podsRunning, health.Healthy, acl.Ready) switch
        {
            _ when aclBlocked => (true, acl.Reason, acl.Message),
            _ when raftDown => (true, health.Reason, health.Message),
            (true, false, _) => (true, health.Reason, health.Message),
            (true, true, false) => (true, acl.Reason, acl.Message),
            _ when lagging.Count > 0 => (true, "ServersLagging", $"trailing the leader's raft log: {string.Join(", ", lagging)}"),
            _ => (false, "AsExpected", "no problem found"),
        };
        conditions = Conditions.Set(conditions, Conditions.Degraded, degraded, degradedReason, degradedMessage, generation, now);
        conditions = Conditions.Set(conditions, TlsReady, true, "CertificatesIssued",
            $"CA valid until {Describe(material.Ca.NotAfter)}; first agent certificate expires {Describe(firstLeafExpiry)}", generation, now);
        conditions = Conditions.Set(conditions, DnsReady, dns.Ready, dns.Reason, dns.Message, generation, now);
        var (ready, reason, message) = (podsReady, health.Healthy, acl.Ready, dns.Ready) switch
        {
            (true, true, true, true) => (true, "ClusterReady", $"{pods}; {health.Message}; {dns.Message}"),
            _ when aclBlocked => (false, acl.Reason, acl.Message),
            _ when raftDown => (false, health.Reason, health.Message),
            (false, _, _, _) => (false, "PodsNotReady", pods),
            (_, false, _, _) => (false, health.Reason, health.Message),
            (_, _, false, _) => (false, acl.Reason, acl.Message),
            _ => (false, dns.Reason, dns.Message),
        };
        conditions = Conditions.Set(conditions, Conditions.Ready, ready, reason, message, generation, now);

        return new ConsulClusterStatus
        {
            ObservedGeneration = generation,
            Conditions = conditions,
            BootstrapExpect = bootstrapExpect,
            ReadyServers = readyServers,
            ReadyClients = readyClients,
            Leader = consul.Asked ? consul.Leader : cluster.Status?.Leader,
            // Raft's membership is only read through a leader; without one, the last known stays.
            RaftPeers = consul.Leader is not null ? [.. consul.Raft.Servers.Select(s => s.Node).Order(StringComparer.Ordinal)] : cluster.Status?.RaftPeers,
            Voters = consul.Leader is not null ? consul.Raft.Servers.Count(s => s.Voter) : cluster.Status?.Voters,
            FailureTolerance = consul.Autopilot?.FailureTolerance ?? cluster.Status?.FailureTolerance,
            Servers = serverStatus,
            ServersObservedAt = serversObservedAt,
            AliveMembers = consul.Asked ? consul.Members.Count(m => m.Status == AgentMember.Alive) : cluster.Status?.AliveMembers,
            FailedMembers = consul.Asked ? consul.Members.Count(m => m.Status == AgentMember.Failed) : cluster.Status?.FailedMembers,
            DnsServiceIP = dnsIp,
            QuorumLostSince = health.Reason == QuorumLoss.Lost ? cluster.Status?.QuorumLostSince ?? now.UtcDateTime : null,
            CaNotAfter = material.Ca.NotAfter.UtcDateTime,
            LeafNotAfter = firstLeafExpiry.UtcDateTime,
        };
    }

    /// <summary>
    /// Healthy only when raft has a leader, every server in the raft configuration is a voter that autopilot calls
    /// healthy (the servers outside Kubernetes that spec.join adds included: they count in the quorum like any other),
    /// and as many of the voters are this cluster's server pods as the spec asks for.
    /// </summary>
    public static (bool Healthy, string Reason, string Message) AssessConsul(int wantedServers, ConsulObservation consul, Desired.Names names)
    {
        if (!consul.Asked)
        {
            return (false, "WaitingForServers", "no server pod is ready to ask");
        }

        if (consul.Problem is not null)
        {
            return (false, "ConsulUnreachable", consul.Problem);
        }

        if (consul.Leader is null)
        {
            var verdict = QuorumLoss.Assess(consul.Survey ?? [], names);
            return (false, verdict.Reason, verdict.Message);
        }

        var unhealthy = consul.Autopilot?.Servers.Where(s => !s.Healthy).Select(s => $"{s.Name} ({s.SerfStatus})").ToList() ?? [];
        if (unhealthy.Count > 0)
        {
            return (false, "ServersUnhealthy", $"autopilot reports unhealthy: {string.Join(", ", unhealthy)}");
        }

        var nonVoters = consul.Raft.Servers.Where(s => !s.Voter).Select(s => s.Node).ToList();
        if (nonVoters.Count > 0)
        {
            return (false, "ServersNotVoters", $"not yet voters: {string.Join(", ", nonVoters)}");
        }

        var outside = consul.Raft.Servers.Where(s => !names.IsServerPod(s.Node)).Select(s => s.Node).Order(StringComparer.Ordinal).ToList();
        var ours = consul.Raft.Servers.Count - outside.Count;
        if (ours != wantedServers)
        {
            return (false, "RaftMembershipMismatch", $"raft has {ours} voters from this cluster's server pods; spec.servers.replicas is {wantedServers}");
        }

        var outsideNote = outside.Count == 0 ? "" : $" ({outside.Count} outside Kubernetes: {string.Join(", ", outside)})";
        return (true, "Healthy", $"leader {consul.Leader}; {consul.Raft.Servers.Count} healthy voters{outsideNote}; failure tolerance {consul.Autopilot?.FailureTolerance ?? 0}");
    }

    /// <summary>The status of a refused spec: the reason in Ready and Degraded, everything else observed as it was.</summary>
    public static ConsulClusterStatus Refused(V1Alpha1ConsulCluster cluster, string reason, string message, DateTimeOffset now)
    {
        var generation = cluster.Metadata.Generation;
        var conditions = Conditions.Set(cluster.Status?.Conditions, Conditions.Ready, false, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Degraded, true, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Progressing, false, reason, "nothing is applied until the problem is fixed", generation, now);
        var status = ObjectWrites.DeepCopy(cluster.Status ?? new ConsulClusterStatus());
        status.ObservedGeneration = generation;
        status.Conditions = conditions;
        return status;
    }

    // Ready only when the StatefulSet controller has seen the latest spec and every wanted pod runs it and is ready.
    private static (bool Ready, int ReadyPods) Rollout(V1StatefulSet? set, int wanted)
    {
        var readyPods = set?.Status?.ReadyReplicas ?? 0;
        var current = set is not null
            && set.Status?.ObservedGeneration >= set.Metadata.Generation
            && set.Spec.Replicas == wanted
            && (set.Status?.UpdatedReplicas ?? 0) == wanted;
        return (current && readyPods == wanted, readyPods);
    }

    private static string Describe(DateTimeOffset time) => CertificateAuthority.Describe(time);
}
