using ConsulOperator.Consul;
using ConsulOperator.Controllers;
using Microsoft.Extensions.Time.Testing;

namespace ConsulOperator.Tests.Consul;

public sealed class RaftLagTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 12, 2, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_follower_beyond_max_trailing_logs_is_named_only_once_it_has_trailed_for_the_grace_period()
    {
        var health = Health(leader: 5000, follower: 5000 - RaftLag.MaxTrailingLogs - 1);
        var first = RaftLag.Servers(health, null, time.GetUtcNow());
        Assert.Equal(time.GetUtcNow().UtcDateTime, first.Single(s => s.Name == "consul-server-1").LaggingSince);
        Assert.Empty(RaftLag.Lagging(first, time.GetUtcNow()));

        // Still behind a grace period later: the time it started trailing is kept, and now it is named.
        time.Advance(RaftLag.Grace);
        var later = RaftLag.Servers(health, first, time.GetUtcNow());
        Assert.Equal(first.Single(s => s.Name == "consul-server-1").LaggingSince, later.Single(s => s.Name == "consul-server-1").LaggingSince);
        var named = Assert.Single(RaftLag.Lagging(later, time.GetUtcNow()));
        Assert.StartsWith($"consul-server-1 ({RaftLag.MaxTrailingLogs + 1} entries behind the leader", named, StringComparison.Ordinal);

        // Caught up: forgotten.
        var caughtUp = RaftLag.Servers(Health(leader: 6000, follower: 6000), later, time.GetUtcNow());
        Assert.All(caughtUp, s => Assert.Null(s.LaggingSince));
    }

    [Fact]
    public void A_follower_within_max_trailing_logs_is_not_lagging()
    {
        var servers = RaftLag.Servers(Health(leader: 5000, follower: 5000 - RaftLag.MaxTrailingLogs), null, time.GetUtcNow());
        Assert.All(servers, s => Assert.Null(s.LaggingSince));
        Assert.Equal([5000L, 4750L], servers.Select(s => s.LastIndex));
    }

    [Fact]
    public void Indexes_that_moved_alone_go_into_status_only_every_few_minutes_and_any_other_change_at_once()
    {
        var (written, at) = RaftLag.Settle(RaftLag.Servers(Health(leader: 5000, follower: 5000), null, time.GetUtcNow()), null, null, time.GetUtcNow());
        Assert.Equal(time.GetUtcNow().UtcDateTime, at);

        // A minute of writes later: what status already says stands, so there is nothing to write.
        time.Advance(TimeSpan.FromMinutes(1));
        var (kept, keptAt) = RaftLag.Settle(RaftLag.Servers(Health(leader: 5100, follower: 5100), written, time.GetUtcNow()), written, at, time.GetUtcNow());
        Assert.Equal([5000L, 5000L], kept.Select(s => s.LastIndex));
        Assert.Equal(at, keptAt);

        // Past the refresh period with nothing moved, status stays as it is, the time it was read included.
        time.Advance(RaftLag.IndexRefresh);
        var (quiet, quietAt) = RaftLag.Settle(RaftLag.Servers(Health(leader: 5000, follower: 5000), written, time.GetUtcNow()), written, at, time.GetUtcNow());
        Assert.Equal([5000L, 5000L], quiet.Select(s => s.LastIndex));
        Assert.Equal(at, quietAt);

        // Past the refresh period the indexes that moved are written.
        time.Advance(RaftLag.IndexRefresh);
        var (refreshed, refreshedAt) = RaftLag.Settle(RaftLag.Servers(Health(leader: 5200, follower: 5200), written, time.GetUtcNow()), written, at, time.GetUtcNow());
        Assert.Equal([5200L, 5200L], refreshed.Select(s => s.LastIndex));
        Assert.Equal(time.GetUtcNow().UtcDateTime, refreshedAt);

        // A follower starting to trail is news at once, with the indexes that show it.
        time.Advance(TimeSpan.FromSeconds(30));
        var (trailing, _) = RaftLag.Settle(RaftLag.Servers(Health(leader: 6000, follower: 5000), refreshed, time.GetUtcNow()), refreshed, refreshedAt, time.GetUtcNow());
        Assert.Equal([6000L, 5000L], trailing.Select(s => s.LastIndex));
        Assert.NotNull(trailing.Single(s => s.Name == "consul-server-1").LaggingSince);
    }

    private static AutopilotHealth Health(ulong leader, ulong follower) => new(true, 0,
    [
        new ServerHealth("a", "consul-server-0", "10.0.0.10:8300", "alive", "1.16.1", true, true, true, leader, 2),
        new ServerHealth("b", "consul-server-1", "10.0.0.11:8300", "alive", "1.16.1", false, true, true, follower, 2),
    ]);
}
