using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Tests.Support;
using k8s.Models;
using AclPolicy = ConsulOperator.Consul.AclPolicy;

namespace ConsulOperator.Tests.Desired;

public sealed class AclObjectsTests
{
    private static readonly V1Alpha1ConsulCluster Cluster = Clusters.Default();

    [Fact]
    public void A_policy_is_marked_with_its_object_so_a_policy_someone_else_made_under_that_name_is_told_apart()
    {
        var policy = Policy("vault-storage", description: "Vault");
        var wanted = AclObjects.Policy(policy);

        Assert.Equal(("vault-storage", "Vault [consul-operator consul/vault-storage]"), (wanted.Name, wanted.Description));
        Assert.True(AclObjects.IsOurs(new AclPolicy("id", "vault-storage", "", wanted.Description), policy));
        Assert.False(AclObjects.IsOurs(new AclPolicy("id", "vault-storage", "", "made by hand"), policy));
        Assert.False(AclObjects.IsOurs(new AclPolicy("id", "vault-storage", "", "Vault [consul-operator other/vault-storage]"), policy));
    }

    [Fact]
    public void A_policy_that_differs_in_rules_description_name_or_datacenters_is_not_met()
    {
        var wanted = AclObjects.Policy(Policy("p", datacenters: ["dc1"]));
        var held = new AclPolicy("id", wanted.Name, wanted.Rules, wanted.Description, ["dc1"]);

        Assert.True(wanted.IsMetBy(held));
        Assert.False(wanted.IsMetBy(held with { Rules = "key_prefix \"\" { policy = \"write\" }" }));
        Assert.False(wanted.IsMetBy(held with { Description = "changed" }));
        Assert.False(wanted.IsMetBy(held with { Name = "other" }));
        Assert.False(wanted.IsMetBy(held with { Datacenters = null }));
    }

    [Fact]
    public void A_token_links_its_policies_and_identities_with_the_chosen_ids_and_the_node_datacenter_defaults_to_the_clusters()
    {
        var token = Token(t =>
        {
            t.ServiceIdentities = [new TokenServiceIdentity { ServiceName = "web", Datacenters = ["dc1"] }];
            t.NodeIdentities = [new TokenNodeIdentity { NodeName = "edge-1" }];
        });
        var wanted = AclObjects.Token(token, [new AclLink("policy-id", "vault-storage"), new AclLink(null, "global-management")], "dc1", "secret", "accessor");
        var json = wanted.ToJson();

        Assert.Equal(("accessor", "secret"), ((string?)json["AccessorID"], (string?)json["SecretID"]));
        Assert.Equal(["{\"ID\":\"policy-id\"}", "{\"Name\":\"global-management\"}"], json["Policies"]!.AsArray().Select(p => p!.ToJsonString()));
        Assert.Equal("{\"ServiceName\":\"web\",\"Datacenters\":[\"dc1\"]}", json["ServiceIdentities"]![0]!.ToJsonString());
        Assert.Equal("{\"NodeName\":\"edge-1\",\"Datacenter\":\"dc1\"}", json["NodeIdentities"]![0]!.ToJsonString());

        // What Consul answers for it (links with both ID and name) meets it; a link or identity less does not.
        var held = new AclToken("accessor", "secret", wanted.Description, [new("policy-id", "vault-storage"), new("other-id", "global-management")],
            [new ServiceIdentity("web", ["dc1"])], [new NodeIdentity("edge-1", "dc1")]);
        Assert.True(wanted.IsMetBy(held));
        Assert.False(wanted.IsMetBy(held with { Policies = [new("policy-id", "vault-storage")] }));
        Assert.False(wanted.IsMetBy(held with { ServiceIdentities = [] }));
        Assert.False(wanted.IsMetBy(held with { NodeIdentities = [new NodeIdentity("edge-1", "dc2")] }));
    }

