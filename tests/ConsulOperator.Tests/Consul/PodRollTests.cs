using ConsulOperator.Consul;
using ConsulOperator.Controllers;

namespace ConsulOperator.Tests.Consul;

public class PodRollTests
{
    private static readonly ConsulOperator.Desired.Names Names = new("consul", "consul", "cluster.local");
    private static readonly DateTimeOffset Started = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly ConsulObservation Healthy = new(
        "10.0.0.11:8300",
        new RaftConfiguration([new("a", "consul-server-0", "10.0.0.10:8300", false, true), new("b", "consul-server-1", "10.0.0.11:8300", true, true), new("c", "consul-server-2", "10.0.0.12:8300", false, true)], 1),
        new AutopilotHealth(true, 1, [
            new("a", "consul-server-0", "10.0.0.10:8300", "alive", "1.16.1", false, true, true),
            new("b", "consul-server-1", "10.0.0.11:8300", "alive", "1.16.1", true, true, true),
            new("c", "consul-server-2", "10.0.0.12:8300", "alive", "1.16.1", false, true, true)]),
        [],
        null);

    [Fact]
    public void Nothing_is_due_when_every_pod_runs_the_current_template_and_certificate()
    {
        Assert.Equal(PodRoll.Nothing, Decide(Servers("new"), Clients("new"), _ => Started.AddMinutes(-1)));
    }

    [Fact]
    public void Followers_go_first_highest_ordinal_first_and_the_leader_last_then_clients()
    {
        Assert.Equal("consul-server-2", Decide(Servers("old"), Clients("old")).Restart);
        Assert.Equal("consul-server-0", Decide(Servers("old", "new", "new"), Clients("old")).Restart);
        Assert.Equal("consul-server-1", Decide(Servers("new", "old", "new"), Clients("old")).Restart);
        Assert.Equal("consul-client-1", Decide(Servers("new"), Clients("old")).Restart);
    }

    [Fact]
    public void A_certificate_renewed_after_the_pod_started_makes_it_due()
    {
        var roll = Decide(Servers("new"), Clients("new"), pod => pod == "consul-server-1" ? Started.AddSeconds(1) : Started);
        Assert.Equal(("consul-server-1", "started before its certificate was renewed"), (roll.Restart, roll.Reason));
    }

    [Fact]
    public void Nothing_restarts_while_a_pod_is_not_ready_or_consul_is_not_healthy()
    {
        var servers = Servers("old");
        servers[1] = servers[1] with { Ready = false };
        Assert.Equal(new PodRoll(null, null, "3 agent pods to restart: waiting for consul-server-1 to be ready"), Decide(servers, []));

        var roll = PodRoll.Decide(Servers("old"), [], "new", null, _ => null, 3, Healthy with { LeaderAddress = null }, Names);
        Assert.Null(roll.Restart);
        Assert.Contains("raft has no leader", roll.Waiting, StringComparison.Ordinal);
    }

    private static PodRoll Decide(List<AgentPod> servers, List<AgentPod> clients, Func<string, DateTimeOffset?>? issued = null) =>
        PodRoll.Decide(servers, clients, "new", "new", issued ?? (_ => null), 3, Healthy, Names);

    private static List<AgentPod> Servers(params string[] revisions) =>
        [.. Enumerable.Range(0, 3).Select(i => new AgentPod($"consul-server-{i}", i, revisions[Math.Min(i, revisions.Length - 1)], true, Started, true))];

    private static List<AgentPod> Clients(params string[] revisions) =>
        [.. Enumerable.Range(0, 2).Select(i => new AgentPod($"consul-client-{i}", i, revisions[Math.Min(i, revisions.Length - 1)], true, Started, true))];
}
