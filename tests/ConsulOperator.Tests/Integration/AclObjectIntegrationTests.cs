using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Cli;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>ConsulACLPolicy and ConsulACLToken through the real operator: the Vault sample, repair, restore, rotation, refusal and deletion.</summary>
public sealed class AclObjectIntegrationTests() : IntegrationTest()
{
    [Theory]
    [MemberData(nameof(ConsulVersionIntegrationTests.SupportMatrix), MemberType = typeof(ConsulVersionIntegrationTests))]
    public async Task The_vault_sample_gives_a_secret_vault_can_use_to_write_under_vault_and_nowhere_else(string version)
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Version = version;
        Harness.Create(cluster);
        var (policy, token) = VaultSample();
        Harness.Create(policy);
        Harness.Create(token);

        var status = await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the vault token to be ready");
        var secret = Harness.Get<V1Secret>("vault-consul")!;
        Assert.Equal(AclObjects.Done, KeyMaterialSecrets.Text(secret, AclObjects.StateKey));
        Assert.Equal(status.AccessorID, KeyMaterialSecrets.Text(secret, AclObjects.AccessorIdKey));
        Assert.Equal(KeyMaterialSecrets.Text(secret, AclObjects.TokenKey), KeyMaterialSecrets.Text(secret, AclObjects.HttpTokenKey));

        // Vault's part: only what the Secret holds. The cluster verifies incoming HTTPS, so the certificate is what lets it in.
        using var vault = new Consumer(secret, Harness.Consul);
        Assert.Equal(200, await vault.PutAsync("vault/core/lock", "held"));
        Assert.Equal("held", await vault.GetAsync("vault/core/lock"));
        Assert.Equal(403, await vault.PutAsync("app/config", "not vault's"));
        Assert.Null(await vault.GetAsync("app/config"));
        using var withoutCertificate = new Consumer(secret, Harness.Consul, presentCertificate: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => withoutCertificate.PutAsync("vault/x", "y"));

