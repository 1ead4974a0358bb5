using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace ConsulOperator.Tests.Integration;

/// <summary>Faults during reconciliation: the operator still converges, and never takes a shortcut that loses data.</summary>
public sealed class FaultIntegrationTests() : IntegrationTest()
{

    [Theory]
    [InlineData("create", "secrets", 500)]
    [InlineData("create", "statefulsets", 429)]
    [InlineData("update", "configmaps", 409)]
    [InlineData("update", "consulclusters", 500)]
    public async Task Failing_requests_are_retried_until_the_cluster_is_ready(string verb, string plural, int statusCode)
    {
        Harness.Api.Faults.FailNext(verb, plural, 3, statusCode);

        Harness.Create(Clusters.Sample());

        await WaitForReadyAsync();
        Assert.Contains(Harness.OperatorRequests(), r => r.Verb == verb && r.Plural == plural && r.StatusCode == statusCode);
    }

    [Fact]
    public async Task Dropped_watches_reconnect_and_later_changes_are_still_repaired()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        Harness.Api.Store.DropWatches();
        Harness.Delete<V1Secret>("consul-server-2-tls");

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>("consul-server-2-tls") is not null, "the Secret to be recreated after the watch dropped");
    }

    [Fact]
    public async Task An_expired_resource_version_makes_the_informers_list_again_and_catch_up()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var lists = Harness.OperatorRequests().Count(r => r.Verb == "list");

        // The Secret watch stays down (its reconnects fail) while a Secret is deleted and history is compacted:
        // resuming from the old resourceVersion answers 410, and only a new list can show the deletion.
        Harness.Api.Faults.FailNext("watch", "secrets", 2, 500);
        Harness.Api.Store.DropWatches();
        Harness.Delete<V1Secret>("consul-client-1-tls");
        Harness.Api.Store.Compact();

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>("consul-client-1-tls") is not null, "the Secret deleted during the outage to be recreated");
        Assert.True(Harness.OperatorRequests().Count(r => r.Verb == "list") > lists);
    }

    [Fact]
    public async Task An_existing_ca_the_cache_has_not_seen_yet_is_never_overwritten()
    {
        // The operator must have listed Secrets before the CA appears, or its cache would simply contain it.
        var caches = Harness.Replicas[0].Services.GetRequiredService<ConsulOperator.Controllers.OperatorCaches>();
        await OperatorHarness.WaitUntilAsync(() => caches.HasSynced, "the caches to sync");

        // The Secret watch is down (its reconnects fail for a few seconds) while a CA Secret appears and the cluster is created.
        Harness.Api.Faults.FailNext("watch", "secrets", 3, 500);
        Harness.Api.Store.DropWatches();
        var ca = ConsulOperator.Pki.CertificateAuthority.Create(1825, [], "consul/consul", TimeProvider.System);
        Harness.Create(new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = "consul-ca", NamespaceProperty = OperatorHarness.Namespace, Labels = new Dictionary<string, string> { [ConsulOperator.Desired.Labels.ManagedBy] = ConsulOperator.Desired.Labels.OperatorName } },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = System.Text.Encoding.ASCII.GetBytes(ca.CertificatePem), ["tls.key"] = System.Text.Encoding.ASCII.GetBytes(ca.PrivateKeyPem) },
        });
        Harness.Create(Clusters.Sample());

        await WaitForReadyAsync();
        Assert.Contains(Harness.OperatorRequests(), r => r.Verb == "create" && r.Plural == "secrets" && r.StatusCode == 409);
        // Adopting the CA (our labels and owner reference) is fine; replacing its key is never.
        Assert.Equal(ca.PrivateKeyPem, System.Text.Encoding.ASCII.GetString(Harness.Get<V1Secret>("consul-ca")!.Data["tls.key"]));
        Assert.Equal(ca.CertificatePem, System.Text.Encoding.ASCII.GetString(Harness.Get<V1Secret>("consul-ca")!.Data["tls.crt"]));
        var leaf = Harness.Get<V1Secret>("consul-server-0-tls")!;
        Assert.True(ca.IsIssuerOf(ConsulOperator.Pki.IssuedCertificate.Load(System.Text.Encoding.ASCII.GetString(leaf.Data["tls.crt"]), System.Text.Encoding.ASCII.GetString(leaf.Data["tls.key"]), "test")));
    }

    [Fact]
    public async Task Slow_responses_still_converge()
    {
        Harness.Api.Faults.Latency = TimeSpan.FromMilliseconds(20);

        Harness.Create(Clusters.Sample());

        await WaitForReadyAsync();
    }

    [Fact]
    public async Task An_unreadable_ca_secret_stops_the_operator_with_a_clear_condition_and_is_never_replaced()
    {
        var ns = OperatorHarness.Namespace;
        Harness.Create(new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = "consul-ca", NamespaceProperty = ns, Labels = new Dictionary<string, string> { [ConsulOperator.Desired.Labels.ManagedBy] = ConsulOperator.Desired.Labels.OperatorName } },
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = "garbage"u8.ToArray(), ["tls.key"] = "garbage"u8.ToArray() },
        });

        Harness.Create(Clusters.Sample());

        V1Alpha1ConsulCluster? cluster = null;
        await OperatorHarness.WaitUntilAsync(() => (cluster = Harness.Get<V1Alpha1ConsulCluster>("consul"))?.Status?.Conditions is not null, "a status");
        var ready = Conditions.Find(cluster!.Status!.Conditions, Conditions.Ready)!;
        Assert.Equal("KeyMaterialUnusable", ready.Reason);
        Assert.Contains("never replaces an existing CA", ready.Message, StringComparison.Ordinal);
        Assert.Equal("garbage"u8.ToArray(), Harness.Get<V1Secret>("consul-ca")!.Data["tls.crt"]);
        Assert.Single(Harness.List("v1", "Secret"));
    }
}
