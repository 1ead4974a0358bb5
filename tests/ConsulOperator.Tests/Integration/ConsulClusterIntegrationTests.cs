using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired.Dns;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

public sealed class ConsulClusterIntegrationTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task The_sample_cluster_gets_every_object_and_becomes_ready()
    {
        harness.Create(Clusters.Sample());

        var cluster = await WaitForReadyAsync();

        Assert.Equal(cluster.Metadata.Generation, cluster.Status!.ObservedGeneration);
        Assert.Equal(3, cluster.Status.BootstrapExpect);
        Assert.Equal((3, 2), (cluster.Status.ReadyServers, cluster.Status.ReadyClients));
        Assert.True(Conditions.IsTrue(cluster.Status.Conditions, ClusterStatus.TlsReady));
        Assert.True(Conditions.IsTrue(cluster.Status.Conditions, ClusterStatus.DnsReady));
        Assert.False(Conditions.IsTrue(cluster.Status.Conditions, Conditions.Degraded));
        Assert.Contains(ConsulClusterReconciler.DnsFinalizer, cluster.Metadata.Finalizers);

        var expected = Clusters.Build(Clusters.Sample()).Select(o => $"{o.Kind}/{o.Metadata.Name}").Order(StringComparer.Ordinal);
        var actual = new[] { ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "StatefulSet"), ("policy/v1", "PodDisruptionBudget") }
            .SelectMany(k => harness.List(k.Item1, k.Item2).Select(o => $"{k.Item2}/{o["metadata"]!["name"]}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        Assert.All(harness.List("v1", "Secret"), s => Assert.Equal(cluster.Metadata.Uid, (string?)s["metadata"]!["ownerReferences"]![0]!["uid"]));

        var dnsIp = harness.Get<V1Service>("consul-dns")!.Spec.ClusterIP;
        Assert.Equal(dnsIp, cluster.Status.DnsServiceIP);
        var corefile = harness.Get<V1ConfigMap>("coredns", "kube-system")!.Data["Corefile"];
        Assert.Equal(OperatorHarness.KubeadmCorefile + new ForwardingBlock("consul/consul", "service.consul", dnsIp, 53).MarkedServerBlock, corefile);

        var events = harness.List("v1", "Event").Select(e => (string?)e["reason"]).ToList();
        Assert.Contains("Created", events);
        Assert.Contains("CertificateMissing", events);
    }

    private async Task<V1Alpha1ConsulCluster> WaitForReadyAsync(string name = "consul")
    {
        V1Alpha1ConsulCluster? cluster = null;
        await OperatorHarness.WaitUntilAsync(
            () => (cluster = harness.Get<V1Alpha1ConsulCluster>(name)) is { } c && Conditions.IsTrue(c.Status?.Conditions, Conditions.Ready),
            $"ConsulCluster {name} to become Ready (last status: {(cluster?.Status is null ? "none" : k8s.KubernetesJson.Serialize(cluster.Status))})");
        return cluster!;
    }
}
