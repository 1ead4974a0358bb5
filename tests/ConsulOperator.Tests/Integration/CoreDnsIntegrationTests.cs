using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

public sealed class CoreDnsIntegrationTests : IAsyncDisposable
{
    private OperatorHarness? harness;

    [Fact]
    public async Task A_humans_consul_block_is_left_alone_and_reported()
    {
        var human = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Desired", "Dns", "Corefiles", "human-consul-block.Corefile"));
        harness = await OperatorHarness.StartAsync(corefile: human);

        harness.Create(Clusters.Sample());

        var cluster = await WaitForConditionAsync(ClusterStatus.DnsReady, "DnsConflict");
        Assert.Contains("already serves zone service.consul", Conditions.Find(cluster.Status!.Conditions, ClusterStatus.DnsReady)!.Message, StringComparison.Ordinal);
        Assert.False(Conditions.IsTrue(cluster.Status.Conditions, Conditions.Ready));
        Assert.Equal(human, harness.Get<V1ConfigMap>("coredns", "kube-system")!.Data["Corefile"]);
        Assert.Contains(harness.List("v1", "Event"), e => (string?)e["reason"] == "DnsConflict");
    }

    [Fact]
    public async Task Without_a_coredns_configmap_dns_is_reported_not_ready_and_the_rest_still_runs()
    {
        harness = await OperatorHarness.StartAsync();
        harness.Delete<V1ConfigMap>("coredns", "kube-system");

        harness.Create(Clusters.Sample());

        // Once the pods are ready, DNS is what keeps the cluster from being Ready.
        var cluster = await WaitForConditionAsync(Conditions.Ready, "DnsConfigMapNotFound");
        Assert.NotNull(harness.Get<V1StatefulSet>("consul-server"));
        Assert.Equal("DnsConfigMapNotFound", Conditions.Find(cluster.Status!.Conditions, ClusterStatus.DnsReady)!.Reason);
        Assert.Equal((3, 2), (cluster.Status.ReadyServers, cluster.Status.ReadyClients));
    }

    [Fact]
    public async Task On_aks_our_block_goes_into_coredns_custom_and_comes_out_again()
    {
        harness = await OperatorHarness.StartAsync();
        var cluster = Clusters.Sample();
        cluster.Spec.Dns.CoreDns.Mode = CoreDnsMode.CustomServerBlock;

        harness.Create(cluster);

        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1ConfigMap>("coredns-custom", "kube-system")?.Data?.ContainsKey("consul-operator-consul-consul.server") == true, "the coredns-custom key");
        Assert.StartsWith("service.consul:53 {", harness.Get<V1ConfigMap>("coredns-custom", "kube-system")!.Data["consul-operator-consul-consul.server"], StringComparison.Ordinal);
        Assert.Equal(OperatorHarness.KubeadmCorefile, harness.Get<V1ConfigMap>("coredns", "kube-system")!.Data["Corefile"]);

        harness.Delete<V1Alpha1ConsulCluster>("consul");
        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1Alpha1ConsulCluster>("consul") is null, "the cluster to go");
        Assert.Empty(harness.Get<V1ConfigMap>("coredns-custom", "kube-system")!.Data ?? new Dictionary<string, string>());
    }

    [Fact]
    public async Task On_kube_dns_a_stub_domain_is_added_and_removed()
    {
        harness = await OperatorHarness.StartAsync();
        harness.Create(new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = "kube-dns", NamespaceProperty = "kube-system" }, Data = new Dictionary<string, string> { ["stubDomains"] = "{\"acme.local\":[\"1.2.3.4\"]}" } });
        var cluster = Clusters.Sample();
        cluster.Spec.Dns.CoreDns.Mode = CoreDnsMode.KubeDnsStubDomains;

        harness.Create(cluster);

        var ready = await WaitForConditionAsync(ClusterStatus.DnsReady, "Forwarding");
        Assert.Equal($"{{\"acme.local\":[\"1.2.3.4\"],\"service.consul\":[\"{ready.Status!.DnsServiceIP}\"]}}", harness.Get<V1ConfigMap>("kube-dns", "kube-system")!.Data["stubDomains"]);

        harness.Delete<V1Alpha1ConsulCluster>("consul");
        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1Alpha1ConsulCluster>("consul") is null, "the cluster to go");
        Assert.Equal("{\"acme.local\":[\"1.2.3.4\"]}", harness.Get<V1ConfigMap>("kube-dns", "kube-system")!.Data["stubDomains"]);
    }

    private async Task<V1Alpha1ConsulCluster> WaitForConditionAsync(string type, string reason)
    {
        V1Alpha1ConsulCluster? cluster = null;
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find((cluster = harness!.Get<V1Alpha1ConsulCluster>("consul"))?.Status?.Conditions, type)?.Reason == reason,
            $"{type} with reason {reason}");
        return cluster!;
    }

    public async ValueTask DisposeAsync()
    {
        if (harness is not null)
        {
            await harness.DisposeAsync();
        }
    }
}
