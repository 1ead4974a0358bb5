using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Testing.KubeApi;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

/// <summary>
/// Servers lost for good (pod and volume gone; the StatefulSet brings the pod back on a new, empty volume): the operator
/// tells a lost quorum from an election, names who survives and how far each got, and changes nothing until asked; on
/// request (spec.recovery) it resets raft on the survivors through raft/peers.json. Two operator replicas, so that one
/// can be killed mid-recovery.
/// </summary>
public sealed class QuorumLossIntegrationTests() : IntegrationTest(replicas: 2)
{
    private static readonly ResourceInfo Claims = ResourceCatalog.ForKind("v1", "PersistentVolumeClaim");

    [Fact]
    public async Task Two_of_three_servers_lost_for_good_is_a_lost_quorum_naming_the_survivor()
    {
        var dc = await ClusterAsync(3);
        var ids = ServerIds(dc);
        var writesBefore = Harness.Writes().Count(IsServerWrite);

        LoseForGood("consul-server-1", "consul-server-2");

        var degraded = await WaitForQuorumLostAsync("consul-server-1", "consul-server-2");
        var index = dc.Find("consul-server-0")!.FrozenIndex;
        Assert.Contains($"has 3 voters and an election needs 2; 1 of them answer: consul-server-0 (last index {index}, term 2)", degraded, StringComparison.Ordinal);
        Assert.Contains($"ID {ids["consul-server-1"]} at ", degraded, StringComparison.Ordinal);
        Assert.Contains($"ID {ids["consul-server-2"]} at ", degraded, StringComparison.Ordinal);
        Assert.Contains("spec.recovery with a new request and servers consul-server-0 makes them the only voters through raft/peers.json, where consul-server-0 holds the highest last index", degraded, StringComparison.Ordinal);
        Assert.Equal("QuorumLost", Condition(Conditions.Ready)!.Reason);
        Assert.Contains("QuorumLost", Harness.List("v1", "Event").Where(e => (string?)e["type"] == "Warning").Select(e => (string?)e["reason"]));

        await AssertNothingChangedAsync(dc, writesBefore, voters: 3);
    }

    [Fact]
    public async Task Three_of_five_lost_names_both_survivors_and_the_one_furthest_along()
    {
        var dc = await ClusterAsync(5);

        // consul-server-0 trails: consul-server-1 holds the newest log when the others go.
        dc.SetRaftLag("consul-server-0", 7);
        var writesBefore = Harness.Writes().Count(IsServerWrite);
        LoseForGood("consul-server-2", "consul-server-3", "consul-server-4");

        var degraded = await WaitForQuorumLostAsync("consul-server-2", "consul-server-3", "consul-server-4");
        var (first, second) = (dc.Find("consul-server-1")!.FrozenIndex, dc.Find("consul-server-0")!.FrozenIndex);
        Assert.Equal(first - 7, second);
        Assert.Contains(
            $"has 5 voters and an election needs 3; 2 of them answer: consul-server-1 (last index {first}, term 2), consul-server-0 (last index {second}, term 2)",
            degraded, StringComparison.Ordinal);
        Assert.Contains("servers consul-server-1, consul-server-0 makes them the only voters through raft/peers.json, where consul-server-1 holds the highest last index", degraded, StringComparison.Ordinal);

        await AssertNothingChangedAsync(dc, writesBefore, voters: 5);
    }

