using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;

namespace ConsulOperator.Controllers;

/// <summary>
/// Which servers trail the leader's raft log, and since when: a follower far behind cannot take over without losing
/// what it has not applied, and one that stays behind is sick (disk, network) even while autopilot still counts it.
/// </summary>
public static class RaftLag
{
    /// <summary>Autopilot's default <c>max_trailing_logs</c> (docs: autopilot configuration): beyond it, a server is not healthy to autopilot either.</summary>
    public const ulong MaxTrailingLogs = 250;

    /// <summary>How long a server may trail before it is called out: catching up after a restart takes a moment.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(2);

    /// <summary>Each server from autopilot's report, with when it started trailing carried over from the last status.</summary>
    public static List<ServerStatus> Servers(AutopilotHealth health, IReadOnlyList<ServerStatus>? previous, DateTimeOffset now)
    {
        var leaderIndex = health.Servers.FirstOrDefault(s => s.Leader)?.LastIndex;
        return [.. health.Servers.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s =>
        {
            var trailing = leaderIndex is { } index && index > s.LastIndex && index - s.LastIndex > MaxTrailingLogs;
            var since = previous?.FirstOrDefault(p => p.Name == s.Name)?.LaggingSince;
            return new ServerStatus
            {
                Name = s.Name,
                Leader = s.Leader,
                Voter = s.Voter,
                Healthy = s.Healthy,
                LastIndex = (long)s.LastIndex,
                LastTerm = (long)s.LastTerm,
                StableSince = s.StableSince,
                LaggingSince = trailing ? since ?? now.UtcDateTime : null,
            };
        })];
    }

    /// <summary>The servers that have trailed for longer than the grace period, with how far behind they are.</summary>
    public static IReadOnlyList<string> Lagging(IReadOnlyList<ServerStatus> servers, DateTimeOffset now)
    {
        var leader = servers.FirstOrDefault(s => s.Leader);
        return [.. servers.Where(s => s.LaggingSince is { } since && now - since >= Grace)
            .Select(s => $"{s.Name} ({(leader?.LastIndex ?? 0) - s.LastIndex} entries behind the leader since {s.LaggingSince:yyyy-MM-ddTHH:mm:ssZ})")];
    }
}
