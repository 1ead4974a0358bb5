using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

/// <summary>What Consul says decides the cluster's status: leader, raft voters, autopilot health.</summary>
public sealed class ConsulHealthIntegrationTests() : IntegrationTest()
{
    [Fact]
    public async Task Status_shows_leader_peers_and_members_as_consul_reports_them()
    {
        Harness.Create(Clusters.Sample());
        var cluster = await WaitForReadyAsync();

        Assert.Equal("consul-server-0", cluster.Status!.Leader);
        Assert.Equal(["consul-server-0", "consul-server-1", "consul-server-2"], cluster.Status.RaftPeers);
        Assert.Equal((3, 1, 5, 0), (cluster.Status.Voters, cluster.Status.FailureTolerance, cluster.Status.AliveMembers, cluster.Status.FailedMembers));
        Assert.True(Conditions.IsTrue(cluster.Status.Conditions, ClusterStatus.ConsulHealthy));
    }

    [Fact]
    public async Task A_lost_leader_degrades_the_cluster_until_raft_elects_one_again()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var datacenter = Harness.Consul.Datacenter("consul", "consul")!;

        datacenter.ForceNoLeader(true);
        await WaitForConditionAsync(Conditions.Degraded, "True", "NoLeader");
        Assert.Equal("NoLeader", Condition(Conditions.Ready)!.Reason);

        datacenter.ForceNoLeader(false);
        await WaitForReadyAsync();
        Assert.False(Conditions.IsTrue(Cluster().Status!.Conditions, Conditions.Degraded));
    }

    [Fact]
    public async Task A_server_autopilot_calls_unhealthy_is_named_in_the_degraded_condition()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        Harness.Consul.Datacenter("consul", "consul")!.SetHealthy("consul-server-2", false);
        await WaitForConditionAsync(Conditions.Degraded, "True", "ServersUnhealthy");
        Assert.Contains("consul-server-2", Condition(Conditions.Degraded)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Consul_that_cannot_be_reached_is_reported_with_the_endpoint_not_hidden()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        Harness.Consul.Server.Faults.FailNext("/v1/status/leader", 1000, 500, "rpc error: injected outage");
        await WaitForConditionAsync(Conditions.Degraded, "True", "ConsulUnreachable");
        Assert.Contains("/v1/status/leader: 500 rpc error: injected outage", Condition(ClusterStatus.ConsulHealthy)!.Message, StringComparison.Ordinal);
    }

    private V1Alpha1ConsulCluster Cluster() => Harness.Get<V1Alpha1ConsulCluster>("consul")!;

    private k8s.Models.V1Condition? Condition(string type) => Conditions.Find(Cluster().Status?.Conditions, type);

    private Task WaitForConditionAsync(string type, string status, string reason) => OperatorHarness.WaitUntilAsync(
        () => Condition(type) is { } c && c.Status == status && c.Reason == reason, $"{type}={status} ({reason})", TimeSpan.FromSeconds(20));

    [Fact]
    public async Task Status_lists_each_server_with_the_raft_index_consul_reports_and_marks_a_trailing_follower()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;

        ConsulOperator.Api.V1Alpha1.ServerStatus[]? servers = null;
        await OperatorHarness.WaitUntilAsync(
            () => (servers = Harness.Get<V1Alpha1ConsulCluster>("consul")?.Status?.Servers?.ToArray()) is { Length: 3 } s && s.All(x => x.LastIndex == (long)dc.Index),
            "status.servers to show the datacenter's raft index on every server");
        Assert.Equal(["consul-server-0", "consul-server-1", "consul-server-2"], servers!.Select(s => s.Name));
        Assert.Single(servers!, s => s.Leader);
        Assert.All(servers!, s => Assert.True(s.Voter && s.Healthy));

        // Writes move the log on (600 of them, as a busy datacenter would), and one follower falls 300 entries behind
        // (autopilot's max_trailing_logs is 250): status says since when.
        for (var i = 0; i < 600; i++)
        {
            dc.Edit((_, _) => { });
        }

        var follower = servers!.First(s => !s.Leader).Name;
        dc.SetRaftLag(follower, 300);
        await OperatorHarness.WaitUntilAsync(
            () => Harness.Get<V1Alpha1ConsulCluster>("consul")?.Status?.Servers?.SingleOrDefault(s => s.Name == follower) is { LaggingSince: not null } s && s.LastIndex == (long)dc.Index - 300,
            "the trailing follower to be marked");
        Assert.All(Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.Servers!.Where(s => s.Name != follower), s => Assert.Null(s.LaggingSince));
    }
}
