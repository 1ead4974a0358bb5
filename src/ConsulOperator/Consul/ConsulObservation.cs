namespace ConsulOperator.Consul;

/// <summary>What Consul itself says about a cluster at one moment, or why it could not be asked.</summary>
public sealed record ConsulObservation(string? LeaderAddress, RaftConfiguration Raft, AutopilotHealth? Autopilot, IReadOnlyList<AgentMember> Members, string? Problem)
{
    /// <summary>No server pod is ready: there is nobody to ask yet.</summary>
    public static readonly ConsulObservation NotAsked = new(null, new RaftConfiguration([], 0), null, [], null);

    public bool Asked => !ReferenceEquals(this, NotAsked);

    /// <summary>What each server pod said of its own raft state, asked only while raft has no leader.</summary>
    public IReadOnlyList<ServerAnswer>? Survey { get; init; }

    /// <summary>The leader's node name, from its raft address.</summary>
    public string? Leader => LeaderAddress is null ? null : Raft.Servers.FirstOrDefault(s => s.Address == LeaderAddress)?.Node;

    public IReadOnlyList<string> AliveAgents => [.. Members.Where(m => m.Status == AgentMember.Alive).Select(m => m.Name)];

    public static ConsulObservation Unreachable(string problem) => NotAsked with { Problem = problem };

    /// <summary>Raft configuration, autopilot health and gossip members as one token sees them, given the leader just read.</summary>
    public static async Task<ConsulObservation> ObserveAsync(ConsulClient consul, string? leader, CancellationToken cancel)
    {
        try
        {
            if (leader is null)
            {
                return new ConsulObservation(null, new RaftConfiguration([], 0), null, await consul.MembersAsync(consul.Servers, cancel), null);
            }

            var raft = await consul.RaftConfigurationAsync(cancel);
            var autopilot = await consul.AutopilotHealthAsync(cancel);
            var members = await consul.MembersAsync(consul.Servers, cancel);
            return new ConsulObservation(leader, raft, autopilot, members, null);
        }
        catch (ConsulApiException e)
        {
            return Unreachable(e.Message);
        }
    }
}
