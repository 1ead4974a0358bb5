using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>Gossip key rotation on request, through the operator and the simulated keyring, including an operator lost half way.</summary>
public sealed class GossipRotationIntegrationTests() : IntegrationTest(replicas: 2)
{
    [Fact]
    public async Task A_requested_rotation_installs_switches_and_removes_the_old_key_once()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var old = GossipSecretKey(KeyMaterialSecrets.GossipKeyKey)!;
        Assert.Equal([old], dc.GossipKeys);

        RequestRotation("2026-11-23");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.GossipRotation == "2026-11-23", "the rotation to complete");

        var current = GossipSecretKey(KeyMaterialSecrets.GossipKeyKey)!;
        Assert.NotEqual(old, current);
        Assert.Equal([current], dc.GossipKeys);
        Assert.Null(GossipSecretKey(GossipRotation.NextKeyKey));
        Assert.Contains("GossipKeyRotated", Harness.List("v1", "Event").Select(e => (string?)e["reason"]));

        // Done is done: later reconciles leave the key alone.
        await Harness.WaitForQuietAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(current, GossipSecretKey(KeyMaterialSecrets.GossipKeyKey));
    }

    [Fact]
    public async Task An_operator_lost_mid_rotation_is_succeeded_by_one_that_finishes_the_same_rotation()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var nextKeys = Harness.Record(change =>
            change.Resource.Kind == "Secret" && (string?)change.Item["metadata"]!["name"] == "consul-gossip" && change.Item["data"]?[GossipRotation.NextKeyKey] is { } next
                ? Encoding.UTF8.GetString(Convert.FromBase64String((string)next!))
                : null);

        // Consul refuses the keyring calls: the new key is stored, the rotation cannot go on, and the leader dies.
        Harness.Consul.Server.Faults.FailNext("/v1/operator/keyring", 1000, 500, "rpc error: keyring unavailable");
        RequestRotation("2026-11-23");
        await OperatorHarness.WaitUntilAsync(() => GossipSecretKey(GossipRotation.NextKeyKey) is not null, "the new key to be stored first");
        var leader = Harness.Replicas.Single(r => r.Services.GetService(typeof(LeaderElector)) is LeaderElector { IsLeader: true });
        await Harness.StopReplicaAsync(leader);
        Harness.Consul.Server.Faults.Clear();

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.GossipRotation == "2026-11-23", "the standby to finish the rotation");
        var only = Assert.Single(nextKeys.Snapshot().Distinct());
        Assert.Equal(only, GossipSecretKey(KeyMaterialSecrets.GossipKeyKey));
        Assert.Equal([only], dc.GossipKeys);
    }

    [Fact]
    public async Task A_member_that_has_not_got_the_new_key_holds_the_switch_until_it_has()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var old = GossipSecretKey(KeyMaterialSecrets.GossipKeyKey)!;

        // consul-client-1 misses the keyring queries: the install does not reach it, and the listing says so.
        dc.SetKeyringResponsive("consul-client-1", false);
        RequestRotation("2026-12-02");
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.Conditions, Conditions.Progressing)?.Message?.Contains("waiting for every member to hold the new key (LAN 4/5)", StringComparison.Ordinal) == true,
            "the rotation to wait for consul-client-1");
        await Harness.WaitForReconcilesAsync(3, "looking again while a member lacks the key");
        Assert.Equal(old, GossipSecretKey(KeyMaterialSecrets.GossipKeyKey));
        Assert.Equal(old, dc.Find("consul-client-1")!.Keys.Single());
        Assert.All(dc.Agents.Where(a => a.Name != "consul-client-1"), a => Assert.Equal(old, a.Keys[0]));

        dc.SetKeyringResponsive("consul-client-1", true);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.GossipRotation == "2026-12-02", "the rotation to complete");
        var current = GossipSecretKey(KeyMaterialSecrets.GossipKeyKey)!;
        Assert.All(dc.Agents, a => Assert.Equal([current], a.Keys));
    }

    private void RequestRotation(string rotation)
    {
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Gossip.Rotation = rotation);
    }

    private string? GossipSecretKey(string key) => KeyMaterialSecrets.Text(Harness.Get<V1Secret>("consul-gossip")!, key);
}
