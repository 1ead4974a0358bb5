using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired.Dns;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

public sealed class ConsulClusterIntegrationTests() : IntegrationTest()
{

    [Fact]
    public async Task The_sample_cluster_gets_every_object_and_becomes_ready()
    {
        Harness.Create(Clusters.Sample());

        var cluster = await WaitForReadyAsync();

        Assert.Equal(cluster.Metadata.Generation, cluster.Status!.ObservedGeneration);
        Assert.Equal(3, cluster.Status.BootstrapExpect);
        Assert.Equal((3, 2), (cluster.Status.ReadyServers, cluster.Status.ReadyClients));
        Assert.True(Conditions.IsTrue(cluster.Status.Conditions, ClusterStatus.TlsReady));
        Assert.True(Conditions.IsTrue(cluster.Status.Conditions, ClusterStatus.DnsReady));
        Assert.False(Conditions.IsTrue(cluster.Status.Conditions, Conditions.Degraded));
        Assert.Contains(ConsulClusterReconciler.DnsFinalizer, cluster.Metadata.Finalizers);

        // Built objects, and the ACL tokens' Secrets, which hold what Consul accepted and so are state, not desired objects.
        var expected = Clusters.Build(Clusters.Sample()).Select(o => $"{o.Kind}/{o.Metadata.Name}")
            .Concat(["Secret/consul-acl-bootstrap", "Secret/consul-acl-metrics", "Secret/consul-acl-operator", "Secret/consul-client-0-acl-token", "Secret/consul-client-1-acl-token", "Secret/consul-server-0-acl-token", "Secret/consul-server-1-acl-token", "Secret/consul-server-2-acl-token"]).Order(StringComparer.Ordinal);
        var actual = new[] { ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "StatefulSet"), ("policy/v1", "PodDisruptionBudget") }
            .SelectMany(k => Harness.List(k.Item1, k.Item2).Select(o => $"{k.Item2}/{o["metadata"]!["name"]}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        Assert.All(Harness.List("v1", "Secret"), s => Assert.Equal(cluster.Metadata.Uid, (string?)s["metadata"]!["ownerReferences"]![0]!["uid"]));

        var dnsIp = Harness.Get<V1Service>("consul-dns")!.Spec.ClusterIP;
        Assert.Equal(dnsIp, cluster.Status.DnsServiceIP);
        var corefile = Harness.Get<V1ConfigMap>("coredns", "kube-system")!.Data["Corefile"];
        Assert.Equal(OperatorHarness.KubeadmCorefile + new ForwardingBlock("consul/consul", "service.consul", dnsIp, 53).MarkedServerBlock, corefile);

        var events = Harness.List("v1", "Event").Select(e => (string?)e["reason"]).ToList();
        Assert.Contains("Created", events);
        Assert.Contains("CertificateMissing", events);
    }

    [Fact]
    public async Task A_converged_cluster_costs_no_writes_and_no_reads_on_another_reconcile()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        await Harness.WaitForQuietAsync(TimeSpan.FromSeconds(1));
        var before = Harness.OperatorRequests().Count(r => r.Verb is not "watch" && r.Plural != "leases");
        var reconciles = Harness.Metrics(0).Reconciles;

        // A label change does not bump the generation but does wake the reconciler.
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Metadata.Labels = new Dictionary<string, string> { ["touched"] = "yes" });
        await OperatorHarness.WaitUntilAsync(() => Harness.Metrics(0).Reconciles > reconciles, "a reconcile of the touched cluster");
        await Harness.WaitForQuietAsync(TimeSpan.FromSeconds(1));