    [Fact]
    public async Task A_forced_election_with_every_voter_present_is_no_leader_not_a_lost_quorum()
    {
        var dc = await ClusterAsync(3);

        dc.ForceNoLeader(true);
        await OperatorHarness.WaitUntilAsync(() => Condition(Conditions.Degraded) is { Status: "True", Reason: "NoLeader" }, "Degraded=True (NoLeader)");
        Assert.Contains("3 voters and an election needs 2; 3 of them answer", Condition(Conditions.Degraded)!.Message, StringComparison.Ordinal);
        Assert.Contains("so an election can finish", Condition(Conditions.Degraded)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_of_three_lost_for_good_recover_on_request_around_the_survivor_and_its_data()
    {
        var dc = await ClusterAsync(3);
        var survivor = dc.Find("consul-server-0")!;
        LoseForGood("consul-server-1", "consul-server-2");
        await WaitForQuorumLostAsync("consul-server-1", "consul-server-2");
        var index = survivor.FrozenIndex;
        var uid = Harness.Get<k8s.Models.V1Pod>("consul-server-0")!.Metadata.Uid;

        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Recovery = new RecoverySpec { Request = "outage-1", Servers = ["consul-server-0"], MinOutage = "0s" });
        var recovery = await WaitForRecoveryAsync("outage-1", RecoveryPhase.Completed);
        await WaitForReadyAsync(generation: 2);

        // The survivor leads under its own ID with its log, and the two servers on empty volumes joined it as voters.
        Assert.Equal(["consul-server-0"], recovery.Peers!.Select(p => p.Pod));
        Assert.Equal(survivor.Id, recovery.Peers![0].Id);
        Assert.NotEqual(uid, Harness.Get<k8s.Models.V1Pod>("consul-server-0")!.Metadata.Uid);
        Assert.Equal("consul-server-0", dc.Leader);
        Assert.Same(survivor, dc.Find("consul-server-0"));
        Assert.True(dc.Index >= index);
        Assert.Equal(3, dc.RaftPeers.Count(p => p.Voter && p.Status == ConsulDatacenter.MemberStatus.Alive));
        Assert.Equal(3, dc.RaftPeers.Count);

        // Nothing deleted that the spec did not ask for, the input gone, and the reset done once.
        Assert.Equal(3, Harness.List("v1", "PersistentVolumeClaim").Count);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<k8s.Models.V1ConfigMap>("consul-recovery")?.Data?["consul-server-0.json"] == "", "the recovery input to be emptied");
        Assert.Single(PodDeletions("consul-server-0"));
        Assert.Contains("RecoveryCompleted", Harness.List("v1", "Event").Select(e => (string?)e["reason"]));
    }

    [Fact]
    public async Task Three_of_five_lost_wait_for_the_furthest_survivor_and_resume_after_the_operator_is_killed_mid_recovery()
    {
        var dc = await ClusterAsync(5);
        dc.SetRaftLag("consul-server-0", 7);
        LoseForGood("consul-server-2", "consul-server-3", "consul-server-4");
        await WaitForQuorumLostAsync("consul-server-2", "consul-server-3", "consul-server-4");

        // Only the survivor that trails is listed: refused, naming the one furthest along; nothing restarts.
        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Recovery = new RecoverySpec { Request = "outage-2", Servers = ["consul-server-0"], MinOutage = "0s" });
        var waiting = await WaitForRecoveryAsync("outage-2", RecoveryPhase.Waiting);
        Assert.Contains($"spec.recovery.servers must include consul-server-1, which holds the highest last index ({dc.Find("consul-server-1")!.FrozenIndex}, term 2)", waiting.Message, StringComparison.Ordinal);
        Assert.Empty(PodDeletions("consul-server-0"));

