using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;
using k8s.Models;

namespace ConsulOperator.Controllers;

/// <summary>The status a ConsulCluster should show for what was observed: pure, so every branch is tested without a server.</summary>
public static class ClusterStatus
{
    public const string TlsReady = "TLSReady";
    public const string DnsReady = "DNSReady";

    public static ConsulClusterStatus Observe(
        V1Alpha1ConsulCluster cluster, KeyMaterial material, int bootstrapExpect, V1StatefulSet? servers, V1StatefulSet? clients,
        string? dnsIp, DnsOutcome dns, DateTimeOffset now)
    {
        var spec = cluster.Spec;
        var generation = cluster.Metadata.Generation;
        var (serversReady, readyServers) = Rollout(servers, spec.Servers.Replicas);
        var (clientsReady, readyClients) = spec.Clients.Replicas == 0 ? (true, 0) : Rollout(clients, spec.Clients.Replicas);
        var podsReady = serversReady && clientsReady;
        var pods = $"{readyServers}/{spec.Servers.Replicas} servers and {readyClients}/{spec.Clients.Replicas} clients ready";
        var firstLeafExpiry = material.Leaves.Values.Min(l => l.NotAfter);

        var conditions = cluster.Status?.Conditions;
        conditions = Conditions.Set(conditions, Conditions.Progressing, !podsReady, podsReady ? "RolloutComplete" : "PodsNotReady", pods, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Degraded, false, "AsExpected", "no problem found", generation, now);
        conditions = Conditions.Set(conditions, TlsReady, true, "CertificatesIssued",
            $"CA valid until {Describe(material.Ca.NotAfter)}; first agent certificate expires {Describe(firstLeafExpiry)}", generation, now);
        conditions = Conditions.Set(conditions, DnsReady, dns.Ready, dns.Reason, dns.Message, generation, now);
        var (ready, reason, message) = (podsReady, dns.Ready) switch
        {
            (true, true) => (true, "ClusterReady", $"{pods}; {dns.Message}"),
            (false, _) => (false, "PodsNotReady", pods),
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
            Leader = cluster.Status?.Leader,
            RaftPeers = cluster.Status?.RaftPeers,
            DnsServiceIP = dnsIp,
            CaNotAfter = material.Ca.NotAfter.UtcDateTime,
            LeafNotAfter = firstLeafExpiry.UtcDateTime,
        };
    }

    /// <summary>The status of a refused spec: the reason in Ready and Degraded, everything else observed as it was.</summary>
    public static ConsulClusterStatus Refused(V1Alpha1ConsulCluster cluster, string reason, string message, DateTimeOffset now)
    {
        var generation = cluster.Metadata.Generation;
        var conditions = Conditions.Set(cluster.Status?.Conditions, Conditions.Ready, false, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Degraded, true, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Progressing, false, reason, "nothing is applied until the problem is fixed", generation, now);
        var status = k8s.KubernetesJson.Deserialize<ConsulClusterStatus>(k8s.KubernetesJson.Serialize(cluster.Status ?? new ConsulClusterStatus()));
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
