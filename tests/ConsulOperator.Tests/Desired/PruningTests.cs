using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public sealed class PruningTests
{
    private static V1CronJob Live(string name, string? ownerUid, string ownerKind = "ConsulCluster") => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = "consul",
            OwnerReferences = ownerUid is null ? null : [new V1OwnerReference { Kind = ownerKind, Name = "consul", Uid = ownerUid, Controller = true, ApiVersion = "consul.operator.dev/v1alpha1" }],
        },
    };

    [Fact]
    public void Only_what_this_cluster_controls_and_no_longer_wants_is_unwanted()
    {
        var cluster = Clusters.Default(change: s => s.Snapshots.Enabled = true);
        var desired = Clusters.Build(cluster);
        var uid = cluster.Metadata.Uid;

        Assert.False(Pruning.IsUnwanted(Live("consul-snapshot", uid), "CronJob", cluster, desired));
        Assert.True(Pruning.IsUnwanted(Live("consul-snapshot", uid), "CronJob", cluster, Clusters.Build(Clusters.Default())));
        Assert.False(Pruning.IsUnwanted(Live("consul-snapshot", "another-cluster-uid"), "CronJob", cluster, []));
        Assert.False(Pruning.IsUnwanted(Live("consul-snapshot", null), "CronJob", cluster, []));
        Assert.False(Pruning.IsUnwanted(Live("consul-snapshot", uid, ownerKind: "Deployment"), "CronJob", cluster, []));
    }
}
