namespace ConsulOperator.Consul;

/// <summary>What one server pod said of its own raft state, or why it said nothing.</summary>
public sealed record ServerAnswer(string Pod, string? NodeId, ulong LastIndex, ulong LastTerm, RaftConfiguration? Configuration, string? Problem)
{
    public bool Answered => Problem is null;
}

/// <summary>
/// Asks every server pod for its own view when raft has no leader: <c>/v1/agent/self</c> (its node ID and raft log) and
/// <c>/v1/operator/raft/configuration?stale</c> (the configuration it holds). A server answers both from its own state,
/// with no leader (agent/consul/operator_raft_endpoint.go RaftGetConfiguration: a stale read is not forwarded), so the
/// survey works exactly when it is needed. It reads and never writes.
/// </summary>
public static class QuorumSurvey
{
    public static async Task<IReadOnlyList<ServerAnswer>> TakeAsync(ConsulClient consul, IEnumerable<(string Pod, Uri Endpoint)> servers, CancellationToken cancel) =>
        await Task.WhenAll(servers.Select(s => AskAsync(consul, s.Pod, s.Endpoint, cancel)));

    private static async Task<ServerAnswer> AskAsync(ConsulClient consul, string pod, Uri endpoint, CancellationToken cancel)
    {
        try
        {
            var self = await consul.SelfAsync(endpoint, cancel);
            var configuration = await consul.LocalRaftConfigurationAsync(endpoint, cancel);
            return new ServerAnswer(pod, self.Config.NodeID, self.LastLogIndex, self.LastLogTerm, configuration, null);
        }
        catch (ConsulApiException e)
        {
            return new ServerAnswer(pod, null, 0, 0, null, e.Message);
        }
    }
}
