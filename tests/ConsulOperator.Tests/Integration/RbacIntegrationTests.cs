using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Manifests;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

public sealed class RbacIntegrationTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Every_request_the_operator_sent_is_allowed_by_its_generated_rbac()
    {
        harness.Create(Clusters.Sample());
        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1Alpha1ConsulCluster>("consul") is { } c && Conditions.IsTrue(c.Status?.Conditions, Conditions.Ready), "Ready");
        harness.Delete<V1Alpha1ConsulCluster>("consul");
        await OperatorHarness.WaitUntilAsync(() => harness.Get<V1Alpha1ConsulCluster>("consul") is null, "the finalizer to be released");

        var clusterRules = Rbac.ClusterRole()["rules"]!.AsArray();
        var leaseRules = Rbac.LeaderElectionRole()["rules"]!.AsArray();
        var used = harness.OperatorRequests().Select(r => (r.Verb, r.Plural)).Distinct().ToList();

        Assert.Contains(("update", "consulclusters"), used);
        foreach (var (verb, plural) in used)
        {
            var rules = plural == "leases" ? leaseRules : clusterRules;
            Assert.True(Allows(rules, verb, plural), $"RBAC does not allow {verb} on {plural}");
        }
    }

    // Status writes are PUTs on the status subresource, which the request log records under the resource itself.
    private static bool Allows(JsonArray rules, string verb, string plural) => rules.Any(rule =>
        rule!["verbs"]!.AsArray().Any(v => (string?)v == verb)
        && rule["resources"]!.AsArray().Any(r => (string?)r == plural || (verb == "update" && (string?)r == $"{plural}/status")));
}
