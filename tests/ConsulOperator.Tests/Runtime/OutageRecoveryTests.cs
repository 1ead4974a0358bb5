using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;

namespace ConsulOperator.Tests.Runtime;

public sealed class OutageRecoveryTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly Names Names = new("consul", "consul", "cluster.local");
    private static readonly RaftConfiguration ThreeVoters = new(
        [new("a", "consul-server-0", "10.0.0.10:8300", false, true), new("b", "(unknown)", "10.0.0.11:8300", false, true), new("c", "(unknown)", "10.0.0.12:8300", false, true)], 40);

    // consul-server-0 survives with its raft data; consul-server-1 and -2 answer from empty volumes.
    private static readonly ConsulObservation LostQuorum = ConsulObservation.NotAsked with
    {
        Problem = null,
        Survey = [new ServerAnswer("consul-server-0", "a", 40, 2, ThreeVoters, null), Fresh("consul-server-1", "b2"), Fresh("consul-server-2", "c2")],
    };

    private static readonly IReadOnlyList<AgentPod> Pods = [.. Enumerable.Range(0, 3).Select(i => new AgentPod($"consul-server-{i}", i, "r1", false, Now, true, $"uid-{i}"))];

    [Fact]
    public void A_new_request_waits_for_min_outage_and_names_every_problem_at_once()
    {
        var step = Decide(Request(["consul-server-1"], "10m"), null, lostFor: TimeSpan.FromMinutes(3));

        Assert.Equal(RecoveryPhase.Waiting, step.Status!.Phase);
        Assert.Null(step.Restart);
        Assert.Equal(
            "quorum has been lost since 2026-12-03T11:57:00Z; the recovery starts once that is 10m ago (spec.recovery.minOutage), at 2026-12-03T12:07:00Z; " +
            "spec.recovery.servers lists consul-server-1, which is not a surviving voter (no raft data under a voter's ID, or no answer); the survivors are consul-server-0; " +
            "spec.recovery.servers must include consul-server-0, which holds the highest last index (40, term 2) of the servers that answer; without it, entries it holds would be lost",
            step.Status.Message);
    }

    [Fact]
    public void An_eligible_request_fixes_the_peers_in_status_before_any_pod_restarts()
    {
        var step = Decide(Request(["consul-server-0"], "10m"), null, lostFor: TimeSpan.FromMinutes(11));

        Assert.Equal(RecoveryPhase.Restarting, step.Status!.Phase);
        Assert.Null(step.Restart);
        var peer = Assert.Single(step.Status.Peers!);
        Assert.Equal(("consul-server-0", "a", "consul-server-0.consul-server.consul.svc.cluster.local:8300", "uid-0", 40L), (peer.Pod, peer.Id, peer.Address, peer.PodUid, peer.LastIndex));
    }

    [Fact]
    public void A_started_recovery_restarts_each_listed_pod_once_input_first_then_completes_with_a_leader()
    {
        var started = Decide(Request(["consul-server-0"], "0s"), null, lostFor: TimeSpan.Zero).Status!;

        Assert.Null(Decide(Request(["consul-server-0"], "0s"), started, TimeSpan.Zero, inputInPlace: false).Restart);
        Assert.Equal("consul-server-0", Decide(Request(["consul-server-0"], "0s"), started, TimeSpan.Zero).Restart);

        // Replaced (another UID): not restarted again, whatever the request says now.
        var replaced = (IReadOnlyList<AgentPod>)[Pods[0] with { Uid = "uid-0b" }, .. Pods.Skip(1)];
        var waiting = OutageRecovery.Decide(Request(["consul-server-0"], "0s"), started, LostQuorum, Now.UtcDateTime, replaced, true, Names, Now);
        Assert.Equal((RecoveryPhase.WaitingForLeader, null), (waiting.Status!.Phase, waiting.Restart));

        var led = LostQuorum with { LeaderAddress = "10.0.0.10:8300", Raft = ThreeVoters, Survey = null };
        var completed = OutageRecovery.Decide(Request(["consul-server-0"], "0s"), waiting.Status, led, null, replaced, true, Names, Now);
        Assert.Equal((RecoveryPhase.Completed, Now.UtcDateTime), (completed.Status!.Phase, completed.Status.CompletedAt));
        Assert.Null(completed.Waiting);
        Assert.Same(completed.Status, OutageRecovery.Decide(Request(["consul-server-0"], "0s"), completed.Status, LostQuorum, Now.UtcDateTime, Pods, true, Names, Now).Status);
    }

    [Fact]
    public void A_request_while_raft_has_a_leader_is_refused_and_never_runs_later()
    {
        var led = LostQuorum with { LeaderAddress = "10.0.0.10:8300", Raft = ThreeVoters };
        var refused = OutageRecovery.Decide(Request(["consul-server-0"], "0s"), null, led, null, Pods, false, Names, Now).Status!;

        Assert.Equal(RecoveryPhase.Refused, refused.Phase);
        var later = Decide(Request(["consul-server-0"], "0s"), refused, TimeSpan.FromHours(1));
        Assert.Equal((RecoveryPhase.Refused, null), (later.Status!.Phase, later.Restart));
    }

    [Fact]
    public void The_input_gives_each_listed_server_its_own_ip_and_the_others_dns_names()
    {
        RecoveryPeer Peer(int ordinal, string id) => new() { Pod = $"consul-server-{ordinal}", Id = id, Address = Names.ServerRaftAddress(ordinal) };
        var peers = new[] { Peer(0, "a"), Peer(1, "b") };

        Assert.Equal(
            """
            [
              {
                "id": "a",
                "address": "__POD_IP__:8300",
                "non_voter": false
              },
              {
                "id": "b",
                "address": "consul-server-1.consul-server.consul.svc.cluster.local:8300",
                "non_voter": false
              }
            ]

            """.ReplaceLineEndings("\n"),
            RecoveryInput.PeersJson(peers, "consul-server-0", raftProtocol: 3));
        Assert.Equal("[\n  \"consul-server-0.consul-server.consul.svc.cluster.local:8300\",\n  \"__POD_IP__:8300\"\n]\n", RecoveryInput.PeersJson(peers, "consul-server-1", raftProtocol: 2));
    }

    private static OutageRecovery Decide(RecoverySpec spec, RecoveryStatus? current, TimeSpan lostFor, bool inputInPlace = true) =>
        OutageRecovery.Decide(spec, current, LostQuorum, (Now - lostFor).UtcDateTime, Pods, inputInPlace, Names, Now);

    private static RecoverySpec Request(List<string> servers, string minOutage) => new() { Request = "r1", Servers = servers, MinOutage = minOutage };

    private static ServerAnswer Fresh(string pod, string id) => new(pod, id, 0, 0, new RaftConfiguration([], 0), null);
}