        // One token for it in Consul, and the secret appears nowhere but the Secret.
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.Single(dc.TokenList, t => t.Description.Contains("consul/vault]", StringComparison.Ordinal));
        var secretId = KeyMaterialSecrets.Text(secret, AclObjects.TokenKey)!;
        Assert.DoesNotContain(secretId, System.Text.Json.JsonSerializer.Serialize(Harness.Get<V1Alpha1ConsulACLToken>("vault")));
        Assert.All(Harness.List("v1", "Event"), e => Assert.DoesNotContain(secretId, e.ToJsonString(), StringComparison.Ordinal));
        Assert.Contains(Harness.Logs.Lines, l => l.Contains("ConsulACLToken consul/vault", StringComparison.Ordinal));
        Assert.All(Harness.Logs.Lines, l => Assert.DoesNotContain(secretId, l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Python_consul2_reading_only_the_secret_writes_under_vault_and_is_refused_elsewhere()
    {
        Harness.Create(Clusters.Sample());
        var (policy, token) = VaultSample();
        Harness.Create(policy);
        Harness.Create(token);
        var status = await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the vault token to be ready");

        // The Secret as a volume mount would lay it out: one file per key.
        var mounted = Directory.CreateTempSubdirectory("vault-consul").FullName;
        foreach (var (key, value) in Harness.Get<V1Secret>("vault-consul")!.Data)
        {
            File.WriteAllBytes(Path.Combine(mounted, key), value);
        }

        var (exitCode, output, error) = Tools.Run(Tools.DebianPython, Repository.PathOf("tests/ConsulOperator.Tests/Upstream/python_consul2_vault.py"), mounted, Harness.Consul.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(exitCode == 0, error);
        var seen = System.Text.Json.Nodes.JsonNode.Parse(output)!.AsObject();
        Assert.True((bool)seen["put_inside"]!);
        Assert.Equal("from python", (string?)seen["get_inside"]);
        Assert.True((bool)seen["index_is_a_number"]!);
        Assert.Null(seen["get_missing"]);
        Assert.StartsWith("denied: Permission denied", (string?)seen["put_outside"], StringComparison.Ordinal);
        Assert.Equal(status.AccessorID, (string?)seen["self_accessor"]);
        Assert.Equal(["vault-storage"], seen["self_policies"]!.AsArray().Select(p => (string?)p));
        Assert.True((bool)seen["delete_inside"]!);
    }

    [Fact]
    public async Task Drift_in_consul_and_a_deleted_secret_are_repaired_and_consumers_keep_their_token()
    {
        Harness.Create(Clusters.Sample());
        var (policy, token) = VaultSample();
        Harness.Create(policy);
        Harness.Create(token);
        var status = await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the vault token to be ready");
        var secretId = KeyMaterialSecrets.Text(Harness.Get<V1Secret>("vault-consul")!, AclObjects.TokenKey)!;
        var dc = Harness.Consul.Datacenter("consul", "consul")!;

        // Someone loosens the policy by hand: it is put back.
        dc.Edit((_, policies) =>
        {
            var kept = policies.Values.Single(p => p.Name == "vault-storage");
            policies[kept.Id] = kept with { Rules = "key_prefix \"\" { policy = \"write\" }" };
        });
        await OperatorHarness.WaitUntilAsync(() => dc.PolicyList.Single(p => p.Name == "vault-storage").Rules == policy.Spec.Rules, "the policy's rules to be put back");

        // Someone unlinks the token's policy by hand: linked again.
        dc.Edit((tokens, _) => tokens[status.AccessorID!] = tokens[status.AccessorID!] with { PolicyIds = [] });
        await OperatorHarness.WaitUntilAsync(() => dc.TokenList.Single(t => t.AccessorId == status.AccessorID).PolicyIds.Count == 1, "the token's policy link to be put back");

        // The policy is deleted in Consul: made again (with a new ID, which Consul chooses), and the token linked to it.
        var firstId = dc.PolicyList.Single(p => p.Name == "vault-storage").Id;
        dc.Edit((_, policies) => policies.Remove(firstId));
        await OperatorHarness.WaitUntilAsync(
            () => dc.PolicyList.SingleOrDefault(p => p.Name == "vault-storage") is { } again && again.Id != firstId && dc.TokenList.Single(t => t.AccessorId == status.AccessorID).PolicyIds.SequenceEqual([again.Id]),
            "the policy to be made again and the token linked to the new one");

        // The token is deleted in Consul: it comes back with the same secret.
        dc.Edit((tokens, _) => tokens.Remove(status.AccessorID!));
        await OperatorHarness.WaitUntilAsync(() => dc.TokenList.Any(t => t.AccessorId == status.AccessorID && t.SecretId == secretId), "the token to be created again with the same secret");

        // The Secret is deleted: it comes back with the same token, read from Consul.
        Harness.Delete<V1Secret>("vault-consul");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>("vault-consul") is { } s && KeyMaterialSecrets.Text(s, AclObjects.TokenKey) == secretId, "the Secret to be restored with the same token");
        Assert.Single(dc.TokenList, t => t.Description.Contains("consul/vault]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_operator_stopped_between_storing_the_secret_and_creating_the_token_creates_that_token_and_no_other()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        await Harness.StopReplicaAsync(Harness.Replicas[0]);

        // What the stopped operator left: the objects, and the Secret with the chosen IDs, still pending.
        var (policy, token) = VaultSample();
        Harness.Create(policy);
        var stored = Harness.Create(token);
        token.Metadata.Uid = (string)stored["metadata"]!["uid"]!;
        var (accessor, secret) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var material = Harness.Get<V1Secret>("consul-ca")!;
        var ca = ConsulOperator.Pki.CertificateAuthority.Load(KeyMaterialSecrets.Text(material, "tls.crt")!, KeyMaterialSecrets.Text(material, "tls.key")!, "ca");
        Harness.Create(AclObjects.Secret(token, Harness.Get<V1Alpha1ConsulCluster>("consul")!, ca, new AclObjects.TokenSecret(secret, accessor, AclObjects.Pending, "", null, null, null)));

        await Harness.StartReplicaAsync("replica-restarted");
        await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the token to be ready");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var made = Assert.Single(dc.TokenList, t => t.Description.Contains("consul/vault]", StringComparison.Ordinal));
        Assert.Equal((accessor, secret), (made.AccessorId, made.SecretId));
        Assert.Equal(AclObjects.Done, KeyMaterialSecrets.Text(Harness.Get<V1Secret>("vault-consul")!, AclObjects.StateKey));
    }

    [Fact]
    public async Task A_rotation_puts_a_new_token_in_the_secret_and_deletes_the_old_one_after_the_grace_period()
    {
        Harness.Create(Clusters.Sample());
        var (policy, token) = VaultSample();
        token.Spec.RotationGracePeriod = "2s";
        Harness.Create(policy);
        Harness.Create(token);
        var first = await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the vault token to be ready");
        using var before = new Consumer(Harness.Get<V1Secret>("vault-consul")!, Harness.Consul);

        Harness.Edit<V1Alpha1ConsulACLToken>("vault", rotated => rotated.Spec.Rotation = "2026-12");
        var second = await WaitForTokenAsync(s => s.Rotation == "2026-12" && s.PreviousAccessorID == first.AccessorID, "the rotation to put a new token in place");
        Assert.NotEqual(first.AccessorID, second.AccessorID);
        using var after = new Consumer(Harness.Get<V1Secret>("vault-consul")!, Harness.Consul);
        Assert.NotEqual(before.Token, after.Token);

        // Both work during the grace period; then only the new one.
        Assert.Equal(200, await before.PutAsync("vault/a", "old"));
        Assert.Equal(200, await after.PutAsync("vault/b", "new"));
        await WaitForTokenAsync(s => s.PreviousAccessorID is null, "the old token to be deleted after the grace period");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.DoesNotContain(dc.TokenList, t => t.AccessorId == first.AccessorID);
        Assert.Equal(403, await before.PutAsync("vault/a", "old"));
        Assert.Equal(200, await after.PutAsync("vault/b", "new"));
    }

    [Fact]
    public async Task Rules_consul_refuses_make_the_policy_not_ready_with_consuls_message_and_the_token_waits()
    {
        Harness.Create(Clusters.Sample());
        var (policy, token) = VaultSample();
        policy.Spec.Rules = "key_prefix \"vault/\" { policy = \"writ\" }";
        Harness.Create(policy);
        Harness.Create(token);

        await OperatorHarness.WaitUntilAsync(() => Conditions.Find(Harness.Get<V1Alpha1ConsulACLPolicy>("vault-storage")?.Status?.Conditions, Conditions.Ready) is { Status: "False", Reason: "RejectedByConsul" }, "the policy to be refused");
        var ready = Conditions.Find(Harness.Get<V1Alpha1ConsulACLPolicy>("vault-storage")!.Status!.Conditions, Conditions.Ready)!;
        Assert.Contains("Invalid key policy", ready.Message, StringComparison.Ordinal);
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "RejectedByConsul" && (string?)e["type"] == "Warning");
        await WaitForTokenAsync(s => Conditions.Find(s.Conditions, Conditions.Ready) is { Status: "False", Reason: "PolicyNotReady" }, "the token to wait for its policy");
        Assert.Null(Harness.Get<V1Secret>("vault-consul"));

        // Fixed, both go ahead.
        Harness.Edit<V1Alpha1ConsulACLPolicy>("vault-storage", fixedPolicy => fixedPolicy.Spec.Rules = "key_prefix \"vault/\" { policy = \"write\" }");
        await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the token to be ready once the policy is");
    }

    [Fact]
    public async Task A_token_linked_to_a_policy_consul_lacks_is_refused_with_consuls_message_and_one_without_a_certificate_gets_none()
    {
        Harness.Create(Clusters.Sample());
        var (_, token) = VaultSample();
        token.Spec.Policies = [new TokenPolicy { ConsulName = "made-nowhere" }];
        token.Spec.ClientCertificate = false;
        Harness.Create(token);

        var status = await WaitForTokenAsync(s => Conditions.Find(s.Conditions, Conditions.Ready) is { Reason: "RejectedByConsul" }, "the token to be refused by Consul");
        Assert.Contains("No such ACL policy with name \"made-nowhere\"", Conditions.Find(status.Conditions, Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.True(Conditions.IsTrue(status.Conditions, Conditions.Degraded));

        // The token's secret was stored before Consul refused it, and stays pending: nothing was half made in Consul.
        var secret = Harness.Get<V1Secret>("vault-consul")!;
        Assert.Equal(AclObjects.Pending, KeyMaterialSecrets.Text(secret, AclObjects.StateKey));
        Assert.DoesNotContain(Harness.Consul.Datacenter("consul", "consul")!.TokenList, t => t.SecretId == KeyMaterialSecrets.Text(secret, AclObjects.TokenKey));

        // Linked to a policy that exists (global-management, made by Consul itself), it goes ahead, without a certificate.
        Harness.Edit<V1Alpha1ConsulACLToken>("vault", fixedToken => fixedToken.Spec.Policies = [new TokenPolicy { ConsulName = "global-management" }]);
        await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the token to be ready");
        secret = Harness.Get<V1Secret>("vault-consul")!;
        Assert.False(secret.Data.ContainsKey(KeyMaterialSecrets.CertificateKey));
        Assert.False(secret.Data.ContainsKey(KeyMaterialSecrets.PrivateKeyKey));
        Assert.Equal(AclObjects.Done, KeyMaterialSecrets.Text(secret, AclObjects.StateKey));
    }

    [Fact]
    public async Task Acl_objects_for_a_cluster_without_acls_are_refused_and_nothing_is_written()
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Acl.Enabled = false;
        Harness.Create(cluster);
        var (policy, token) = VaultSample();
        Harness.Create(policy);
        Harness.Create(token);

        await WaitForTokenAsync(s => Conditions.Find(s.Conditions, Conditions.Ready) is { Reason: "ACLsDisabled" }, "the token to be refused");
        await OperatorHarness.WaitUntilAsync(() => Conditions.Find(Harness.Get<V1Alpha1ConsulACLPolicy>("vault-storage")?.Status?.Conditions, Conditions.Ready) is { Reason: "ACLsDisabled" }, "the policy to be refused");
        Assert.Null(Harness.Get<V1Secret>("vault-consul"));
        Assert.DoesNotContain(Harness.Consul.Server.Requests, r => r.Contains("/v1/acl/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Node_identities_are_refused_on_a_version_without_them_with_the_version()
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Version = "1.6.1";
        Harness.Create(cluster);
        var (_, token) = VaultSample();
        token.Spec.Policies = null;
        token.Spec.NodeIdentities = [new TokenNodeIdentity { NodeName = "vault-node" }];
        Harness.Create(token);

        var status = await WaitForTokenAsync(s => Conditions.Find(s.Conditions, Conditions.Ready) is { Reason: "InvalidSpec" }, "the token to be refused");
        var message = Conditions.Find(status.Conditions, Conditions.Ready)!.Message;
        Assert.Contains("spec.nodeIdentities", message, StringComparison.Ordinal);
        Assert.Contains("1.8.1", message, StringComparison.Ordinal);
        Assert.Contains("1.6.1", message, StringComparison.Ordinal);
        Assert.Null(Harness.Get<V1Secret>("vault-consul"));
    }

    [Fact]
    public async Task Deleting_the_objects_deletes_them_from_consul_first_and_waits_while_consul_cannot_be_asked()
    {
        Harness.Create(Clusters.Sample());
        var (policy, token) = VaultSample();
        Harness.Create(policy);
        Harness.Create(token);
        var status = await WaitForTokenAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the vault token to be ready");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;

        // Consul cannot take the delete for a while: the object stays and says why.
        Harness.Consul.Server.Faults.FailNext($"/v1/acl/token/{status.AccessorID}", 1000, 500, "No cluster leader");
        Harness.Delete<V1Alpha1ConsulACLToken>("vault");
        await WaitForTokenAsync(s => Conditions.Find(s.Conditions, Conditions.Ready) is { Reason: "DeletionWaiting" } c && c.Message.Contains("No cluster leader", StringComparison.Ordinal), "the deletion to wait and say why");
        Assert.Contains(dc.TokenList, t => t.AccessorId == status.AccessorID);

        Harness.Consul.Server.Faults.Clear();
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulACLToken>("vault") is null, "the token object to be released");
        Assert.DoesNotContain(dc.TokenList, t => t.AccessorId == status.AccessorID);

        Harness.Delete<V1Alpha1ConsulACLPolicy>("vault-storage");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulACLPolicy>("vault-storage") is null, "the policy object to be released");
        Assert.DoesNotContain(dc.PolicyList, p => p.Name == "vault-storage");
    }

    // config/samples/vault-storage.yaml, read the way render reads it.
    private static (V1Alpha1ConsulACLPolicy Policy, V1Alpha1ConsulACLToken Token) VaultSample()
    {
        var input = InputDocuments.Read([Repository.PathOf("config/samples/vault-storage.yaml")], TextReader.Null);
        Assert.Empty(input.Problems);
        return (Assert.Single(input.AclPolicies), Assert.Single(input.AclTokens));
    }

    private async Task<ConsulACLTokenStatus> WaitForTokenAsync(Func<ConsulACLTokenStatus, bool> condition, string what)
    {
        ConsulACLTokenStatus? status = null;
        await OperatorHarness.WaitUntilAsync(
            () => (status = Harness.Get<V1Alpha1ConsulACLToken>("vault")?.Status) is { } s && condition(s),
            $"{what} (last status: {(status is null ? "none" : System.Text.Json.JsonSerializer.Serialize(status))})", TimeSpan.FromSeconds(45));
        return status!;
    }
}
