using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

/// <summary>A hand-built datacenter's CA, gossip key and management token, used in place and never written.</summary>
public sealed class AdoptedSecretsTests : IDisposable
{
    private readonly HandBuiltDatacenter handBuilt = new();

    [Fact]
    public void An_adopted_openssl_ca_signs_every_leaf_and_the_operator_writes_none_of_the_adopted_secrets()
    {
        var cluster = Adopting();
        cluster.Spec.Snapshots.Enabled = true;
        var secrets = handBuilt.Secrets();
        Assert.Empty(AdoptedSecrets.Problems(cluster, secrets, DateTimeOffset.UtcNow));

        var plan = KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, secrets), KeyMaterialSecrets.Requirements(cluster), TimeProvider.System);
        Assert.DoesNotContain(plan.Changes, c => c.Subject is "CA" or "GossipKey");
        var objects = Clusters.Build(cluster, plan.Material);
        var secretNames = objects.OfType<V1Secret>().Select(s => s.Metadata.Name).ToList();
        Assert.DoesNotContain("consul-ca", secretNames);
        Assert.DoesNotContain("consul-gossip", secretNames);
        Assert.DoesNotContain(HandBuiltDatacenter.CaSecret, secretNames);
        Assert.DoesNotContain(HandBuiltDatacenter.GossipSecret, secretNames);

        // openssl, not our code, says the leaves chain to the hand-made RSA CA for their purposes and names.
        var server = Text(objects.Named<V1Secret>("consul-server-0-tls"), KeyMaterialSecrets.CertificateKey);
        AssertOk(handBuilt.Verify(server, "sslserver", "server.dc1.consul"));
        AssertOk(handBuilt.Verify(server, "sslclient"));
        AssertOk(handBuilt.Verify(Text(objects.Named<V1Secret>("consul-cli-tls"), KeyMaterialSecrets.CertificateKey), "sslclient"));

        // The pods trust exactly the hand-built CA, so the existing servers' openssl-made certificates keep working with them.
        var trusted = objects.Named<V1ConfigMap>("consul-ca-cert").Data[KeyMaterialSecrets.CaCertificateKey];
        Assert.Equal(handBuilt.CaCertificate, trusted);
        using var openssl = new OpenSsl();
        var (exitCode, output) = openssl.Run("verify", "-CAfile", openssl.Write("trusted.pem", trusted), "-purpose", "sslserver", "-verify_hostname", "server.dc1.consul", openssl.Write("old.pem", handBuilt.ServerCertificate));
        AssertOk((exitCode, output));

        // Agents read the gossip key, and the snapshot CronJob the management token, from the adopted Secrets' own keys.
        var gossipKey = objects.Named<V1StatefulSet>("consul-server").Spec.Template.Spec.Containers.SelectMany(c => c.Env).Single(e => e.Name == AgentConfig.GossipKeyVariable);
        Assert.Equal((HandBuiltDatacenter.GossipSecret, "gossip-key"), (gossipKey.ValueFrom.SecretKeyRef.Name, gossipKey.ValueFrom.SecretKeyRef.Key));
        Assert.Equal(handBuilt.GossipKey, plan.Material.GossipKey);
        var token = objects.Named<V1CronJob>("consul-snapshot").Spec.JobTemplate.Spec.Template.Spec.Containers.SelectMany(c => c.Env).Single(e => e.Name == "CONSUL_HTTP_TOKEN");
        Assert.Equal((HandBuiltDatacenter.TokenSecret, "secret-id"), (token.ValueFrom.SecretKeyRef.Name, token.ValueFrom.SecretKeyRef.Key));
    }

    [Fact]
    public void Every_problem_with_the_adopted_secrets_is_reported_at_once_with_its_field()
    {
        var cluster = Adopting();
        var other = CertificateAuthority.Create(30, [], "other", TimeProvider.System);
        var secrets = handBuilt.Secrets().Select(s => s.Metadata.Name switch
        {
            // The CA's key replaced by another CA's key; the gossip Secret left unlabelled; a token stored with a file's newline.
            HandBuiltDatacenter.CaSecret => With(s, KeyMaterialSecrets.PrivateKeyKey, other.PrivateKeyPem),
            HandBuiltDatacenter.TokenSecret => With(s, "secret-id", handBuilt.ManagementToken + "\n"),
            _ => null,
        }).OfType<V1Secret>().ToList();

        var problems = AdoptedSecrets.Problems(cluster, secrets, DateTimeOffset.UtcNow);

        Assert.Equal(["spec.tls.caSecretRef", "spec.gossip.keySecretRef", "spec.acl.bootstrapTokenSecretRef.key"], problems.Select(p => p.Path));
        Assert.Contains("private key does not belong to the certificate", problems[0].Message, StringComparison.Ordinal);
        Assert.Contains($"kubectl label secret {HandBuiltDatacenter.GossipSecret} consul.operator.dev/adopted=true", problems[1].Message, StringComparison.Ordinal);
        Assert.Contains("trailing newline", problems[2].Message, StringComparison.Ordinal);
        Assert.DoesNotContain(problems, p => p.Message.Contains(handBuilt.ManagementToken, StringComparison.Ordinal));
    }

    [Fact]
    public void A_gossip_key_stored_with_a_files_newline_is_refused_since_the_agents_json_config_could_not_hold_it()
    {
        var secrets = handBuilt.Secrets().Select(s => s.Metadata.Name == HandBuiltDatacenter.GossipSecret ? With(s, "gossip-key", handBuilt.GossipKey + "\n") : s);

        var problem = Assert.Single(AdoptedSecrets.Problems(Adopting(), secrets, DateTimeOffset.UtcNow));

        Assert.Equal("spec.gossip.keySecretRef.key", problem.Path);
        Assert.Contains("trailing newline", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_key_an_unusable_gossip_key_and_an_expired_ca_are_named()
    {
        var cluster = Adopting();
        var secrets = handBuilt.Secrets().Select(s => s.Metadata.Name switch
        {
            HandBuiltDatacenter.GossipSecret => With(s, "gossip-key", Convert.ToBase64String(new byte[20])),
            HandBuiltDatacenter.TokenSecret => Without(s, "secret-id"),
            _ => s,
        }).ToList();

        var problems = AdoptedSecrets.Problems(cluster, secrets, DateTimeOffset.UtcNow.AddYears(11));

        Assert.Equal(["spec.tls.caSecretRef", "spec.gossip.keySecretRef.key", "spec.acl.bootstrapTokenSecretRef.key"], problems.Select(p => p.Path));
        Assert.Contains("expired", problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("16, 24 or 32 bytes", problems[1].Message, StringComparison.Ordinal);
        Assert.Contains($"Secret {HandBuiltDatacenter.TokenSecret} has no key 'secret-id' (it has: none)", problems[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_adopted_ca_needs_no_name_constraints_but_one_that_excludes_the_pods_names_is_refused()
    {
        var cluster = Adopting();
        var narrow = CertificateAuthority.Create(30, ["consul", "localhost"], "narrow", TimeProvider.System);
        var secrets = handBuilt.Secrets().Select(s => s.Metadata.Name == HandBuiltDatacenter.CaSecret
            ? With(With(s, KeyMaterialSecrets.CertificateKey, narrow.CertificatePem), KeyMaterialSecrets.PrivateKeyKey, narrow.PrivateKeyPem) : s).ToList();

        var problem = Assert.Single(AdoptedSecrets.Problems(cluster, secrets, DateTimeOffset.UtcNow));

        Assert.Equal("spec.tls.caSecretRef", problem.Path);
        Assert.Contains("permits only the DNS names under [consul, localhost]", problem.Message, StringComparison.Ordinal);
        Assert.Contains("consul-server-0.consul-server.consul.svc", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Adopting_another_ca_than_the_agents_trust_or_dropping_an_adopted_gossip_key_is_refused_but_moving_the_same_one_is_not()
    {
        // A cluster the operator built with its own CA and key.
        var own = Clusters.Default();
        var material = Clusters.KeyMaterialFor(own);
        var live = Clusters.Build(own, material);
        var trusted = live.Named<V1ConfigMap>("consul-ca-cert");
        var servers = live.Named<V1StatefulSet>("consul-server");
        var ownSecrets = live.OfType<V1Secret>().ToList();

        var switched = Adopting();
        var all = ownSecrets.Concat(handBuilt.Secrets()).ToList();
        var change = Assert.Single(AdoptedSecrets.SourceChanges(switched, KeyMaterialSecrets.Read(switched, all), trusted, null, all));
        Assert.Contains($"Secret {HandBuiltDatacenter.CaSecret} (spec.tls.caSecretRef) holds another CA", change, StringComparison.Ordinal);

        // The operator's own CA and key, copied into Secrets of the team's: the same CA and key, so nothing changes.
        var copied = new List<V1Secret>(ownSecrets)
        {
            With(handBuilt.Secrets()[0], KeyMaterialSecrets.CertificateKey, material.Ca.CertificatePem, KeyMaterialSecrets.PrivateKeyKey, material.Ca.PrivateKeyPem),
            With(handBuilt.Secrets()[1], "gossip-key", material.GossipKey!),
        };
        var moved = Adopting(token: false);
        Assert.Empty(AdoptedSecrets.SourceChanges(moved, KeyMaterialSecrets.Read(moved, copied), trusted, servers, copied));

        // The servers run with the adopted key; removing keySecretRef would have the operator make a new one.
        var movedMaterial = KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(moved, copied), KeyMaterialSecrets.Requirements(moved), TimeProvider.System).Material;
        var adoptedServers = Clusters.Build(moved, movedMaterial).Named<V1StatefulSet>("consul-server");
        var dropped = Adopting(token: false);
        dropped.Spec.Gossip.KeySecretRef = null;
        var onlyAdopted = copied.Where(s => s.Metadata.Name != "consul-gossip").ToList();
        var gossip = Assert.Single(AdoptedSecrets.SourceChanges(dropped, KeyMaterialSecrets.Read(dropped, onlyAdopted), trusted, adoptedServers, onlyAdopted));
        Assert.Contains($"the servers run with the gossip key in key 'gossip-key' of Secret {HandBuiltDatacenter.GossipSecret}", gossip, StringComparison.Ordinal);
        Assert.Contains("which does not exist", gossip, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_ca_secret_is_not_replaced_while_the_agents_trust_its_ca_but_a_configmap_of_an_earlier_cluster_of_that_name_is_no_trust()
    {
        var cluster = Clusters.Default();
        var live = Clusters.Build(cluster);
        var trusted = live.Named<V1ConfigMap>("consul-ca-cert");
        var withoutCa = live.OfType<V1Secret>().Where(s => s.Metadata.Name != "consul-ca").ToList();

        var change = Assert.Single(AdoptedSecrets.SourceChanges(cluster, KeyMaterialSecrets.Read(cluster, withoutCa), trusted, null, withoutCa));
        Assert.Contains("Secret consul-ca does not exist", change, StringComparison.Ordinal);
        Assert.Contains("delete ConfigMap consul-ca-cert too", change, StringComparison.Ordinal);

        // A ConfigMap left by an earlier cluster of the same name (another UID) holds no trust of this one.
        var successor = Clusters.Default();
        successor.Metadata.Uid = "6f2c1a94-0000-4000-8000-000000000002";
        Assert.Empty(AdoptedSecrets.SourceChanges(successor, KeyMaterialSecrets.Read(successor, withoutCa), trusted, null, withoutCa));
    }

    [Fact]
    public void What_would_write_an_adopted_secret_is_refused_with_the_spec()
    {
        var cluster = Adopting();
        cluster.Spec.Gossip.Rotation = "2026-12";
        Assert.Contains(ConsulClusterValidator.Validate(cluster), p => p.Path == "spec.gossip.rotation" && p.Message.Contains("never writes Secret corp-consul-gossip", StringComparison.Ordinal));

        cluster = Adopting();
        cluster.Spec.Gossip.Encryption = false;
        cluster.Spec.Acl.Enabled = false;
        Assert.Equal(["spec.gossip.keySecretRef", "spec.acl.bootstrapTokenSecretRef"], ConsulClusterValidator.Validate(cluster).Select(p => p.Path));

        cluster = Adopting();
        cluster.Spec.Gossip.KeySecretRef!.Key = "not a key";
        Assert.Contains(ConsulClusterValidator.Validate(cluster), p => p.Path == "spec.gossip.keySecretRef.key");
    }

    public void Dispose() => handBuilt.Dispose();

    private static V1Alpha1ConsulCluster Adopting(bool token = true) => Clusters.Default(change: spec => HandBuiltDatacenter.Adopt(spec, token));

    private static V1Secret With(V1Secret secret, params string[] keysAndValues)
    {
        var data = new Dictionary<string, byte[]>(secret.Data);
        for (var i = 0; i < keysAndValues.Length; i += 2)
        {
            data[keysAndValues[i]] = Encoding.ASCII.GetBytes(keysAndValues[i + 1]);
        }

        return new V1Secret { ApiVersion = secret.ApiVersion, Kind = secret.Kind, Metadata = secret.Metadata, Type = secret.Type, Data = data };
    }

    private static V1Secret Without(V1Secret secret, string key) =>
        new() { ApiVersion = secret.ApiVersion, Kind = secret.Kind, Metadata = secret.Metadata, Type = secret.Type, Data = secret.Data.Where(d => d.Key != key).ToDictionary() };

    private static void AssertOk((int ExitCode, string Output) result) =>
        Assert.True(result.ExitCode == 0 && result.Output.Contains(": OK", StringComparison.Ordinal), result.Output);

    private static string Text(V1Secret secret, string key) => Encoding.ASCII.GetString(secret.Data[key]);
}
