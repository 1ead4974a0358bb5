using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.KubeApi;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>Upgrades and renewed certificates restart agent pods one at a time: servers first, the leader last, only while Consul is healthy.</summary>
public sealed class PodRollIntegrationTests() : IntegrationTest(replicas: 2)
{
    [Fact]
    public async Task An_upgrade_restarts_followers_then_the_leader_then_clients_one_at_a_time()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var restarts = RecordPodDeletions();

        Upgrade("1.17.0");
        var cluster = await WaitForReadyAsync(generation: 2);

        Assert.Equal(["consul-server-2", "consul-server-1", "consul-server-0", "consul-client-1", "consul-client-0"], restarts.Snapshot());
        Assert.All(Harness.Consul.Datacenter("consul", "consul")!.Agents, a => Assert.Equal("1.17.0", a.Version));
        // The leader's restart hands leadership to a follower; status names whoever leads now.
        Assert.NotNull(cluster.Status!.Leader);
        Assert.Equal(Harness.Consul.CurrentLeader("consul", "consul"), cluster.Status.Leader);
    }

    [Fact]
    public async Task An_upgrade_that_leaves_a_server_unhealthy_stops_there_and_says_so()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        dc.UnhealthyVersion = "1.17.0";
        var restarts = RecordPodDeletions();

        Upgrade("1.17.0");
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Cluster().Status?.Conditions, Conditions.Degraded) is { Status: "True", Reason: "ServersUnhealthy" },
            "Degraded=True (ServersUnhealthy)");
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Cluster().Status?.Conditions, Conditions.Progressing)?.Message?.Contains("waiting until every server is a healthy voter", StringComparison.Ordinal) == true,
            "the roll to wait");
        await Harness.WaitForReconcilesAsync(3, "looking again while the upgraded server is unhealthy");

        Assert.Equal(["consul-server-2"], restarts.Snapshot());
        Assert.Contains("consul-server-2", Conditions.Find(Cluster().Status!.Conditions, Conditions.Degraded)!.Message, StringComparison.Ordinal);
        Assert.NotNull(dc.Leader);
    }

    [Fact]
    public async Task An_operator_replaced_mid_upgrade_resumes_and_restarts_each_pod_once()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var restarts = RecordPodDeletions();
        var first = new TaskCompletionSource();
        Harness.Api.Store.Changed += change =>
        {
            if (change.Resource.Kind == "Pod" && change.Type == "DELETED")
            {
                first.TrySetResult();
            }
        };

        Upgrade("1.17.0");
        await first.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var leader = Harness.Replicas.Single(r => r.Services.GetService(typeof(LeaderElector)) is LeaderElector { IsLeader: true });
        await Harness.StopReplicaAsync(leader);

        await WaitForReadyAsync(generation: 2);
        Assert.Equal(["consul-server-2", "consul-server-1", "consul-server-0", "consul-client-1", "consul-client-0"], restarts.Snapshot());
    }

    [Fact]
    public async Task A_renewed_certificate_restarts_only_the_pod_that_serves_with_it()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var restarts = RecordPodDeletions();

        // A lost Secret is reissued like an expiring one: a new certificate the running pod has not loaded. Pod and
        // certificate times have whole seconds, so the renewal must fall in a later second than the pod's start.
        var started = Harness.List("v1", "Pod").Max(p => DateTime.Parse((string)p["metadata"]!["creationTimestamp"]!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal));
        await OperatorHarness.WaitUntilAsync(() => DateTime.UtcNow >= started.AddSeconds(1), "a second later than every pod's start");
        Harness.Delete<V1Secret>("consul-server-1-tls");
        await OperatorHarness.WaitUntilAsync(() => restarts.Snapshot().Contains("consul-server-1"), "consul-server-1 to restart");
        await WaitForReadyAsync();
        await Harness.WaitForReconcilesAsync(3, "looking again once the cluster is ready");

        Assert.Equal(["consul-server-1"], restarts.Snapshot());
        Assert.Contains("RestartingPod", Harness.List("v1", "Event").Select(e => (string?)e["reason"]));
    }

    private V1Alpha1ConsulCluster Cluster() => Harness.Get<V1Alpha1ConsulCluster>("consul")!;

    private void Upgrade(string version)
    {
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Version = version);
    }

    private Recording RecordPodDeletions() =>
        Harness.Record(change => change.Resource.Kind == "Pod" && change.Type == "DELETED" ? (string?)change.Item["metadata"]!["name"] : null);
}
