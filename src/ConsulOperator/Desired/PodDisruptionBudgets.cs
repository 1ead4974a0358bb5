using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

public static class PodDisruptionBudgets
{
    /// <summary>
    /// Voluntary evictions may take at most (replicas-1)/2 servers, what a quorum of replicas/2+1 survives.
    /// For a single server that is none: draining its node must wait for a human.
    /// </summary>
    public static V1PodDisruptionBudget ForServers(V1Alpha1ConsulCluster cluster) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = ObjectMetadata.For(cluster, KeyMaterialSecrets.NamesOf(cluster).Servers, Components.Server),
        Spec = new V1PodDisruptionBudgetSpec
        {
            MaxUnavailable = ToleratedServerFailures(cluster.Spec.Servers.Replicas),
            Selector = new V1LabelSelector { MatchLabels = ObjectMetadata.SelectorLabels(cluster, Components.Server) },
        },
    };

    public static int ToleratedServerFailures(int servers) => (servers - 1) / 2;
}
