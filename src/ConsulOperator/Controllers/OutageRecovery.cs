using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;

namespace ConsulOperator.Controllers;

/// <summary>
/// The next step of a recovery asked for in spec.recovery: the status to record, and the one server pod to restart now,
/// if any. A request starts only once quorum has been lost for minOutage and its servers include a survivor holding the
/// highest last index; it then fixes the peers (IDs, addresses, pod UIDs) in status before anything is restarted, so
/// every later step reads what was decided, not what the survey says by then. A pod counts as restarted once its UID
/// differs from the recorded one, which holds across operator restarts. Pure: every branch is tested without a server.
/// </summary>
public sealed record OutageRecovery(RecoveryStatus? Status, string? Restart, string? Waiting)
{
    // spec.recovery.minOutage's default, for a value that does not parse (validated before, so only ever a safe reading).
    private static readonly TimeSpan DefaultMinOutage = TimeSpan.FromMinutes(10);

    /// <param name="spec">spec.recovery.</param>
    /// <param name="current">status.recovery as last written.</param>
    /// <param name="consul">What Consul says now; without a leader, with each server's own answer (the survey).</param>
    /// <param name="quorumLostSince">status.quorumLostSince as last written.</param>
    /// <param name="servers">The server pods that exist now.</param>
    /// <param name="inputInPlace">The recovery ConfigMap holds this request's peers: only then may a pod restart.</param>
    /// <param name="names">The cluster's names, for the peers' raft addresses.</param>
    /// <param name="now">The time of the decision (the start, the completion, the end of minOutage).</param>
    public static OutageRecovery Decide(
        RecoverySpec? spec, RecoveryStatus? current, ConsulObservation consul, DateTime? quorumLostSince, IReadOnlyList<AgentPod> servers,
        bool inputInPlace, Names names, DateTimeOffset now)
    {
        if (spec is null || current?.Request == spec.Request && current.Phase is RecoveryPhase.Completed or RecoveryPhase.Refused)
        {
            return new OutageRecovery(current, null, null);
        }

        return current?.Request == spec.Request && current.Phase is RecoveryPhase.Restarting or RecoveryPhase.WaitingForLeader
            ? Continue(current, consul, servers, inputInPlace, now)
            : Start(spec, consul, quorumLostSince, servers, names, now);
    }

