using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// spec.join, the servers outside Kubernetes a cluster's agents join: when it may be added. Joining is for a datacenter
/// the pods enter from the start; pods that already run a raft of their own would, through it, put two rafts into one
/// gossip pool (docs: consul join, "An agent which is already part of a cluster may join an agent in a different
/// cluster, causing the two clusters to be merged into a single cluster").
/// </summary>
public static class OutsideServers
{
    /// <summary>
    /// Why the spec's join addresses may not be applied, or null: they may, unless the servers run a raft of their own
    /// (status lists raft peers, all of them this cluster's pods) whose configuration joins nobody outside yet.
    /// </summary>
    public static string? MergeRefusal(V1Alpha1ConsulCluster cluster, V1ConfigMap? liveServerConfig)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        if (cluster.Spec.Join is not { Count: > 0 } join || cluster.Status?.RaftPeers is not { Count: > 0 } peers
            || peers.Any(p => !names.IsServerPod(p)) || JoinsOutside(liveServerConfig, names))
        {
            return null;
        }

        return $"spec.join [{string.Join(", ", join)}] would join servers that already run a raft of their own ({string.Join(", ", peers)}) to another datacenter's, " +
            "merging two datacenters into one gossip pool with two rafts. Join from the start: a new ConsulCluster with spec.join and the datacenter's own keys " +
            "(docs/migration.md); or remove spec.join";
    }

    // The server configuration the pods run lists an address besides the server Service: they joined outside servers before.
    // One that is not JSON (edited by hand) says nothing; the desired ConfigMap replaces it.
    private static bool JoinsOutside(V1ConfigMap? config, Names names)
    {
        try
        {
            return config?.Data?.TryGetValue(AgentConfig.ConfigFile, out var json) == true
                && JsonNode.Parse(json)?["retry_join"] is JsonArray addresses
                && addresses.Any(a => (string?)a != names.ServerJoinAddress);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
