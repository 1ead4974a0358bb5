using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>Faults during reconciliation: the operator still converges, and never takes a shortcut that loses data.</summary>
public sealed class FaultIntegrationTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Theory]
    [InlineData("create", "secrets", 500)]
    [InlineData("create", "statefulsets", 429)]
    [InlineData("update", "configmaps", 409)]
    [InlineData("update", "consulclusters", 500)]
    public async Task Failing_requests_are_retried_until_the_cluster_is_ready(string verb, string plural, int statusCode)
    {
        harness.Api.Faults.FailNext(verb, plural, 3, statusCode);

        harness.Create(Clusters.Sample());

        await WaitForReadyAsync();
        Assert.Contains(harness.OperatorRequests(), r => r.Verb == verb && r.Plural == plural && r.StatusCode == statusCode);
    }

    [Fact]
    public async Task Dropped_watches_reconnect_and_later_changes_are_still_repaired()
    {
        harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        harness.Api.Store.DropWatches();
        harness.Delete<V1Secret>("consul-server-2-tls");

        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1Secret>("consul-server-2-tls") is not null, "the Secret to be recreated after the watch dropped");
    }

    [Fact]
    public async Task An_expired_resource_version_makes_the_informers_list_again_and_catch_up()
    {
        harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var lists = harness.OperatorRequests().Count(r => r.Verb == "list");

        // The Secret watch stays down (its reconnects fail) while a Secret is deleted and history is compacted:
        // resuming from the old resourceVersion answers 410, and only a new list can show the deletion.
        harness.Api.Faults.FailNext("watch", "secrets", 2, 500);
        harness.Api.Store.DropWatches();
        harness.Delete<V1Secret>("consul-client-1-tls");
        harness.Api.Store.Compact();

        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1Secret>("consul-client-1-tls") is not null, "the Secret deleted during the outage to be recreated");
        Assert.True(harness.OperatorRequests().Count(r => r.Verb == "list") > lists);
    }

    [Fact]
    public async Task Slow_responses_still_converge()
    {
        harness.Api.Faults.Latency = TimeSpan.FromMilliseconds(20);

        harness.Create(Clusters.Sample());

        await WaitForReadyAsync();
    }

    [Fact]
    public async Task An_unreadable_ca_secret_stops_the_operator_with_a_clear_condition_and_is_never_replaced()
    {
        var ns = OperatorHarness.Namespace;
        harness.Create(new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = "consul-ca", NamespaceProperty = ns, Labels = new Dictionary<string, string> { [ConsulOperator.Desired.Labels.ManagedBy] = ConsulOperator.Desired.Labels.OperatorName } },
            Data = new Dictionary<string, byte[]> { ["tls.crt"] = "garbage"u8.ToArray(), ["tls.key"] = "garbage"u8.ToArray() },
        });

        harness.Create(Clusters.Sample());

        V1Alpha1ConsulCluster? cluster = null;
        await OperatorHarness.WaitUntilAsync(() => (cluster = harness.Get<V1Alpha1ConsulCluster>("consul"))?.Status?.Conditions is not null, "a status");
        var ready = Conditions.Find(cluster!.Status!.Conditions, Conditions.Ready)!;
        Assert.Equal("KeyMaterialUnusable", ready.Reason);
        Assert.Contains("never replaces an existing CA", ready.Message, StringComparison.Ordinal);
        Assert.Equal("garbage"u8.ToArray(), harness.Get<V1Secret>("consul-ca")!.Data["tls.crt"]);
        Assert.Single(harness.List("v1", "Secret"));
    }

    private async Task WaitForReadyAsync() =>
        await OperatorHarness.WaitUntilAsync(
            () => harness.Get<V1Alpha1ConsulCluster>("consul") is { } c && Conditions.IsTrue(c.Status?.Conditions, Conditions.Ready),
            "the cluster to become Ready",
            TimeSpan.FromSeconds(45));
}
