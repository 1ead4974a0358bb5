using ConsulOperator.Consul;

namespace ConsulOperator.Controllers;

/// <summary>
/// Whether raft, having no leader, can still elect one: judged from what each server said of itself
/// (<see cref="QuorumSurvey"/>). The newest configuration any answering server holds (the one furthest along its log)
/// names the voters; raft elects only with a majority of them, and a server counts as one only under the same node ID,
/// so a server that came back on an empty volume is a stranger to raft. Pure: every branch is tested without a server.
/// </summary>
public static class QuorumLoss
{
    public const string Lost = "QuorumLost";
    public const string NoLeader = "NoLeader";
    public const string Bootstrapping = "Bootstrapping";

    /// <summary>The condition reason and message for a cluster without a leader, and the voters that answer, furthest along their log first.</summary>
    public sealed record Verdict(string Reason, string Message, IReadOnlyList<ServerAnswer> Survivors);

    /// <param name="answers">What each of this cluster's server pods said of itself.</param>
    /// <param name="names">The cluster's names: a voter that is none of its server pods runs outside Kubernetes (spec.join) and was not asked.</param>
    public static Verdict Assess(IReadOnlyList<ServerAnswer> answers, Desired.Names names)
    {
        var answered = answers.Where(a => a.Answered).ToList();
        var silent = answers.Where(a => !a.Answered).Select(a => $"{a.Pod} ({a.Problem})").ToList();
        var newest = answered.Where(a => a.Configuration is { Servers.Count: > 0 }).MaxBy(a => (a.LastTerm, a.LastIndex));
        if (newest is null)
        {
            return answered.Count == 0
                ? new Verdict(NoLeader, $"raft has no leader and no server answers for itself{Listed("; ", silent)}", [])
                : new Verdict(Bootstrapping, $"raft has no leader and no server holds a raft configuration yet: {string.Join(", ", answered.Select(a => a.Pod))} answer", []);
        }

        var voters = newest.Configuration!.Servers.Where(s => s.Voter).ToList();
        var byId = answered.Where(a => a.NodeId is not null).GroupBy(a => a.NodeId!).ToDictionary(g => g.Key, g => g.First());
        var survivors = voters.Where(v => byId.ContainsKey(v.ID)).Select(v => byId[v.ID]).OrderByDescending(a => (a.LastTerm, a.LastIndex)).ToList();
        var quorum = (voters.Count / 2) + 1;
        var census = $"the newest raft configuration ({newest.Pod}, last index {newest.LastIndex}) has {voters.Count} voters and an election needs {quorum}; " +
            $"{survivors.Count} of them answer{Listed(": ", survivors.Select(Described))}";
        if (survivors.Count >= quorum)
        {
            return new Verdict(NoLeader, $"raft has no leader, but {census}, so an election can finish", survivors);
        }

        bool Outside(RaftServer voter) => voter.Node != "(unknown)" && !names.IsServerPod(voter.Node);
        var missing = voters.Where(v => !byId.ContainsKey(v.ID)).ToList();
        var outside = missing.Where(Outside).Select(v => $"{v.Node} ({v.Address})").ToList();
        var gone = missing.Where(v => !Outside(v)).Select(v => v.Node == "(unknown)" ? $"ID {v.ID} at {v.Address}" : $"{v.Node} (ID {v.ID}, {v.Address})").ToList();
        var strangers = answered.Where(a => a.NodeId is null || !voters.Any(v => v.ID == a.NodeId)).Select(a => a.Pod).ToList();
        var recovery = outside.Count > 0
            ? "servers outside Kubernetes are voters too, so a reset of raft must be written on every surviving server, outside ones included, by hand (docs/operations.md, \"Lost quorum\"); spec.recovery is refused with spec.join"
            : survivors.Count == 0
            ? "no voter survives: the data can only come back from a snapshot"
            : $"only a reset of raft on the survivors can bring a leader back: spec.recovery with a new request and servers {string.Join(", ", survivors.Select(s => s.Pod))} " +
              $"makes them the only voters through raft/peers.json, where {survivors[0].Pod} holds the highest last index (docs/operations.md, \"Lost quorum\"); the operator does this only on request, once quorum has been lost for spec.recovery.minOutage";
        return new Verdict(
            Lost,
            $"raft cannot elect a leader: {census}{Listed("; gone: ", gone)}{Listed("; outside Kubernetes, not asked: ", outside)}" +
            $"{Listed("; answering without a place in raft (empty volumes, new node IDs): ", strangers)}{Listed("; not answering: ", silent)}; {recovery}",
            survivors);
    }

    private static string Described(ServerAnswer answer) => $"{answer.Pod} (last index {answer.LastIndex}, term {answer.LastTerm})";

    private static string Listed(string prefix, IEnumerable<string> items) => items.ToList() is { Count: > 0 } list ? prefix + string.Join(", ", list) : "";
}
