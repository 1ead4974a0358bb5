using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Testing.KubeApi;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

/// <summary>Servers added and removed one at a time, never without a leader, through the operator and the simulated raft.</summary>
public sealed class ServerScalingIntegrationTests() : IntegrationTest(replicas: 2)
{
    [Fact]
    public async Task Each_removed_server_leaves_raft_before_its_pod_goes_and_quorum_holds_at_every_moment()
    {
        var dc = await FiveServersAsync();
        var steps = RecordServerReplicas();
        using var watch = WatchLeader(dc);

        // At the moment the StatefulSet drops an ordinal, that server must have left already.
        var statusAtShrink = Harness.Record(change =>
            IsServerSet(change) && ObjectStore.Number(change.Item["spec"]!["replicas"]) is var replicas and < 5
                ? $"consul-server-{replicas}: {dc.Find($"consul-server-{replicas}")!.Status} in raft={dc.Find($"consul-server-{replicas}")!.InRaft}"
                : null,
            collapseRepeats: true);

        ScaleTo(3);
        await WaitForReadyAsync(generation: 2);

        Assert.Equal(["4", "3"], steps.Snapshot());
        Assert.Equal(["consul-server-4: Left in raft=False", "consul-server-3: Left in raft=False"], statusAtShrink.Snapshot());
        Assert.Equal(["consul-server-0", "consul-server-1", "consul-server-2"], Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.RaftPeers);
        Assert.Equal(2, Harness.List("v1", "Event").Count(e => (string?)e["reason"] == "ServerLeft"));
        Assert.Equal(0, watch.MomentsWithoutLeader);
    }

    [Fact]
    public async Task A_server_whose_pod_went_without_leaving_is_taken_out_of_raft()
    {
        var dc = await FiveServersAsync();

        // Someone else scales the servers down behind the operator's back (no leave, a failed voter) while the spec asks for
        // fewer still. Both edits land while no operator runs: one that saw the StatefulSet at 4 with the spec still at 5
        // would rightly put the fifth server back.
        foreach (var replica in Harness.Replicas.ToList())
        {
            await Harness.StopReplicaAsync(replica);
        }

        Harness.Edit<k8s.Models.V1StatefulSet>("consul-server", set => set.Spec.Replicas = 4);
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Servers.Replicas = 3);
        await OperatorHarness.WaitUntilAsync(
            () => Harness.Consul.CurrentLeader("consul", "consul") is not null && dc.Find("consul-server-4")!.Status == ConsulDatacenter.MemberStatus.Failed,
            "consul-server-4 to be gone without leaving");
        await Harness.StartReplicaAsync("replica-restarted");

