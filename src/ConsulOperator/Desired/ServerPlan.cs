using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Desired;

/// <summary>
/// The servers to run now, decided before anything is built: the StatefulSet, the disruption budget, the health
/// assessment, the agent that holds registrations and the pod roll all read this one plan, so that they agree mid-change
/// and <c>render</c> shows what the operator would apply.
/// </summary>
/// <param name="Current">Servers to run now: the step of a scaling in progress, else <paramref name="Target"/>.</param>
/// <param name="Target">spec.servers.replicas.</param>
/// <param name="BootstrapExpect">Pinned at the first bootstrap (status.bootstrapExpect).</param>
/// <param name="Voters">The raft voters Consul last reported, when known: a new server is not a voter yet, a server gone without leaving still is.</param>
public sealed record ServerPlan(int Current, int Target, int BootstrapExpect, int? Voters = null)
{
    /// <summary>A cluster at rest: the spec's count, bootstrap_expect from status, the voters status last recorded.</summary>
    public static ServerPlan AtRest(V1Alpha1ConsulCluster cluster) =>
        new(cluster.Spec.Servers.Replicas, cluster.Spec.Servers.Replicas, DesiredState.BootstrapExpect(cluster), cluster.Status?.Voters);

    /// <summary>The plan the cluster's server StatefulSet shows it applied (its replicas are the current step).</summary>
    public static ServerPlan Applied(V1Alpha1ConsulCluster cluster, int? liveServers) => AtRest(cluster) with { Current = liveServers ?? cluster.Spec.Servers.Replicas };

    /// <summary>
    /// Voluntary evictions the servers survive now. Counted over the smaller of the servers planned and the voters raft
    /// has, so that a budget written mid-change never allows more than the quorum of what is actually voting: going
    /// from 3 to 5, it stays at 1 until the fifth server votes.
    /// </summary>
    public int DisruptionsTolerated => (Math.Min(Current, Voters ?? Current) - 1) / 2;

    /// <summary>Servers that run now and stay: the ones that may hold a registration.</summary>
    public int Staying => Math.Min(Current, Target);
}
