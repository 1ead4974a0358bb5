using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace ConsulOperator.Tests.Integration;

public sealed class LeaderElectionIntegrationTests() : IntegrationTest(replicas: 2)
{

    [Fact]
    public async Task Only_the_leader_writes_and_the_other_takes_over_when_it_stops()
    {
        await OperatorHarness.WaitUntilAsync(() => Holder() is not null, "a leader");
        var leader = Holder()!;
        var follower = leader == "replica-0" ? "replica-1" : "replica-0";

        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        Assert.NotEmpty(Harness.Writes(leader));
        Assert.Empty(Harness.Writes(follower));

        await Harness.StopReplicaAsync(Harness.Replicas[leader == "replica-0" ? 0 : 1]);
        await OperatorHarness.WaitUntilAsync(() => Holder() == follower, "the follower to take the Lease");

        Harness.Delete<V1Secret>("consul-server-0-tls");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>("consul-server-0-tls") is not null, "the new leader to repair the cluster");
        Assert.NotEmpty(Harness.Writes(follower));
    }

    [Fact]
    public async Task A_leader_that_loses_its_lease_stops_writing_within_the_renew_deadline()
    {
        await OperatorHarness.WaitUntilAsync(() => Holder() is not null, "a leader");
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        // Both replicas go on running, but the Lease now belongs to someone else for a long time.
        await Harness.StopReplicaAsync(Harness.Replicas[Holder() == "replica-0" ? 1 : 0]);
        Harness.Edit<V1Lease>("consul-operator-leader", lease =>
        {
            lease.Spec.HolderIdentity = "intruder";
            lease.Spec.RenewTime = DateTime.UtcNow;
            lease.Spec.LeaseDurationSeconds = 3600;
        }, "consul-operator");
        var replica = Harness.Replicas.Single();
        await OperatorHarness.WaitUntilAsync(() => replica.Services.GetService(typeof(LeaderElector)) is LeaderElector { IsLeader: false }, "the replica to see it lost the Lease");

        // Its caches still follow the cluster: once they have seen the deletion a leader would repair it at once.
        var writes = Harness.Writes().Count;
        Harness.Delete<V1Secret>("consul-server-0-tls");
        var caches = replica.Services.GetRequiredService<ConsulOperator.Controllers.OperatorCaches>();
        await OperatorHarness.WaitUntilAsync(() => caches.Secrets.Find(OperatorHarness.Namespace, "consul-server-0-tls") is null, "the replica's cache to see the deletion");
        await Harness.WaitForQuietAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(writes, Harness.Writes().Count);
        Assert.Null(Harness.Get<V1Secret>("consul-server-0-tls"));
        Assert.Equal("intruder", Holder());
    }

    private string? Holder() => Harness.Get<V1Lease>("consul-operator-leader", "consul-operator")?.Spec?.HolderIdentity;
}