    [Fact]
    public void The_secret_holds_the_token_under_every_key_a_consumer_reads_and_is_owned_by_the_token()
    {
        var ca = CertificateAuthority.Create(30, [], "test", TimeProvider.System);
        var token = Token();
        var certificate = new LeafState(ca.Issue(AclObjects.ClientCertificate(token, Cluster.Spec), 30, TimeProvider.System), null);
        var secret = AclObjects.Secret(token, Cluster, ca, new AclObjects.TokenSecret("s3cr3t", "acc", AclObjects.Pending, "r1", "old", DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), certificate));

        Assert.Equal("vault-consul", secret.Metadata.Name);
        Assert.Equal(("s3cr3t", "s3cr3t", "acc", "pending"), (Text(secret, "token"), Text(secret, "CONSUL_HTTP_TOKEN"), Text(secret, "accessorID"), Text(secret, "state")));
        Assert.Equal("https://consul-server.consul.svc:8501", Text(secret, "CONSUL_HTTP_ADDR"));
        Assert.Equal("server.dc1.consul", Text(secret, "CONSUL_TLS_SERVER_NAME"));
        Assert.Equal(ca.CertificatePem, Text(secret, "ca.crt"));
        Assert.True(AclObjects.IsOwnedBy(secret, token));
        Assert.Equal("consul-operator", secret.Metadata.Labels[Labels.ManagedBy]);

        // Read back, it says the same, the rotation bookkeeping included.
        var read = AclObjects.Read(secret, ParsedSecrets.None)!;
        Assert.Equal(("s3cr3t", "acc", "pending", "r1", "old"), (read.SecretId, read.AccessorId, read.State, read.Rotation, read.PreviousAccessorId));
        Assert.Equal(DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), read.RevokePreviousAt);
        Assert.Equal(certificate.Certificate!.CertificatePem, read.Certificate!.Certificate!.CertificatePem);
    }

    [Fact]
    public void The_client_certificate_authenticates_clients_only_under_a_name_of_its_own_as_openssl_sees_it()
    {
        var ca = CertificateAuthority.Create(30, CertificateAuthority.PermittedDomainsFor("consul", "consul", "cluster.local"), "test", TimeProvider.System);
        var leaf = ca.Issue(AclObjects.ClientCertificate(Token(), Cluster.Spec), 30, TimeProvider.System);
        using var openssl = new OpenSsl();
        var caFile = openssl.Write("ca.crt", ca.CertificatePem);
        var leafFile = openssl.Write("tls.crt", leaf.CertificatePem);

        var (code, purposes) = openssl.Run("x509", "-in", leafFile, "-noout", "-purpose", "-subject");
        Assert.Equal(0, code);
        Assert.Contains("SSL client : Yes", purposes, StringComparison.Ordinal);
        Assert.Contains("SSL server : No", purposes, StringComparison.Ordinal);
        Assert.Contains("CN=vault.consul.consumer.dc1.consul", purposes.Replace(" = ", "=", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(0, openssl.Run("verify", "-CAfile", caFile, "-purpose", "sslclient", leafFile).ExitCode);
        Assert.NotEqual(0, openssl.Run("verify", "-CAfile", caFile, "-purpose", "sslserver", leafFile).ExitCode);
    }

    private static V1Alpha1ConsulACLPolicy Policy(string name, string? description = null, List<string>? datacenters = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "consul" },
        Spec = new ConsulACLPolicySpec { ClusterRef = new() { Name = "consul" }, Description = description, Rules = "key_prefix \"vault/\" { policy = \"write\" }", Datacenters = datacenters },
    };

    private static V1Alpha1ConsulACLToken Token(Action<ConsulACLTokenSpec>? change = null)
    {
        var token = new V1Alpha1ConsulACLToken
        {
            Metadata = new V1ObjectMeta { Name = "vault", NamespaceProperty = "consul", Uid = "0c5e8f0e-0000-4000-8000-000000000002" },
            Spec = new ConsulACLTokenSpec { ClusterRef = new() { Name = "consul" }, SecretName = "vault-consul", Policies = [new TokenPolicy { ConsulACLPolicy = "vault-storage" }] },
        };
        change?.Invoke(token.Spec);
        return token;
    }

    private static string? Text(V1Secret secret, string key) => secret.Data.TryGetValue(key, out var value) ? Encoding.UTF8.GetString(value) : null;
}