    private static OutageRecovery Start(RecoverySpec spec, ConsulObservation consul, DateTime? quorumLostSince, IReadOnlyList<AgentPod> servers, Names names, DateTimeOffset now)
    {
        RecoveryStatus Record(RecoveryPhase phase, string message) => new() { Request = spec.Request, Phase = phase, Message = message };

        if (consul.Leader is { } leader)
        {
            return new OutageRecovery(
                Record(RecoveryPhase.Refused, $"raft has a leader ({leader}): there is nothing to recover, and this request will not run later; set a new spec.recovery.request if quorum is lost again"),
                null, null);
        }

        if (!consul.Asked || consul.Problem is not null || consul.Survey is null)
        {
            return Wait(Record(RecoveryPhase.Waiting, $"no server can be asked whether quorum is lost{(consul.Problem is null ? "" : $" ({consul.Problem})")}"));
        }

        var verdict = QuorumLoss.Assess(consul.Survey, names);
        if (verdict.Reason != QuorumLoss.Lost)
        {
            return Wait(Record(RecoveryPhase.Waiting, $"raft has no leader, but quorum is not lost ({verdict.Reason}): a recovery runs only when too few voters are left to elect one"));
        }

        var problems = new List<string>();
        var minOutage = GoDuration.TryParse(spec.MinOutage, out var parsed) ? parsed : DefaultMinOutage;
        var since = quorumLostSince is { } lost ? new DateTimeOffset(lost, TimeSpan.Zero) : now;
        if (now - since < minOutage)
        {
            problems.Add($"quorum has been lost since {since.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}; the recovery starts once that is {spec.MinOutage} ago (spec.recovery.minOutage), at {(since + minOutage).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
        }

        var survivors = verdict.Survivors;
        var notSurvivors = spec.Servers.Where(s => survivors.All(v => v.Pod != s)).ToList();
        if (notSurvivors.Count > 0)
        {
            problems.Add($"spec.recovery.servers lists {string.Join(", ", notSurvivors)}, which {(notSurvivors.Count == 1 ? "is not a surviving voter" : "are not surviving voters")} (no raft data under a voter's ID, or no answer); the survivors are {(survivors.Count == 0 ? "none" : string.Join(", ", survivors.Select(s => s.Pod)))}");
        }

        // Survivors come furthest along first; any of those tied with the first holds every committed entry.
        var furthest = survivors.Where(s => (s.LastTerm, s.LastIndex) == (survivors[0].LastTerm, survivors[0].LastIndex)).ToList();
        if (furthest.Count > 0 && !furthest.Any(s => spec.Servers.Contains(s.Pod)))
        {
            problems.Add($"spec.recovery.servers must include {furthest[0].Pod}, which holds the highest last index ({furthest[0].LastIndex}, term {furthest[0].LastTerm}) of the servers that answer; without it, entries it holds would be lost");
        }

        if (problems.Count > 0)
        {
            return Wait(Record(RecoveryPhase.Waiting, string.Join("; ", problems)));
        }

        // Survivors are server pods that answered the survey, so each has an ordinal.
        var peers = survivors.Where(s => spec.Servers.Contains(s.Pod)).Select(s => (Answer: s, Ordinal: names.ParsePod(s.Pod)!.Value.Ordinal)).OrderBy(s => s.Ordinal).Select(s => new RecoveryPeer
        {
            Pod = s.Answer.Pod,
            Id = s.Answer.NodeId!,
            Address = names.ServerRaftAddress(s.Ordinal),
            PodUid = servers.FirstOrDefault(p => p.Name == s.Answer.Pod)?.Uid ?? "",
            LastIndex = (long)s.Answer.LastIndex,
        }).ToList();
        var started = Record(RecoveryPhase.Restarting, $"resetting raft to {string.Join(", ", peers.Select(p => p.Pod))} as the only voters: writing their raft/peers.json, then restarting them one at a time");
        started.Peers = peers;
        started.StartedAt = now.UtcDateTime;
        return Wait(started);
    }

    private static OutageRecovery Continue(RecoveryStatus current, ConsulObservation consul, IReadOnlyList<AgentPod> servers, bool inputInPlace, DateTimeOffset now)
    {
        var peers = current.Peers ?? [];
        RecoveryStatus With(RecoveryPhase phase, string message) => new()
        {
            Request = current.Request,
            Phase = phase,
            Message = message,
            Peers = current.Peers,
            StartedAt = current.StartedAt,
            CompletedAt = current.CompletedAt,
        };

        for (var i = 0; i < peers.Count; i++)
        {
            var peer = peers[i];
            var pod = servers.FirstOrDefault(p => p.Name == peer.Pod);
            if (pod is not null && pod.Uid == peer.PodUid)
            {
                if (!inputInPlace)
                {
                    return Wait(With(RecoveryPhase.Restarting, $"writing raft/peers.json for {string.Join(", ", peers.Select(p => p.Pod))} before {peer.Pod} restarts"));
                }

                var restarting = With(RecoveryPhase.Restarting, $"restarting {peer.Pod} ({i + 1} of {peers.Count}) so that it starts with raft/peers.json");
                return new OutageRecovery(restarting, peer.Pod, restarting.Message);
            }

            if (pod is not { Running: true })
            {
                return Wait(With(RecoveryPhase.Restarting, $"{peer.Pod} ({i + 1} of {peers.Count}) is starting again with raft/peers.json"));
            }
        }

        if (consul.Leader is not { } leader)
        {
            return Wait(With(RecoveryPhase.WaitingForLeader, $"{string.Join(", ", peers.Select(p => p.Pod))} restarted with raft/peers.json; waiting for raft to elect a leader among them"));
        }

        var completed = With(RecoveryPhase.Completed, $"raft has a leader again ({leader}), with {string.Join(", ", peers.Select(p => p.Pod))} as the voters of the reset; the input is removed, and servers without raft data join through the leader");
        completed.CompletedAt = now.UtcDateTime;
        return new OutageRecovery(completed, null, null);
    }

    private static OutageRecovery Wait(RecoveryStatus status) => new(status, null, $"recovery {status.Request}: {status.Message}");
}
