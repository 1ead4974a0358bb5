using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>A hand-built datacenter's own CA, gossip key and management token, run with in place and never written.</summary>
public sealed class AdoptionIntegrationTests() : IntegrationTest()
{
    [Fact]
    public async Task An_adopted_ca_gossip_key_and_token_run_the_cluster_and_the_old_agents_certificates_keep_working()
    {
        using var handBuilt = new HandBuiltDatacenter();
        var secrets = handBuilt.Secrets();

        // The CA Secret is created without the label first: the operator cannot see it, and says how to fix that.
        var unlabelled = handBuilt.Secrets(labelled: false)[0];
        Harness.Create(unlabelled);
        Harness.Create(secrets[1]);
        Harness.Create(secrets[2]);
        var cluster = Clusters.Sample();
        HandBuiltDatacenter.Adopt(cluster.Spec);
        Harness.Create(cluster);
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")?.Status?.Conditions, Conditions.Ready) is { Reason: "InvalidSpec" } ready
                && ready.Message.Contains($"kubectl label secret {HandBuiltDatacenter.CaSecret} {AdoptedSecrets.Label}=true", StringComparison.Ordinal),
            "Ready=False (InvalidSpec) naming the unlabelled CA Secret");
        Assert.Null(Harness.Get<V1StatefulSet>("consul-server"));
        Assert.Null(Harness.Get<V1Secret>("consul-ca"));
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "InvalidSpec" && ((string?)e["message"])!.Contains("spec.tls.caSecretRef", StringComparison.Ordinal));

        // Labelled, the Secret reaches the operator through its watch; the token is not bootstrapped, only checked.
        Harness.Edit<V1Secret>(HandBuiltDatacenter.CaSecret, s => s.Metadata.Labels = new Dictionary<string, string> { [AdoptedSecrets.Label] = "true" });
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")?.Status?.Conditions, ClusterStatus.AclReady) is { Reason: "AdoptedTokenNotAccepted" },
            "ACLReady=False (AdoptedTokenNotAccepted) while Consul knows no such token");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.Equal(0, dc.AclBootstrapCalls);

        // The team bootstraps with its token, as a hand-built datacenter's ACLs were: from then on the operator uses it.
        Assert.NotNull(dc.Bootstrap(handBuilt.ManagementToken));
        await WaitForReadyAsync();
        Harness.Consul.CurrentLeader("consul", "consul");
        Assert.Equal(1, dc.AclBootstrapCalls);
        Assert.Equal([handBuilt.GossipKey], dc.GossipKeys);

        // Nothing of the operator's stands in for the adopted material, and the adopted Secrets are never written.
        Assert.Null(Harness.Get<V1Secret>("consul-ca"));
        Assert.Null(Harness.Get<V1Secret>("consul-gossip"));
        Assert.Null(Harness.Get<V1Secret>("consul-acl-bootstrap"));
        string[] adopted = [HandBuiltDatacenter.CaSecret, HandBuiltDatacenter.GossipSecret, HandBuiltDatacenter.TokenSecret];
        Assert.DoesNotContain(Harness.Writes(), w => w.Plural == "secrets" && adopted.Contains(w.Name));
        Assert.Equal(handBuilt.CaCertificate, Harness.Get<V1ConfigMap>("consul-ca-cert")!.Data[KeyMaterialSecrets.CaCertificateKey]);

        // An existing server of the hand-built datacenter, with its openssl-made certificate, talks to the new servers'
        // HTTPS API, which verifies client certificates against the CA the pods trust, and trusts their certificates.
        foreach (var server in new[] { "consul-server-0", "consul-server-1", "consul-server-2" })
        {
            using var oldAgent = new Consumer(Harness.Consul, new Uri($"https://{server}.consul-server.consul.svc:8501"), handBuilt.ManagementToken, handBuilt.CaCertificate,
                (handBuilt.ServerCertificate, handBuilt.ServerKey), "server.dc1.consul");
            var (status, body) = await oldAgent.ScrapeAsync("/v1/status/leader");
            Assert.True(status == 200, $"{server}: {status} {body}");
        }

        Assert.All(Harness.Logs.Lines, line => Assert.DoesNotContain(handBuilt.ManagementToken, line, StringComparison.Ordinal));
        Assert.All(Harness.List("v1", "Event"), e => Assert.DoesNotContain(handBuilt.GossipKey, e.ToJsonString(), StringComparison.Ordinal));
    }
}
