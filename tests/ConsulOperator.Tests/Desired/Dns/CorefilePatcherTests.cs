using ConsulOperator.Desired.Dns;

namespace ConsulOperator.Tests.Desired.Dns;

public class CorefilePatcherTests
{
    private static readonly ForwardingBlock Block = new("consul/consul", "service.consul", "10.96.0.53", 53);

    public static TheoryData<string> Distributions() => ["kubeadm", "k3s", "eks", "rke2", "minikube"];

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Our_block_is_added_once_and_removing_it_restores_the_original(string distribution)
    {
        var original = Corefile(distribution);

        var added = CorefilePatcher.Apply(original, Block);
        Assert.Null(added.Conflict);
        Assert.True(added.Changed);
        Assert.StartsWith(original, added.Text, StringComparison.Ordinal);
        Assert.Single(CorefilePatcher.ServerBlockKeys(added.Text!), k => CorefilePatcher.ServesZone(k.Key, "service.consul"));
        Assert.Contains("service.consul:53 {\n    errors\n    cache 30\n    forward . 10.96.0.53:53\n}\n", added.Text, StringComparison.Ordinal);

        var again = CorefilePatcher.Apply(added.Text!, Block);
        Assert.False(again.Changed);
        Assert.Equal(added.Text, again.Text);

        var removed = CorefilePatcher.Remove(added.Text!, Block);
        Assert.True(removed.Changed);

        Assert.Equal(original, removed.Text);
    }

    [Theory]
    [InlineData(".:53 {\r\n    forward . /etc/resolv.conf\r\n}")]
    [InlineData(".:53 {\n    forward . /etc/resolv.conf\n}")]
    [InlineData(".:53 {\r\n    forward . /etc/resolv.conf\r\n}\r\n")]
    public void A_corefile_without_a_final_line_break_or_with_crlf_comes_back_byte_for_byte(string original)
    {
        var added = CorefilePatcher.Apply(original, Block).Text!;

        // Our block was rewritten by someone else and put back before it goes: the line break we added is still ours to take.
        var tampered = added.Replace("cache 30", "cache 300", StringComparison.Ordinal);
        var repaired = CorefilePatcher.Apply(tampered, Block).Text!;
        Assert.Equal(added, repaired);

        Assert.Equal(original, CorefilePatcher.Remove(repaired, Block).Text);
    }

    [Fact]
    public void Every_distribution_corefile_serves_only_the_root_zone_before_patching()
    {
        foreach (var distribution in Distributions())
        {
            Assert.Equal([".:53"], CorefilePatcher.ServerBlockKeys(Corefile(distribution)).Select(k => k.Key));
        }
    }

    [Fact]
    public void A_new_service_ip_replaces_our_block_in_place_and_touches_nothing_else()
    {
        var withBlock = CorefilePatcher.Apply(Corefile("k3s"), Block).Text!;
        var trailer = "\n# a human's note after our block\n";

        var moved = CorefilePatcher.Apply(withBlock + trailer, Block with { UpstreamAddress = "10.96.7.7" });

        Assert.True(moved.Changed);
        Assert.Equal(Corefile("k3s") + (Block with { UpstreamAddress = "10.96.7.7" }).MarkedServerBlock + trailer, moved.Text);
        Assert.DoesNotContain("10.96.0.53", moved.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_someone_rewrote_between_our_markers_is_put_back()
    {
        var withBlock = CorefilePatcher.Apply(Corefile("kubeadm"), Block).Text!;
        var tampered = withBlock.Replace("cache 30\n    forward . 10.96.0.53:53", "forward . 8.8.8.8", StringComparison.Ordinal);

        var repaired = CorefilePatcher.Apply(tampered, Block);

        Assert.True(repaired.Changed);
        Assert.Equal(withBlock, repaired.Text);
    }

    [Fact]
    public void A_humans_block_for_the_zone_is_never_clobbered()
    {
        var corefile = Corefile("human-consul-block");

        var result = CorefilePatcher.Apply(corefile, Block);

        Assert.Null(result.Text);
        Assert.False(result.Changed);
        Assert.Contains("already serves zone service.consul", result.Conflict, StringComparison.Ordinal);
        Assert.Contains("line 14", result.Conflict, StringComparison.Ordinal);
        Assert.Contains("spec.dns.coreDns.patch=false", result.Conflict, StringComparison.Ordinal);
        Assert.False(CorefilePatcher.Remove(corefile, Block).Changed);
    }

    [Fact]
    public void Another_clusters_block_for_the_same_zone_is_a_conflict_too()
    {
        var theirs = CorefilePatcher.Apply(Corefile("eks"), Block with { Owner = "other/consul" }).Text!;

        var result = CorefilePatcher.Apply(theirs, Block);

        Assert.NotNull(result.Conflict);
    }

    [Theory]
    [InlineData("service.consul:53", true)]
    [InlineData("service.consul", true)]
    [InlineData("service.consul.", true)]
    [InlineData("SERVICE.Consul.:53", true)]
    [InlineData("dns://service.consul:53", true)]
    [InlineData("service.consul:5353", false)]
    [InlineData("tls://service.consul", false)]
    [InlineData("consul:53", false)]
    [InlineData("node.service.consul:53", false)]
    public void Zone_matching_follows_coredns_normalisation(string key, bool serves) =>
        Assert.Equal(serves, CorefilePatcher.ServesZone(key, "service.consul"));

    [Fact]
    public void A_zone_listed_beside_another_on_one_block_is_found()
    {
        var corefile = Corefile("kubeadm") + "consul.local service.consul:53 {\n    forward . 10.1.1.1\n}\n";

        Assert.NotNull(CorefilePatcher.Apply(corefile, Block).Conflict);
    }

    [Fact]
    public void Comments_snippets_and_imports_are_not_server_blocks()
    {
        var corefile = "# service.consul:53 { }\n(snippet) {\n    errors\n}\nimport /etc/coredns/custom/*.server\n.:53 {\n    import snippet\n}\n";

        Assert.Equal([".:53"], CorefilePatcher.ServerBlockKeys(corefile).Select(k => k.Key));
    }

    [Fact]
    public void Removing_leaves_other_clusters_blocks_alone()
    {
        var other = Block with { Owner = "other/consul", Zone = "service.other" };
        var both = CorefilePatcher.Apply(CorefilePatcher.Apply(Corefile("kubeadm"), Block).Text!, other).Text!;

        var removed = CorefilePatcher.Remove(both, Block).Text!;

        Assert.Equal(Corefile("kubeadm") + other.MarkedServerBlock, removed);
    }

    [Fact]
    public void The_aks_custom_key_holds_the_bare_block_under_a_server_key()
    {
        Assert.Equal("consul-operator-consul-consul.server", Block.CustomServerKey);
        Assert.StartsWith("service.consul:53 {", Block.ServerBlock, StringComparison.Ordinal);
        Assert.DoesNotContain("#", Block.ServerBlock, StringComparison.Ordinal);
    }

    private static string Corefile(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Desired", "Dns", "Corefiles", $"{name}.Corefile"));
}
