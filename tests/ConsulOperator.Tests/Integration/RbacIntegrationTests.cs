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
        var sample = Clusters.Sample();
        sample.Spec.Ui.Ingress = new UiIngressSpec { ClassName = "nginx", Host = "consul.example.com" };
        Harness.Create(sample);
        var input = ConsulOperator.Cli.InputDocuments.Read([Repository.PathOf("config/samples/vault-storage.yaml")], TextReader.Null);
        Harness.Create(input.AclPolicies[0]);
        Harness.Create(input.AclTokens[0]);
        await WaitForReadyAsync();
        await OperatorHarness.WaitUntilAsync(() => Conditions.IsTrue(Harness.Get<V1Alpha1ConsulACLToken>("vault")?.Status?.Conditions, Conditions.Ready), "the vault token to be ready");
        Assert.Equal("consul.example.com", Harness.Get<k8s.Models.V1Ingress>("consul-ui")!.Spec.Rules[0].Host);

        // A client scaled away (its token Secret is deleted), then the ACL objects and the cluster deleted.
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Clients.Replicas = 1);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<k8s.Models.V1Secret>("consul-client-1-acl-token") is null, "the removed client's token Secret to go");
        Harness.Delete<V1Alpha1ConsulACLToken>("vault");
        Harness.Delete<V1Alpha1ConsulACLPolicy>("vault-storage");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulACLToken>("vault") is null && Harness.Get<V1Alpha1ConsulACLPolicy>("vault-storage") is null, "the ACL objects to be released");
        Harness.Delete<V1Alpha1ConsulCluster>("consul");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul") is null, "the finalizer to be released");

        var clusterRules = Rbac.ClusterRole()["rules"]!.AsArray();
        var leaseRules = Rbac.LeaderElectionRole()["rules"]!.AsArray();
        var used = Harness.OperatorRequests().Select(r => (r.Verb, r.Plural)).Distinct().ToList();

        Assert.Contains(("update", "consulclusters"), used);
        Assert.Contains(("update", "consulacltokens"), used);
        Assert.Contains(("delete", "secrets"), used);
        Assert.Contains(("create", "ingresses"), used);
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