        await WaitForReadyAsync(generation: 2);
        Assert.Contains("RaftPeerRemoved", Harness.List("v1", "Event").Select(e => (string?)e["reason"]));
        Assert.Equal(["consul-server-0", "consul-server-1", "consul-server-2"], Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.RaftPeers);
        Assert.Equal(3, dc.Agents.Count(a => a.Server && a.InRaft));
        Assert.Equal(0, Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.FailedMembers);
    }

    [Fact]
    public async Task Servers_scaled_away_by_hand_below_quorum_come_back_at_once_and_status_says_why()
    {
        var dc = await FiveServersAsync();
        var progressing = Harness.Record(change => change.Resource.Kind == V1Alpha1ConsulCluster.KindName
            ? Conditions.Find(KubernetesJsonStatus(change.Item), Conditions.Progressing)?.Message
            : null, collapseRepeats: true);

        // kubectl scale --replicas=1: four voters gone without leaving, and no quorum left. It lands while no operator runs:
        // a running one may put the replicas back before the StatefulSet removes a pod, and rightly so, but then there is
        // no outage to recover from.
        foreach (var replica in Harness.Replicas.ToList())
        {
            await Harness.StopReplicaAsync(replica);
        }

        Harness.Edit<k8s.Models.V1StatefulSet>("consul-server", set => set.Spec.Replicas = 1);
        await OperatorHarness.WaitUntilAsync(() => Harness.Consul.CurrentLeader("consul", "consul") is null, "raft to lose its leader");
        await Harness.StartReplicaAsync("replica-restarted");

        await OperatorHarness.WaitUntilAsync(
            () => progressing.Snapshot().Any(m => m?.Contains("restoring servers from 1 to 5 at once: raft has no leader", StringComparison.Ordinal) == true),
            $"status to say the servers are being restored at once (Progressing said: {string.Join(" | ", progressing.Snapshot())})");
        await OperatorHarness.WaitUntilAsync(
            () => Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status is { Voters: 5 } status && Conditions.IsTrue(status.Conditions, Conditions.Ready) && Harness.Consul.CurrentLeader("consul", "consul") is not null,
            "five voters, a leader and Ready again");
        Assert.Equal(5, dc.Agents.Count(a => a.Server && a.InRaft && a.Voter));
        Assert.Equal(5, Harness.Get<k8s.Models.V1StatefulSet>("consul-server")!.Spec.Replicas);
        Assert.Equal(1, dc.Bootstraps);
    }

    private static List<k8s.Models.V1Condition>? KubernetesJsonStatus(System.Text.Json.Nodes.JsonObject item) =>
        item["status"]?["conditions"] is { } conditions ? k8s.KubernetesJson.Deserialize<List<k8s.Models.V1Condition>>(conditions.ToJsonString()) : null;

    [Fact]
    public async Task An_unhealthy_server_holds_the_scale_down_until_it_recovers()
    {
        var dc = await FiveServersAsync();
        dc.SetHealthy("consul-server-1", false);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.Conditions!.Any(c => c.Type == "Degraded" && c.Status == "True"), "Degraded");

        ScaleTo(3);
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.Conditions, Conditions.Progressing)?.Message?.Contains("waiting until every server is a healthy voter", StringComparison.Ordinal) == true,
            "the scale-down to wait");
        await Harness.WaitForReconcilesAsync(3, "looking again while the server is unhealthy");
        Assert.Equal(5, Harness.Get<k8s.Models.V1StatefulSet>("consul-server")!.Spec.Replicas);

        dc.SetHealthy("consul-server-1", true);
        await WaitForReadyAsync(generation: 2);
        Assert.Equal(3, Harness.Get<k8s.Models.V1StatefulSet>("consul-server")!.Spec.Replicas);
    }

    [Fact]
    public async Task An_operator_replaced_half_way_resumes_the_scale_down_where_it_was()
    {
        var dc = await FiveServersAsync();
        var steps = RecordServerReplicas();
        using var watch = WatchLeader(dc);

        // The leader dies right after the first step; the standby takes over.
        var firstStep = new TaskCompletionSource();
        Harness.Api.Store.Changed += change =>
        {
            if (IsServerSet(change) && ObjectStore.Number(change.Item["spec"]!["replicas"]) == 4)
            {
                firstStep.TrySetResult();
            }
        };
        ScaleTo(3);
        await firstStep.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var leader = Harness.Replicas.Single(r => r.Services.GetService(typeof(LeaderElector)) is LeaderElector { IsLeader: true });
        await Harness.StopReplicaAsync(leader);

        await WaitForReadyAsync(generation: 2);
        Assert.Equal(["4", "3"], steps.Snapshot());
        Assert.Equal(0, watch.MomentsWithoutLeader);
    }

    [Fact]
    public async Task Scaling_up_waits_for_each_new_server_to_become_a_voter()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        dc.Stabilization = TimeSpan.FromSeconds(1);
        var votersWhenGrown = new List<bool>();
        Harness.Api.Store.Changed += change =>
        {
            if (IsServerSet(change) && ObjectStore.Number(change.Item["spec"]!["replicas"]) == 5)
            {
                lock (votersWhenGrown)
                {
                    votersWhenGrown.Add(dc.Find("consul-server-3")?.Voter == true);
                }
            }
        };

        ScaleTo(5);
        await WaitForReadyAsync(generation: 2);
        lock (votersWhenGrown)
        {
            Assert.NotEmpty(votersWhenGrown);
            Assert.All(votersWhenGrown, Assert.True);
        }

        Assert.Equal(5, Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.Voters);
    }

    private async Task<ConsulDatacenter> FiveServersAsync()
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Servers.Replicas = 5;
        Harness.Create(cluster);
        await WaitForReadyAsync();
        return Harness.Consul.Datacenter("consul", "consul")!;
    }

    private void ScaleTo(int servers)
    {
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Servers.Replicas = servers);
    }

    private static bool IsServerSet(WatchEvent change) => change.Resource.Kind == "StatefulSet" && (string?)change.Item["metadata"]!["name"] == "consul-server";

    // From the replicas the StatefulSet has now: its status updates repeat them and are no step.
    private Recording RecordServerReplicas() =>
        Harness.Record(
            change => IsServerSet(change) ? ObjectStore.Number(change.Item["spec"]!["replicas"]).ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
            collapseRepeats: true,
            from: Harness.Get<k8s.Models.V1StatefulSet>("consul-server")!.Spec.Replicas!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private LeaderWatch WatchLeader(ConsulDatacenter dc) => new(() => Harness.Consul.CurrentLeader("consul", "consul"));

    /// <summary>Samples the simulated raft every few milliseconds and counts the samples without a leader.</summary>
    private sealed class LeaderWatch : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task sampling;
        private int withoutLeader;

        public LeaderWatch(Func<string?> leader) => sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (leader() is null)
                {
                    Interlocked.Increment(ref withoutLeader);
                }

                await Task.Delay(5);
            }
        });

        public int MomentsWithoutLeader => Volatile.Read(ref withoutLeader);

        public void Dispose()
        {
            stop.Cancel();
            sampling.Wait();
            stop.Dispose();
        }
    }
}