        // Both survivors listed: the operator leading the recovery dies right after the first restart; the other goes on.
        var firstRestart = new TaskCompletionSource();
        Harness.Api.Store.Changed += change =>
        {
            if (change.Type == "DELETED" && (string?)change.Item["metadata"]?["name"] is "consul-server-0" or "consul-server-1")
            {
                firstRestart.TrySetResult();
            }
        };
        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Recovery!.Servers = ["consul-server-0", "consul-server-1"]);
        await firstRestart.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await Harness.StopReplicaAsync(Harness.Replicas.Single(r => r.Services.GetService(typeof(LeaderElector)) is LeaderElector { IsLeader: true }));

        var recovery = await WaitForRecoveryAsync("outage-2", RecoveryPhase.Completed);
        await WaitForReadyAsync(generation: 3);
        Assert.Equal(["consul-server-0", "consul-server-1"], recovery.Peers!.Select(p => p.Pod));
        Assert.Equal("consul-server-1", dc.Leader);
        Assert.Single(PodDeletions("consul-server-0"));
        Assert.Single(PodDeletions("consul-server-1"));
        Assert.Equal(5, dc.RaftPeers.Count(p => p.Voter && p.Status == ConsulDatacenter.MemberStatus.Alive));
        Assert.Equal(5, Harness.List("v1", "PersistentVolumeClaim").Count);
    }

    [Fact]
    public async Task A_request_while_raft_has_a_leader_is_refused_for_good()
    {
        await ClusterAsync(3);

        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Recovery = new RecoverySpec { Request = "by-mistake", Servers = ["consul-server-0"], MinOutage = "0s" });
        var refused = await WaitForRecoveryAsync("by-mistake", RecoveryPhase.Refused);
        Assert.StartsWith("raft has a leader (consul-server-0): there is nothing to recover", refused.Message, StringComparison.Ordinal);
        await WaitForReadyAsync(generation: 2);
        Assert.Empty(PodDeletions("consul-server-0"));
        Assert.Null(Harness.Get<k8s.Models.V1ConfigMap>("consul-recovery"));
    }

    private async Task<RecoveryStatus> WaitForRecoveryAsync(string request, RecoveryPhase phase)
    {
        await OperatorHarness.WaitUntilAsync(() => Cluster().Status?.Recovery is { } r && r.Request == request && r.Phase == phase, $"recovery {request} {phase}", TimeSpan.FromSeconds(60));
        return Cluster().Status!.Recovery!;
    }

    private IReadOnlyList<LoggedRequest> PodDeletions(string pod) =>
        [.. Harness.Writes().Where(w => w.Plural == "pods" && w.Verb == "delete" && w.Name == pod)];

    private async Task<ConsulDatacenter> ClusterAsync(int servers)
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Servers.Replicas = servers;
        Harness.Create(cluster);
        await WaitForReadyAsync();
        return Harness.Consul.Datacenter("consul", "consul")!;
    }

    // Nodes and their disks gone together (a zone outage): every container stops first, then each claim goes (its volume
    // with it) and its pod; the StatefulSet controller creates both again, the claim empty, on another node.
    private void LoseForGood(params string[] pods)
    {
        foreach (var pod in pods)
        {
            Harness.Api.StatefulSets.StopPod("consul", pod);
        }

        foreach (var pod in pods)
        {
            Harness.Api.Store.Delete(Claims, "consul", $"data-{pod}");
            Harness.Delete<k8s.Models.V1Pod>(pod);
        }
    }

    // Lost as soon as the survivors are too few; the message is final once every replacement pod runs and answers too.
    private async Task<string> WaitForQuorumLostAsync(params string[] replacements)
    {
        var strangers = $"answering without a place in raft (empty volumes, new node IDs): {string.Join(", ", replacements)};";
        await OperatorHarness.WaitUntilAsync(
            () => Condition(Conditions.Degraded) is { Status: "True", Reason: QuorumLoss.Lost } degraded && degraded.Message.Contains(strangers, StringComparison.Ordinal),
            $"Degraded=True (QuorumLost) with {string.Join(", ", replacements)} answering");
        return Condition(Conditions.Degraded)!.Message;
    }

    // Detection only: no pod deleted, no StatefulSet or claim touched, raft left exactly as the survivors hold it.
    private async Task AssertNothingChangedAsync(ConsulDatacenter dc, int writesBefore, int voters)
    {
        await Harness.WaitForQuietAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(writesBefore, Harness.Writes().Count(IsServerWrite));
        Assert.Null(dc.Leader);
        Assert.Equal(voters, dc.RaftPeers.Count(p => p.Voter));
        Assert.Equal(voters, Harness.List("v1", "PersistentVolumeClaim").Count);
    }

    private static bool IsServerWrite(LoggedRequest request) => request.Plural is "pods" or "statefulsets" or "persistentvolumeclaims";

    private static Dictionary<string, string> ServerIds(ConsulDatacenter dc) => dc.Agents.Where(a => a.Server).ToDictionary(a => a.Name, a => a.Id);

    private V1Alpha1ConsulCluster Cluster() => Harness.Get<V1Alpha1ConsulCluster>("consul")!;

    private k8s.Models.V1Condition? Condition(string type) => Conditions.Find(Cluster().Status?.Conditions, type);
}
