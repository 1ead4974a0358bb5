using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

public sealed class LeaderElectionIntegrationTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(replicas: 2);

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Only_the_leader_writes_and_the_other_takes_over_when_it_stops()
    {
        await OperatorHarness.WaitUntilAsync(() => Holder() is not null, "a leader");
        var leader = Holder()!;
        var follower = leader == "replica-0" ? "replica-1" : "replica-0";

        harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        Assert.NotEmpty(harness.Writes(leader));
        Assert.Empty(harness.Writes(follower));

        await harness.StopReplicaAsync(harness.Replicas[leader == "replica-0" ? 0 : 1]);
        await OperatorHarness.WaitUntilAsync(() => Holder() == follower, "the follower to take the Lease");

        harness.Delete<V1Secret>("consul-server-0-tls");
        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1Secret>("consul-server-0-tls") is not null, "the new leader to repair the cluster");
        Assert.NotEmpty(harness.Writes(follower));
    }

    [Fact]
    public async Task A_leader_that_loses_its_lease_stops_writing_within_the_renew_deadline()
    {
        await OperatorHarness.WaitUntilAsync(() => Holder() is not null, "a leader");
        harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        // Both replicas go on running, but the Lease now belongs to someone else for a long time.
        await harness.StopReplicaAsync(harness.Replicas[Holder() == "replica-0" ? 1 : 0]);
        var lease = harness.Get<V1Lease>("consul-operator-leader", "consul-operator")!;
        lease.Spec.HolderIdentity = "intruder";
        lease.Spec.RenewTime = DateTime.UtcNow;
        lease.Spec.LeaseDurationSeconds = 3600;
        harness.Update(lease);
        await Task.Delay(TimeSpan.FromSeconds(3));

        var writes = harness.Writes().Count;
        harness.Delete<V1Secret>("consul-server-0-tls");
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(writes, harness.Writes().Count);
        Assert.Null(harness.Get<V1Secret>("consul-server-0-tls"));
        Assert.Equal("intruder", Holder());
    }

    private string? Holder() => harness.Get<V1Lease>("consul-operator-leader", "consul-operator")?.Spec?.HolderIdentity;

    private async Task WaitForReadyAsync() =>
        await OperatorHarness.WaitUntilAsync(
            () => harness.Get<V1Alpha1ConsulCluster>("consul") is { } c && Conditions.IsTrue(c.Status?.Conditions, Conditions.Ready),
            "the cluster to become Ready");
}
