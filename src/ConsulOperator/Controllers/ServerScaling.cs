using ConsulOperator.Consul;
using ConsulOperator.Desired;

namespace ConsulOperator.Controllers;

/// <summary>
/// The server count to run now, and what must happen first. Servers are added and removed one at a time, and only while
/// raft has a leader and every server is a healthy voter, so no step can cost quorum. The server to remove is asked to
/// leave (out of gossip and raft) before its pod goes. Servers do not leave on terminate, so that restarts keep their
/// membership; one whose pod went without leaving stays a failed voter until the operator takes it out of raft, before
/// any next step. Servers removed by someone else (the StatefulSet edited down) are not a step to wait on: while raft
/// still counts them, or has no leader at all, bringing them back is the only way to a quorum, so they return at once.
/// </summary>
public sealed record ServerScalingStep(int Replicas, string? Waiting, RaftServer? DeadPeer, string? Leaving = null)
{
    /// <param name="live">Server replicas of the live StatefulSet; null before it exists (first bootstrap starts them all).</param>
    /// <param name="wanted">spec.servers.replicas.</param>
    /// <param name="settled">The StatefulSet controller has seen its spec and every pod is ready.</param>
    /// <param name="consul">What Consul says now.</param>
    /// <param name="names">The cluster's names, to tell which raft peer is which pod.</param>
    public static ServerScalingStep Decide(int? live, int wanted, bool settled, ConsulObservation consul, Names names)
    {
        if (live is not { } current || current == wanted && DeadPeerOf(current, consul, names) is null)
        {
            return new ServerScalingStep(wanted, null, null);
        }

        if (current < wanted && consul.Problem is null && consul.Leader is null)
        {
            return new ServerScalingStep(wanted, $"restoring servers from {current} to {wanted} at once: raft has no leader, and the missing servers are the only way back to a quorum", null);
        }

        var missingVoters = consul.Raft.Servers
            .Select(s => (Server: s, Pod: names.ParsePod(s.Node)))
            .Where(s => s.Pod is (Components.Server, var ordinal) && ordinal >= current && ordinal < wanted && s.Server.Voter)
            .Select(s => s.Pod!.Value.Ordinal)
            .ToList();
        if (current < wanted && missingVoters.Count > 0)
        {
            var restored = missingVoters.Max() + 1;
            return new ServerScalingStep(restored, $"restoring servers from {current} to {restored} at once: raft still counts {string.Join(", ", missingVoters.Order().Select(o => $"{names.Servers}-{o}"))} as voters", null);
        }

        if (DeadPeerOf(current, consul, names) is { } dead)
        {
            return consul.Leader is null
                ? new ServerScalingStep(current, $"{dead.Node} is gone but still a raft peer; waiting for a leader to remove it", null)
                : new ServerScalingStep(current, $"removing {dead.Node}, which is gone, from raft", dead);
        }

        // The server of a step down already left (out of raft, a "left" member), but the smaller StatefulSet was not
        // written (a conflict, an operator replaced): its pod is never ready again, so the step is finished, not waited on.
        if (wanted < current && consul.Leader is not null && HasLeft(names.Pod(Components.Server, current - 1), consul))
        {
            return new ServerScalingStep(current - 1, null, null);
        }

        var direction = wanted < current ? $"scaling servers down from {current} to {wanted}" : $"scaling servers up from {current} to {wanted}";
        if (!settled)
        {
            return new ServerScalingStep(current, $"{direction}: waiting for all {current} server pods to be ready", null);
        }

        var (healthy, _, why) = ClusterStatus.AssessConsul(current, consul, names);
        if (!healthy)
        {
            return new ServerScalingStep(current, $"{direction}: waiting until every server is a healthy voter ({why})", null);
        }

        return wanted < current
            ? new ServerScalingStep(current - 1, null, null, $"{names.Servers}-{current - 1}")
            : new ServerScalingStep(current + 1, null, null);
    }

    private static bool HasLeft(string pod, ConsulObservation consul) =>
        consul.Raft.Servers.All(s => s.Node != pod) && consul.Members.Any(m => m.Name == pod && m.Status == AgentMember.Left);

    // A raft peer whose pod is beyond the StatefulSet's replicas and no longer alive: removed from Kubernetes, not yet from raft.
    private static RaftServer? DeadPeerOf(int replicas, ConsulObservation consul, Names names) =>
        consul.Raft.Servers.FirstOrDefault(s =>
            names.ParsePod(s.Node) is (Components.Server, var ordinal) && ordinal >= replicas
            && consul.Autopilot?.Servers.FirstOrDefault(h => h.ID == s.ID) is not { SerfStatus: "alive" });
}
