using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Runtime;

public class ClusterStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly DnsOutcome DnsOk = new(true, "Forwarding", "forwards");

    [Fact]
    public void Ready_needs_every_pod_on_the_latest_spec_and_dns()
    {
        var cluster = Clusters.Default();
        var material = Clusters.KeyMaterialFor(cluster);

        var status = ClusterStatus.Observe(cluster, material, 3, Set(3, 3), Set(2, 2), "10.96.0.10", DnsOk, Now);

        Assert.True(Conditions.IsTrue(status.Conditions, Conditions.Ready));
        Assert.False(Conditions.IsTrue(status.Conditions, Conditions.Progressing));
        Assert.Equal((3, 2, 3), (status.ReadyServers, status.ReadyClients, status.BootstrapExpect));
        Assert.Equal(material.Ca.NotAfter.UtcDateTime, status.CaNotAfter);
    }

    [Fact]
    public void A_statefulset_that_has_not_seen_the_new_spec_is_not_ready_even_with_all_pods_ready()
    {
        var cluster = Clusters.Default();
        var stale = Set(3, 3);
        stale.Metadata.Generation = 2;

        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, stale, Set(2, 2), "10.96.0.10", DnsOk, Now);

        Assert.Equal("PodsNotReady", Conditions.Find(status.Conditions, Conditions.Ready)!.Reason);
        Assert.True(Conditions.IsTrue(status.Conditions, Conditions.Progressing));
    }

    [Fact]
    public void Dns_problems_make_the_cluster_not_ready_with_the_dns_reason()
    {
        var cluster = Clusters.Default();

        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 3), Set(2, 2), "10.96.0.10", new DnsOutcome(false, "DnsConflict", "taken"), Now);

        Assert.Equal(("False", "DnsConflict"), (Conditions.Find(status.Conditions, Conditions.Ready)!.Status, Conditions.Find(status.Conditions, Conditions.Ready)!.Reason));
        Assert.Equal("False", Conditions.Find(status.Conditions, ClusterStatus.DnsReady)!.Status);
    }

    [Fact]
    public void A_refused_spec_keeps_what_was_observed_before_and_says_why()
    {
        var cluster = Clusters.Default();
        cluster.Metadata.Generation = 4;
        cluster.Status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 3), Set(2, 2), "10.96.0.10", DnsOk, Now);

        var refused = ClusterStatus.Refused(cluster, "InvalidSpec", "spec.servers.replicas: 4 is even", Now.AddMinutes(1));

        Assert.Equal(3, refused.BootstrapExpect);
        Assert.Equal(4, refused.ObservedGeneration);
        Assert.True(Conditions.IsTrue(refused.Conditions, Conditions.Degraded));
        Assert.Equal("InvalidSpec", Conditions.Find(refused.Conditions, Conditions.Ready)!.Reason);
    }

    private static V1StatefulSet Set(int replicas, int ready) => new()
    {
        Metadata = new V1ObjectMeta { Generation = 1 },
        Spec = new V1StatefulSetSpec { Replicas = replicas },
        Status = new V1StatefulSetStatus { ObservedGeneration = 1, ReadyReplicas = ready, UpdatedReplicas = replicas, Replicas = replicas },
    };
}
