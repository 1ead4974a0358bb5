using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

public static class PodDisruptionBudgets
{
    /// <summary>
    /// Voluntary evictions may take at most what a quorum of the servers now voting survives (<see cref="ServerPlan.DisruptionsTolerated"/>).
    /// For a single server that is none: draining its node must wait for a human.
    /// </summary>
    public static V1PodDisruptionBudget ForServers(V1Alpha1ConsulCluster cluster, ServerPlan plan) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = ObjectMetadata.For(cluster, KeyMaterialSecrets.NamesOf(cluster).Servers, Components.Server),
        Spec = new V1PodDisruptionBudgetSpec
        {
            MaxUnavailable = plan.DisruptionsTolerated,
            Selector = new V1LabelSelector { MatchLabels = ObjectMetadata.SelectorLabels(cluster, Components.Server) },
        },
    };
}
