using ConsulOperator.Consul;
using ConsulOperator.Controllers;

namespace ConsulOperator.Tests.Runtime;

public sealed class QuorumLossTests
{
    private static readonly ConsulOperator.Desired.Names Names = new("consul", "consul", "cluster.local");
    private static readonly RaftConfiguration ThreeVoters = new([Server("a", "consul-server-0"), Server("b", "consul-server-1"), Server("c", "consul-server-2")], 40);

    [Fact]
    public void No_server_holding_a_configuration_is_a_datacenter_still_bootstrapping()
    {
        var verdict = QuorumLoss.Assess([Fresh("consul-server-0", "x"), Fresh("consul-server-1", "y")], Names);

        Assert.Equal(QuorumLoss.Bootstrapping, verdict.Reason);
        Assert.Empty(verdict.Survivors);
    }

    [Fact]
    public void Servers_that_refuse_to_answer_leave_only_no_leader_with_their_reasons()
    {
        var verdict = QuorumLoss.Assess([new ServerAnswer("consul-server-0", null, 0, 0, null, "403 Permission denied")], Names);

        Assert.Equal((QuorumLoss.NoLeader, "raft has no leader and no server answers for itself; consul-server-0 (403 Permission denied)"), (verdict.Reason, verdict.Message));
    }

    [Fact]
    public void A_majority_of_voters_answering_is_an_election_that_can_finish()
    {
        var verdict = QuorumLoss.Assess([Voter("consul-server-0", "a", 40), Voter("consul-server-1", "b", 39)], Names);

        Assert.Equal(QuorumLoss.NoLeader, verdict.Reason);
        Assert.EndsWith("2 of them answer: consul-server-0 (last index 40, term 2), consul-server-1 (last index 39, term 2), so an election can finish", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_back_on_an_empty_volume_is_no_voter_even_under_a_voters_name()
    {
        // consul-server-1 answers, but with a new node ID: raft still waits for "b".
        var verdict = QuorumLoss.Assess([Voter("consul-server-0", "a", 40), Fresh("consul-server-1", "b2"), new ServerAnswer("consul-server-2", null, 0, 0, null, "unreachable")], Names);

        Assert.Equal(QuorumLoss.Lost, verdict.Reason);
        Assert.Equal(["consul-server-0"], verdict.Survivors.Select(s => s.Pod));
        Assert.Contains("gone: consul-server-1 (ID b, 10.0.0.1:8300), consul-server-2 (ID c, 10.0.0.2:8300)", verdict.Message, StringComparison.Ordinal);
        Assert.Contains("answering without a place in raft (empty volumes, new node IDs): consul-server-1; not answering: consul-server-2 (unreachable)", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_configuration_that_counts_is_the_one_of_the_server_furthest_along()
    {
        // consul-server-1 holds an older configuration (before "d" joined); consul-server-0's newer one has four voters.
        var newer = new RaftConfiguration([.. ThreeVoters.Servers, Server("d", "consul-server-3")], 50);
        var verdict = QuorumLoss.Assess([
            new ServerAnswer("consul-server-0", "a", 50, 3, newer, null),
            new ServerAnswer("consul-server-1", "b", 30, 2, ThreeVoters, null),
        ], Names);

        Assert.Equal(QuorumLoss.Lost, verdict.Reason);
        Assert.Contains("(consul-server-0, last index 50) has 4 voters and an election needs 3", verdict.Message, StringComparison.Ordinal);
        Assert.Equal(["consul-server-0", "consul-server-1"], verdict.Survivors.Select(s => s.Pod));
    }

    [Fact]
    public void With_no_voter_left_only_a_snapshot_brings_the_data_back()
    {
        var verdict = QuorumLoss.Assess([Fresh("consul-server-0", "new"), new ServerAnswer("consul-server-1", "b", 12, 2, ThreeVoters, null) with { NodeId = "other" }], Names);

        Assert.Equal(QuorumLoss.Lost, verdict.Reason);
        Assert.EndsWith("no voter survives: the data can only come back from a snapshot", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Voters_outside_kubernetes_are_named_as_not_asked_and_the_advice_is_a_reset_on_every_survivor_by_hand()
    {
        var joined = new RaftConfiguration([Server("a", "consul-server-0"), Server("b", "consul-server-1"), Server("c", "consul-server-2"), Server("v", "consul-vm-0"), Server("w", "consul-vm-1")], 40);

        var verdict = QuorumLoss.Assess([new ServerAnswer("consul-server-0", "a", 40, 2, joined, null)], Names);

        Assert.Equal(QuorumLoss.Lost, verdict.Reason);
        Assert.Contains("has 5 voters and an election needs 3; 1 of them answer", verdict.Message, StringComparison.Ordinal);
        Assert.Contains("; gone: consul-server-1 (ID b, 10.0.0.1:8300), consul-server-2 (ID c, 10.0.0.2:8300)", verdict.Message, StringComparison.Ordinal);
        Assert.Contains("; outside Kubernetes, not asked: consul-vm-0 (10.0.0.0:8300), consul-vm-1 (10.0.0.1:8300)", verdict.Message, StringComparison.Ordinal);
        Assert.EndsWith("by hand (docs/operations.md, \"Lost quorum\"); spec.recovery is refused with spec.join", verdict.Message, StringComparison.Ordinal);
    }

    private static RaftServer Server(string id, string node) => new(id, node, $"10.0.0.{node[^1]}:8300", false, true);

    private static ServerAnswer Voter(string pod, string id, ulong index) => new(pod, id, index, 2, ThreeVoters, null);

    private static ServerAnswer Fresh(string pod, string id) => new(pod, id, 0, 0, new RaftConfiguration([], 0), null);
}
