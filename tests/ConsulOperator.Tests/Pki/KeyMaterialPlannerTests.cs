using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;

namespace ConsulOperator.Tests.Pki;

public class KeyMaterialPlannerTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void From_nothing_it_creates_a_ca_a_gossip_key_and_every_certificate_the_cluster_needs()
    {
        var cluster = Clusters.Default();

        var plan = KeyMaterialPlanner.Plan(ExistingKeyMaterial.None, KeyMaterialSecrets.Requirements(cluster), time);

        Assert.NotNull(plan.Material.GossipKey);
        Assert.Equal(
            ["consul-cli-tls", "consul-client-0-tls", "consul-client-1-tls", "consul-metrics-tls", "consul-server-0-tls", "consul-server-1-tls", "consul-server-2-tls"],
            plan.Material.Leaves.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["CA", "GossipKey", .. plan.Material.Leaves.Keys.Select(_ => "Missing")], plan.Changes.Select(c => c.Subject is "CA" or "GossipKey" ? c.Subject : c.Reason));
        Assert.All(plan.Material.Leaves.Values, leaf => Assert.True(plan.Material.Ca.IsIssuerOf(leaf)));
    }

    [Fact]
    public void What_exists_and_is_still_good_is_reused_untouched_and_nothing_is_reported()
    {
        var cluster = Clusters.Default();
        var first = Clusters.Build(cluster, Clusters.KeyMaterialFor(cluster, time));

        var existing = KeyMaterialSecrets.Read(cluster, first.OfType<V1Secret>());
        var plan = KeyMaterialPlanner.Plan(existing, KeyMaterialSecrets.Requirements(cluster), time);

        Assert.Empty(plan.Changes);
        var second = DesiredState.Build(cluster, plan.Material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 });
        Assert.Equal(Data(first), Data(second));
    }

    [Fact]
    public void An_existing_ca_and_gossip_key_are_kept_even_when_every_leaf_is_gone()
    {
        var cluster = Clusters.Default();
        var secrets = Clusters.Build(cluster).OfType<V1Secret>().ToList();
        var onlyRoots = secrets.Where(s => s.Metadata.Name is "consul-ca" or "consul-gossip");

        var plan = KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, onlyRoots), KeyMaterialSecrets.Requirements(cluster), time);

        Assert.Equal(Text(secrets, "consul-ca", "tls.key"), plan.Material.Ca.PrivateKeyPem);
        Assert.Equal(Text(secrets, "consul-gossip", "key"), plan.Material.GossipKey);
        Assert.All(plan.Changes, c => Assert.Equal("Missing", c.Reason));
    }

    [Fact]
    public void A_broken_ca_secret_stops_everything_instead_of_being_replaced()
    {
        var cluster = Clusters.Default();
        var secrets = Clusters.Build(cluster).OfType<V1Secret>().ToList();
        secrets.Single(s => s.Metadata.Name == "consul-ca").Data["tls.key"] = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"u8.ToArray();

        var error = Assert.Throws<KeyMaterialException>(() => KeyMaterialSecrets.Read(cluster, secrets));

        Assert.Contains("Secret consul-ca", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_gossip_secret_stops_everything_instead_of_being_replaced()
    {
        var cluster = Clusters.Default();
        var secrets = Clusters.Build(cluster).OfType<V1Secret>().ToList();
        secrets.Single(s => s.Metadata.Name == "consul-gossip").Data["key"] = "c2hvcnQ="u8.ToArray();

        var error = Assert.Throws<KeyMaterialException>(() => KeyMaterialSecrets.Read(cluster, secrets));

        Assert.Contains("Secret consul-gossip", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scaling_up_issues_only_the_new_pods_certificates()
    {
        var cluster = Clusters.Default();
        var secrets = Clusters.Build(cluster, Clusters.KeyMaterialFor(cluster, time)).OfType<V1Secret>();
        cluster.Spec.Servers.Replicas = 5;
        cluster.Spec.Clients.Replicas = 3;

        var plan = KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, secrets), KeyMaterialSecrets.Requirements(cluster), time);

        Assert.Equal(["consul-client-2-tls", "consul-server-3-tls", "consul-server-4-tls"], plan.Changes.Select(c => c.Subject).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Certificates_are_renewed_once_inside_the_rotation_window_but_the_ca_stays()
    {
        var cluster = Clusters.Default();
        var secrets = DesiredState.Build(cluster, Clusters.KeyMaterialFor(cluster, time), ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 }).OfType<V1Secret>().ToList();
        time.Advance(TimeSpan.FromDays(365 - 30));

        var plan = KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, secrets), KeyMaterialSecrets.Requirements(cluster), time);

        Assert.Equal(Text(secrets, "consul-ca", "tls.crt"), plan.Material.Ca.CertificatePem);
        Assert.Equal(7, plan.Changes.Count);
        Assert.All(plan.Changes, c => Assert.Equal("Expiring", c.Reason));
    }

    [Fact]
    public void Auto_encrypt_clients_get_no_certificates_from_us()
    {
        var cluster = Clusters.Default(change: spec => spec.Clients.AutoEncrypt = true);

        var required = KeyMaterialSecrets.Requirements(cluster);

        Assert.DoesNotContain(required.Leaves, l => l.SecretName.StartsWith("consul-client-", StringComparison.Ordinal));
    }

    private static string Text(IEnumerable<V1Secret> secrets, string name, string key) =>
        System.Text.Encoding.ASCII.GetString(secrets.Single(s => s.Metadata.Name == name).Data[key]);

    private static Dictionary<string, string> Data(IEnumerable<k8s.IKubernetesObject<V1ObjectMeta>> objects) =>
        objects.OfType<V1Secret>().ToDictionary(s => s.Metadata.Name, s => string.Join("|", s.Data.Select(d => d.Key + "=" + Convert.ToBase64String(d.Value))));
}
