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

    /// <summary>How often, by default, the raft indexes alone go into status: a write per poll of every busy cluster costs more than they are worth.</summary>
    public static readonly TimeSpan IndexRefresh = TimeSpan.FromMinutes(5);

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

    /// <summary>
    /// What goes into status: the servers as observed, but with the raft indexes last written while nothing else about
    /// the servers changed and the last ones are younger than <paramref name="refresh"/> (<see cref="IndexRefresh"/> unless set).
    /// </summary>
    public static (List<ServerStatus> Servers, DateTime ObservedAt) Settle(
        List<ServerStatus> observed, IReadOnlyList<ServerStatus>? written, DateTime? writtenAt, DateTimeOffset now, TimeSpan? refresh = null)
    {
        if (written is null || writtenAt is not { } at || observed.Count != written.Count
            || !observed.All(o => written.FirstOrDefault(w => w.Name == o.Name) is { } w && SameBesidesIndexes(o, w)))
        {
            return (observed, now.UtcDateTime);
        }

        // Nothing moved: what status says is still true, and so is when it was read.
        var moved = observed.Any(o => written.First(w => w.Name == o.Name) is var w && (w.LastIndex, w.LastTerm) != (o.LastIndex, o.LastTerm));
        if (!moved)
        {
            return (observed, at);
        }

        if (now.UtcDateTime - at >= (refresh ?? IndexRefresh))
        {
            return (observed, now.UtcDateTime);
        }

        foreach (var server in observed)
        {
            var kept = written.First(w => w.Name == server.Name);
            (server.LastIndex, server.LastTerm) = (kept.LastIndex, kept.LastTerm);
        }

        return (observed, at);
    }

    private static bool SameBesidesIndexes(ServerStatus a, ServerStatus b) =>
        (a.Leader, a.Voter, a.Healthy, a.StableSince, a.LaggingSince) == (b.Leader, b.Voter, b.Healthy, b.StableSince, b.LaggingSince);

    /// <summary>The servers that have trailed for longer than the grace period, with how far behind they are.</summary>
    public static IReadOnlyList<string> Lagging(IReadOnlyList<ServerStatus> servers, DateTimeOffset now)
    {
        var leader = servers.FirstOrDefault(s => s.Leader);
        return [.. servers.Where(s => s.LaggingSince is { } since && now - since >= Grace)
            .Select(s => $"{s.Name} ({(leader?.LastIndex ?? 0) - s.LastIndex} entries behind the leader since {s.LaggingSince:yyyy-MM-ddTHH:mm:ssZ})")];
    }
}
