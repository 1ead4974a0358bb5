using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

public sealed class SnapshotIntegrationTests() : IntegrationTest()
{
    [Fact]
    public async Task Enabled_snapshots_get_a_cronjob_and_a_volume_that_outlives_the_cluster()
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Snapshots.Enabled = true;
        Harness.Create(cluster);
        await WaitForReadyAsync();
        Assert.Equal("0 */6 * * *", Harness.Get<V1CronJob>("consul-snapshot")!.Spec.Schedule);
        Assert.NotNull(Harness.Get<V1PersistentVolumeClaim>("consul-snapshots"));

        Harness.Delete<V1Alpha1ConsulCluster>("consul");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1CronJob>("consul-snapshot") is null, "the CronJob to be collected with the cluster");
        Assert.NotNull(Harness.Get<V1PersistentVolumeClaim>("consul-snapshots"));
    }
}
