using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Manifests;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

public sealed class RbacIntegrationTests() : IntegrationTest()
{

    [Fact]
    public async Task Every_request_the_operator_sent_is_allowed_by_its_generated_rbac()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        Harness.Delete<V1Alpha1ConsulCluster>("consul");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul") is null, "the finalizer to be released");

        var clusterRules = Rbac.ClusterRole()["rules"]!.AsArray();
        var leaseRules = Rbac.LeaderElectionRole()["rules"]!.AsArray();
        var used = Harness.OperatorRequests().Select(r => (r.Verb, r.Plural)).Distinct().ToList();

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
