using ConsulOperator.Consul;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;

namespace ConsulOperator.Tests.Consul;

public class ServerScalingTests
{
    private static readonly Names Names = new("consul", "consul", "cluster.local");

    [Fact]
    public void A_new_cluster_starts_every_server_at_once()
    {
        Assert.Equal(new ServerScalingStep(5, null, null), ServerScalingStep.Decide(null, 5, false, ConsulObservation.NotAsked, Names));
    }

    [Fact]
    public void Scaling_down_removes_one_server_per_step_while_all_are_healthy_voters()
    {
        var step = ServerScalingStep.Decide(5, 3, true, Healthy(5), Names);
        Assert.Equal((4, (string?)null, "consul-server-4"), (step.Replicas, step.Waiting, step.Leaving));
    }

    [Fact]
    public void Scaling_up_adds_one_server_per_step()
    {
        Assert.Equal(new ServerScalingStep(4, null, null), ServerScalingStep.Decide(3, 5, true, Healthy(3), Names));
    }

    public static TheoryData<string, ConsulObservation, bool> Unsafe => new()
    {
        { "waiting for all 5 server pods to be ready", Healthy(5), false },
        { "raft has no leader", Healthy(5) with { LeaderAddress = null }, true },
        { "autopilot reports unhealthy: consul-server-1 (failed)", Healthy(5, unhealthy: 1), true },
        { "not yet voters: consul-server-4", Healthy(5, nonVoter: 4), true },
        { "unreachable", ConsulObservation.Unreachable("GET https://x/v1/status/leader: unreachable"), true },
    };

    [Theory]
    [MemberData(nameof(Unsafe))]
    public void No_step_is_taken_without_a_leader_and_every_server_a_healthy_voter(string why, ConsulObservation consul, bool settled)
    {
        var step = ServerScalingStep.Decide(5, 3, settled, consul, Names);
        Assert.Equal(5, step.Replicas);
        Assert.Contains("scaling servers down from 5 to 3", step.Waiting, StringComparison.Ordinal);
        Assert.Contains(why, step.Waiting, StringComparison.Ordinal);
    }

    [Fact]
    public void A_step_down_whose_server_left_but_whose_statefulset_write_was_lost_finishes_without_waiting_for_the_pod()
    {
        // consul-server-4 left gossip and raft; the StatefulSet still says 5 and its pod will never be ready again.
        var left = Healthy(4) with { Members = [new AgentMember("consul-server-4", "10.0.0.14", 8301, new Dictionary<string, string> { ["role"] = "consul" }, AgentMember.Left)] };

        Assert.Equal(new ServerScalingStep(4, null, null), ServerScalingStep.Decide(5, 3, settled: false, left, Names));
        Assert.Contains("waiting for all 5 server pods to be ready", ServerScalingStep.Decide(5, 3, settled: false, Healthy(4), Names).Waiting, StringComparison.Ordinal);
        Assert.Equal(5, ServerScalingStep.Decide(5, 3, settled: false, left with { LeaderAddress = null }, Names).Replicas);
    }

    [Fact]
    public void A_removed_server_that_never_left_raft_is_taken_out_before_the_next_step()
    {
        // Replicas went 5 to 4, but consul-server-4 was killed rather than leaving: it is a failed voter.
        var consul = Healthy(5, unhealthy: 4);
        var step = ServerScalingStep.Decide(4, 3, true, consul, Names);
        Assert.Equal((4, "consul-server-4"), (step.Replicas, step.DeadPeer?.Node));

        Assert.Null(ServerScalingStep.Decide(4, 3, true, consul with { LeaderAddress = null }, Names).DeadPeer);
        Assert.Null(ServerScalingStep.Decide(5, 3, true, consul, Names).DeadPeer);
    }

    [Fact]
    public void Servers_removed_by_hand_that_raft_still_counts_come_back_at_once()
    {
        // Someone scaled the StatefulSet from 5 to 3 with kubectl: servers 3 and 4 are failed voters, raft keeps its leader.
        var consul = Healthy(5, unhealthy: 4) with { };
        var step = ServerScalingStep.Decide(3, 5, true, consul, Names);
        Assert.Equal(5, step.Replicas);
        Assert.Null(step.DeadPeer);
        Assert.Contains("restoring servers from 3 to 5 at once: raft still counts consul-server-3, consul-server-4 as voters", step.Waiting, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Below_quorum_every_missing_server_comes_back_at_once(bool anyServerReady)
    {
        // Scaled to 1 by hand: the one server left has no quorum, so no leader (and, as its probe needs one, maybe no ready pod).
        var consul = anyServerReady ? Healthy(3) with { LeaderAddress = null } : ConsulObservation.NotAsked;
        var step = ServerScalingStep.Decide(1, 3, true, consul, Names);
        Assert.Equal(3, step.Replicas);
        Assert.Contains("restoring servers from 1 to 3 at once: raft has no leader", step.Waiting, StringComparison.Ordinal);
    }

    [Fact]
    public void Consul_unreachable_is_no_reason_to_add_servers()
    {
        var step = ServerScalingStep.Decide(3, 5, true, ConsulObservation.Unreachable("GET https://x/v1/status/leader: unreachable"), Names);
        Assert.Equal(3, step.Replicas);
    }

    private static ConsulObservation Healthy(int servers, int? unhealthy = null, int? nonVoter = null)
    {
        var ordinals = Enumerable.Range(0, servers).ToList();
        return new ConsulObservation(
            "10.0.0.10:8300",
            new RaftConfiguration([.. ordinals.Select(i => new RaftServer($"id-{i}", $"consul-server-{i}", $"10.0.0.{10 + i}:8300", i == 0, i != nonVoter))], 1),
            new AutopilotHealth(unhealthy is null, 1, [.. ordinals.Select(i => new ServerHealth(
                $"id-{i}", $"consul-server-{i}", $"10.0.0.{10 + i}:8300", i == unhealthy ? "failed" : "alive", "1.16.1", i == 0, i != unhealthy, i != nonVoter))]),
            [],
            null);
    }
}
