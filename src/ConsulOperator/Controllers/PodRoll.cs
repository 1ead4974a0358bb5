using ConsulOperator.Consul;

namespace ConsulOperator.Controllers;

/// <summary>One agent pod as the operator sees it: ready (its probe passes) and running (its container started) are apart; its UID tells a replaced pod from the one before.</summary>
public sealed record AgentPod(string Name, int Ordinal, string? Revision, bool Ready, DateTimeOffset Created, bool Running, string Uid = "");

/// <summary>
/// Which agent pod to restart next, if any. A pod is due when it runs an old pod template (a new Consul version or
/// configuration; the StatefulSet uses OnDelete, so only the operator replaces pods) or started before the certificate
/// it serves with was issued. One pod at a time, only while every pod is ready and raft has a leader with every
/// server a healthy voter; servers before clients, followers before the leader.
/// </summary>
public sealed record PodRoll(string? Restart, string? Reason, string? Waiting)
{
    public static readonly PodRoll Nothing = new(null, null, null);

    /// <param name="servers">The server pods that exist now.</param>
    /// <param name="clients">The client pods that exist now.</param>
    /// <param name="serverRevision">The server StatefulSet's updateRevision.</param>
    /// <param name="clientRevision">The client StatefulSet's updateRevision.</param>
    /// <param name="certificateIssued">When the certificate a pod serves with was issued, by pod name; null when it has none of its own.</param>
    /// <param name="wantedServers">Servers the StatefulSet runs now.</param>
    /// <param name="consul">What Consul says now.</param>
    /// <param name="names">The cluster's names, to tell its server pods from servers outside Kubernetes.</param>
    public static PodRoll Decide(
        IReadOnlyList<AgentPod> servers, IReadOnlyList<AgentPod> clients, string? serverRevision, string? clientRevision,
        Func<string, DateTimeOffset?> certificateIssued, int wantedServers, ConsulObservation consul, Desired.Names names)
    {
        string? Due(AgentPod pod, string? revision) =>
            revision is not null && pod.Revision != revision ? "runs an old pod template"
            // Both times have whole seconds: a certificate from the pod's own second was there when its volume was mounted.
            : certificateIssued(pod.Name) is { } issued && pod.Created < issued ? "started before its certificate was renewed"
            : null;

        var due = servers.Select(p => (Pod: p, Why: Due(p, serverRevision), Server: true))
            .Concat(clients.Select(p => (Pod: p, Why: Due(p, clientRevision), Server: false)))
            .Where(d => d.Why is not null).ToList();
        if (due.Count == 0)
        {
            return Nothing;
        }

        var restarting = $"{due.Count} agent pod{(due.Count == 1 ? "" : "s")} to restart";
        if (servers.Concat(clients).FirstOrDefault(p => !p.Ready) is { } notReady)
        {
            return new PodRoll(null, null, $"{restarting}: waiting for {notReady.Name} to be ready");
        }

        var (healthy, _, why) = ClusterStatus.AssessConsul(wantedServers, consul, names);
        if (!healthy)
        {
            return new PodRoll(null, null, $"{restarting}: waiting until every server is a healthy voter ({why})");
        }

        var next = due.OrderByDescending(d => d.Server).ThenBy(d => d.Pod.Name == consul.Leader).ThenByDescending(d => d.Pod.Ordinal).First();
        return new PodRoll(next.Pod.Name, next.Why, null);
    }
}