        var after = Harness.OperatorRequests().Where(r => r.Verb is not "watch" && r.Plural != "leases").Skip(before).ToList();
        Assert.Empty(after);
    }

    [Fact]
    public async Task A_deleted_certificate_secret_is_issued_again_and_the_ca_stays()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var ca = Harness.Get<V1Secret>("consul-ca")!.Data["tls.key"];
        var gossip = Harness.Get<V1Secret>("consul-gossip")!.Data["key"];

        Harness.Delete<V1Secret>("consul-server-1-tls");
        Harness.Delete<V1Secret>("consul-client-0-tls");

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>("consul-server-1-tls") is not null && Harness.Get<V1Secret>("consul-client-0-tls") is not null, "the certificates to come back");
        Assert.Equal(ca, Harness.Get<V1Secret>("consul-ca")!.Data["tls.key"]);
        Assert.Equal(gossip, Harness.Get<V1Secret>("consul-gossip")!.Data["key"]);
        var reissued = ConsulOperator.Pki.IssuedCertificate.Load(
            System.Text.Encoding.ASCII.GetString(Harness.Get<V1Secret>("consul-server-1-tls")!.Data["tls.crt"]),
            System.Text.Encoding.ASCII.GetString(Harness.Get<V1Secret>("consul-server-1-tls")!.Data["tls.key"]), "test");
        Assert.True(ConsulOperator.Pki.CertificateAuthority.Load(
            System.Text.Encoding.ASCII.GetString(Harness.Get<V1Secret>("consul-ca")!.Data["tls.crt"]), System.Text.Encoding.ASCII.GetString(ca), "test").IsIssuerOf(reissued));
    }

    [Fact]
    public async Task A_human_edit_of_the_statefulset_is_put_back_and_additions_of_others_are_left_alone()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        Harness.Edit<V1StatefulSet>("consul-server", set =>
        {
            set.Spec.Template.Spec.Containers[0].Image = "hashicorp/consul:0.0.1-hacked";
            set.Metadata.Annotations["team.example.com/owner"] = "platform";
        });

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1StatefulSet>("consul-server")!.Spec.Template.Spec.Containers[0].Image == "hashicorp/consul:1.16.1", "the image to be put back");
        Assert.Equal("platform", Harness.Get<V1StatefulSet>("consul-server")!.Metadata.Annotations["team.example.com/owner"]);
    }

    [Fact]
    public async Task Scaling_servers_keeps_bootstrap_expect_and_the_pod_template_and_scales_down_one_at_a_time()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var template = k8s.KubernetesJson.Serialize(Harness.Get<V1StatefulSet>("consul-server")!.Spec.Template);

        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Servers.Replicas = 5);
        var cluster = await WaitForReadyAsync(generation: 2);

        Assert.Equal(3, cluster.Status!.BootstrapExpect);
        Assert.Equal(5, cluster.Status.ReadyServers);
        Assert.Equal(template, k8s.KubernetesJson.Serialize(Harness.Get<V1StatefulSet>("consul-server")!.Spec.Template));
        Assert.NotNull(Harness.Get<V1Secret>("consul-server-4-tls"));

        // Down to 3: the StatefulSet never drops two servers in one step.
        var steps = Harness.Record(
            change => change.Resource.Kind == "StatefulSet" && (string?)change.Item["metadata"]!["name"] == "consul-server"
                ? ConsulOperator.Testing.KubeApi.ObjectStore.Number(change.Item["spec"]!["replicas"]).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : null,
            collapseRepeats: true,
            from: "5");
        Harness.Edit<V1Alpha1ConsulCluster>("consul", latest => latest.Spec.Servers.Replicas = 3);
        await WaitForReadyAsync(generation: 3);

        Assert.Equal(["4", "3"], steps.Snapshot());
    }

    [Fact]
    public async Task An_invalid_spec_gets_a_clear_condition_and_an_event_and_nothing_is_created()
    {
        // An API server without CEL (or with the CRD applied without its rules) lets an even count through; the operator still refuses it.
        var cluster = Clusters.Sample();
        cluster.Spec.Servers.Replicas = 4;
        Harness.Create(cluster);

        V1Alpha1ConsulCluster? seen = null;
        await OperatorHarness.WaitUntilAsync(() => (seen = Harness.Get<V1Alpha1ConsulCluster>("consul"))?.Status?.Conditions is not null, "a status");

        var ready = Conditions.Find(seen!.Status!.Conditions, Conditions.Ready)!;
        Assert.Equal(("False", "InvalidSpec"), (ready.Status, ready.Reason));
        Assert.Contains("spec.servers.replicas: 4 is even", ready.Message, StringComparison.Ordinal);
        Assert.True(Conditions.IsTrue(seen.Status.Conditions, Conditions.Degraded));
        Assert.Equal(seen.Metadata.Generation, seen.Status.ObservedGeneration);
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "InvalidSpec" && (string?)e["type"] == "Warning");
        Assert.Empty(Harness.List("v1", "Secret"));
        Assert.Empty(Harness.List("apps/v1", "StatefulSet"));
        Assert.Null(seen.Metadata.Finalizers);
    }

    [Fact]
    public async Task Deleting_the_cluster_removes_exactly_our_dns_block_and_everything_it_owned()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        Harness.Delete<V1Alpha1ConsulCluster>("consul");

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul") is null, "the cluster to go");
        Assert.Equal(OperatorHarness.KubeadmCorefile, Harness.Get<V1ConfigMap>("coredns", "kube-system")!.Data["Corefile"]);
        Assert.Empty(Harness.List("v1", "Secret"));
        Assert.Empty(Harness.List("apps/v1", "StatefulSet"));
    }

    [Fact]
    public async Task A_corefile_rewritten_by_someone_else_gets_our_block_back()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        var patched = Harness.Get<V1ConfigMap>("coredns", "kube-system")!.Data["Corefile"];
        Harness.Edit<V1ConfigMap>("coredns", coredns => coredns.Data["Corefile"] = OperatorHarness.KubeadmCorefile, "kube-system");

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1ConfigMap>("coredns", "kube-system")!.Data["Corefile"] == patched, "the block to come back");
    }

    [Fact]
    public async Task Metrics_are_served_in_prometheus_text_format()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        using var http = new HttpClient();
        var uri = OperatorHarness.MetricsUri(Harness.Replicas[0]);

        var text = await http.GetStringAsync(new Uri(uri, "/metrics"));

        foreach (var metric in new[]
                 {
                     "consul_operator_reconciles_total{", "consul_operator_reconcile_duration_seconds_bucket{", "consul_operator_workqueue_depth{",
                     "consul_operator_api_requests_total{", "consul_operator_certificate_expiry_timestamp_seconds{", "consul_operator_clusters{",
                 })
        {
            Assert.Contains(metric, text, StringComparison.Ordinal);
        }

        Assert.Matches("consul_operator_clusters\\{[^}]*ready=\"true\"[^}]*\\} 1\\n", text);
        Assert.Equal("ok", await http.GetStringAsync(new Uri(uri, "/healthz")));
        Assert.Equal("ok", await http.GetStringAsync(new Uri(uri, "/readyz")));
    }
}
