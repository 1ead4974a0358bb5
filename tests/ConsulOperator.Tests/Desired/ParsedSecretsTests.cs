using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public class ParsedSecretsTests
{
    [Fact]
    public void An_unchanged_secret_is_parsed_once_and_a_new_version_again()
    {
        var cluster = Clusters.Default();
        var secrets = Clusters.Build(cluster).OfType<V1Secret>().ToList();
        secrets.ForEach(s => s.Metadata.ResourceVersion = "1");
        var parsed = new ParsedSecrets();

        var first = KeyMaterialSecrets.Read(cluster, secrets, parsed);
        var second = KeyMaterialSecrets.Read(cluster, secrets, parsed);
        Assert.Same(first.Ca, second.Ca);
        Assert.Same(first.Leaves["consul-server-0-tls"], second.Leaves["consul-server-0-tls"]);

        var server0 = secrets.Single(s => s.Metadata.Name == "consul-server-0-tls");
        var replacement = Clusters.KeyMaterialFor(cluster).Leaves["consul-server-0-tls"];
        server0.Data["tls.crt"] = System.Text.Encoding.ASCII.GetBytes(replacement.CertificatePem);
        server0.Data["tls.key"] = System.Text.Encoding.ASCII.GetBytes(replacement.PrivateKeyPem);
        server0.Metadata.ResourceVersion = "2";
        var third = KeyMaterialSecrets.Read(cluster, secrets, parsed);

        Assert.Equal(replacement.CertificatePem, third.Leaves["consul-server-0-tls"].Certificate!.CertificatePem);
        Assert.Same(first.Ca, third.Ca);
    }

    [Fact]
    public void Forgetting_a_cluster_drops_its_entries_and_none_remembers_nothing()
    {
        var cluster = Clusters.Default();
        var secrets = Clusters.Build(cluster).OfType<V1Secret>().ToList();
        secrets.ForEach(s => s.Metadata.ResourceVersion = "1");
        var parsed = new ParsedSecrets();
        KeyMaterialSecrets.Read(cluster, secrets, parsed);
        Assert.Equal(secrets.Count - 1, parsed.Count);

        parsed.Forget("consul", "consul-");

        Assert.Equal(0, parsed.Count);
        KeyMaterialSecrets.Read(cluster, secrets, ParsedSecrets.None);
        Assert.Equal(0, ParsedSecrets.None.Count);
    }

    [Fact]
    public void A_positive_issuer_check_is_remembered_on_the_certificate()
    {
        var cluster = Clusters.Default();
        var material = Clusters.KeyMaterialFor(cluster);
        var leaf = material.Leaves["consul-cli-tls"];

        Assert.True(material.Ca.IsIssuerOf(leaf));
        Assert.Same(material.Ca, leaf.VerifiedIssuer);
        Assert.False(CertificateAuthority.Create(1, [], "x/y", TimeProvider.System).IsIssuerOf(leaf));
    }
}
