using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public class AgentConfigTests
{
    public static TheoryData<string, string> VersionsAndVariants()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in new[] { "1.6.1", "1.10.12", "1.11.0", "1.12.0", "1.14.3", "1.16.1", "1.21.2" })
        {
            foreach (var variant in Variants.Keys)
            {
                data.Add(version, variant);
            }
        }

        return data;
    }

    private static readonly Dictionary<string, Action<ConsulClusterSpec>> Variants = new()
    {
        ["defaults"] = _ => { },
        ["auto-encrypt"] = s => s.Clients.AutoEncrypt = true,
        ["no-acl-no-gossip-no-ui"] = s => { s.Acl.Enabled = false; s.Gossip.Encryption = false; s.Ui.Enabled = false; },
        ["acl-allow-async"] = s => { s.Acl.DefaultPolicy = AclPolicy.Allow; s.Acl.DownPolicy = AclDownPolicy.AsyncCache; },
        ["https-without-client-certs"] = s => s.Tls.HttpsVerifyIncoming = false,
        ["joining-outside-servers"] = s => s.Join = ["consul-vm-0.corp.example", "192.168.10.11:8301"],
    };

    [Theory]
    [MemberData(nameof(VersionsAndVariants))]
    public void Every_key_we_write_is_a_current_key_of_that_consul_version(string version, string variant)
    {
        var cluster = Cluster(version, Variants[variant]);
        var legacy = !ConsulVersion.Parse(version).UsesTlsStanza;
        var names = new Names("consul", "consul", "cluster.local");

        foreach (var (file, config) in new[]
                 {
                     ("server", AgentConfig.Server(cluster.Spec, names, 3)),
                     ("client", AgentConfig.Client(cluster.Spec, names)),
                     ("pod", AgentConfig.PodConfigTemplate(ConsulVersion.Parse(version), ownCertificate: true, gossipEncryption: true)),
                 })
        {
            Assert.True(ReferenceConfigKeys.InvalidPaths(config, legacy) is { Count: 0 } invalid, $"{file} config for {version}: not current keys: {string.Join(", ", ReferenceConfigKeys.InvalidPaths(config, legacy))}");
        }
    }

    [Fact]
    public void From_1_12_on_tls_lives_in_the_tls_stanza_and_no_deprecated_top_level_key_is_written()
    {
        var config = AgentConfig.Server(Cluster("1.16.1").Spec, Names(), 3);

        Assert.Equal("/consul/tls/ca.crt", (string?)config["tls"]!["defaults"]!["ca_file"]);
        Assert.True((bool)config["tls"]!["defaults"]!["verify_incoming"]!);
        Assert.True((bool)config["tls"]!["defaults"]!["verify_outgoing"]!);
        Assert.True((bool)config["tls"]!["internal_rpc"]!["verify_server_hostname"]!);
        Assert.True((bool)config["tls"]!["https"]!["verify_incoming"]!);
        var deprecated = Reference.Json("consul-config-keys.json")["deprecated"]!.AsObject().Select(p => p.Key).ToHashSet();
        Assert.DoesNotContain(ReferenceConfigKeys.Paths(config, ""), deprecated.Contains);
    }

    [Fact]
    public void Before_1_12_tls_uses_the_top_level_keys_consul_1_6_knows()
    {
        var config = AgentConfig.Server(Cluster("1.6.1").Spec, Names(), 3);

        Assert.Null(config["tls"]);
        Assert.Equal("/consul/tls/ca.crt", (string?)config["ca_file"]);
        Assert.True((bool)config["verify_incoming_rpc"]!);
        Assert.True((bool)config["verify_outgoing"]!);
        Assert.True((bool)config["verify_server_hostname"]!);
        Assert.True((bool)config["ui"]!);
    }

    [Fact]
    public void Servers_get_the_pinned_bootstrap_expect_not_the_replica_count()
    {
        var cluster = Cluster("1.16.1", s => s.Servers.Replicas = 5);

        var config = AgentConfig.Server(cluster.Spec, Names(), bootstrapExpect: 3);

        Assert.Equal(3, (int)config["bootstrap_expect"]!);
        Assert.True((bool)config["server"]!);
        Assert.Equal("consul-server.consul.svc.cluster.local", (string?)config["retry_join"]![0]);
        Assert.Equal(-1, (int)config["ports"]!["http"]!);
        Assert.Equal(8501, (int)config["ports"]!["https"]!);
        Assert.Equal(8600, (int)config["ports"]!["dns"]!);
        Assert.Equal(8503, (int)config["ports"]!["grpc_tls"]!);
    }

    [Fact]
    public void Servers_joining_outside_servers_list_them_after_the_service_and_never_bootstrap_by_themselves()
    {
        var cluster = Cluster("1.16.1", s => s.Join = ["consul-vm-0.corp.example", "[fd00::11]:8301"]);

        var server = AgentConfig.Server(cluster.Spec, Names(), bootstrapExpect: 3);
        var client = AgentConfig.Client(cluster.Spec, Names());

        Assert.Null(server["bootstrap_expect"]);
        string[] joins = ["consul-server.consul.svc.cluster.local", "consul-vm-0.corp.example", "[fd00::11]:8301"];
        Assert.Equal(joins, server["retry_join"]!.AsArray().Select(a => (string?)a));
        Assert.Equal(joins, client["retry_join"]!.AsArray().Select(a => (string?)a));
    }

    [Theory]
    [InlineData("1.16.1", 3, 2)]
    [InlineData("1.16.1", 5, 3)]
    [InlineData("1.22.0", 1, 1)]
    public void Autopilot_never_prunes_raft_below_a_quorum_of_the_bootstrap_servers(string version, int bootstrapExpect, int minQuorum)
    {
        var config = AgentConfig.Server(Cluster(version, s => s.Servers.Replicas = 7).Spec, Names(), bootstrapExpect);

        Assert.True((bool)config["autopilot"]!["cleanup_dead_servers"]!);
        Assert.Equal(minQuorum, (int)config["autopilot"]!["min_quorum"]!);
    }

    [Theory]
    [InlineData("1.6.1")]
    [InlineData("1.10.12")]
    public void Versions_whose_key_list_lacks_min_quorum_do_not_get_it(string version)
    {
        var config = AgentConfig.Server(Cluster(version).Spec, Names(), bootstrapExpect: 3);

        Assert.Null(config["autopilot"]!["min_quorum"]);
        Assert.DoesNotContain("autopilot.min_quorum", Reference.Json("consul-1.6-config-keys.json")["keys"]!.AsArray().Select(k => (string?)k));
    }

    [Fact]
    public void Acls_default_to_deny()
    {
        var config = AgentConfig.Client(Cluster("1.16.1").Spec, Names());

        Assert.True((bool)config["acl"]!["enabled"]!);
        Assert.Equal("deny", (string?)config["acl"]!["default_policy"]);
    }

    [Fact]
    public void Auto_encrypt_is_allowed_on_servers_and_used_on_clients_which_then_verify_no_incoming_certificates()
    {
        var spec = Cluster("1.16.1", s => s.Clients.AutoEncrypt = true).Spec;

        var server = AgentConfig.Server(spec, Names(), 3);
        var client = AgentConfig.Client(spec, Names());

        Assert.True((bool)server["auto_encrypt"]!["allow_tls"]!);
        Assert.True((bool)client["auto_encrypt"]!["tls"]!);
        Assert.False((bool)client["tls"]!["defaults"]!["verify_incoming"]!);
        Assert.Null(client["auto_encrypt"]!["allow_tls"]);
    }

    [Fact]
    public void Without_auto_encrypt_no_auto_encrypt_key_is_written()
    {
        var spec = Cluster("1.16.1").Spec;

        Assert.Null(AgentConfig.Server(spec, Names(), 3)["auto_encrypt"]);
        Assert.Null(AgentConfig.Client(spec, Names())["auto_encrypt"]);
    }

    [Fact]
    public void No_configmap_holds_key_material_or_the_gossip_key()
    {
        var cluster = Clusters.Sample();
        var material = Clusters.KeyMaterialFor(cluster);
        var configMaps = Clusters.Build(cluster, material).OfType<V1ConfigMap>().ToList();

        Assert.NotEmpty(configMaps);
        foreach (var text in configMaps.SelectMany(c => c.Data.Values))
        {
            Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
            Assert.DoesNotContain(material.GossipKey!, text, StringComparison.Ordinal);
            Assert.DoesNotContain("\"encrypt\"", text, StringComparison.Ordinal);
            Assert.DoesNotContain("\"tokens\"", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_pod_file_picks_the_pods_own_certificate_and_the_gossip_key_from_the_environment()
    {
        var modern = AgentConfig.PodConfigTemplate(ConsulVersion.Parse("1.16.1"), ownCertificate: true, gossipEncryption: true);
        var legacy = AgentConfig.PodConfigTemplate(ConsulVersion.Parse("1.6.1"), ownCertificate: true, gossipEncryption: false);

        Assert.Equal("/consul/tls/${POD_NAME}.crt", (string?)modern["tls"]!["defaults"]!["cert_file"]);
        Assert.Equal("${GOSSIP_KEY}", (string?)modern["encrypt"]);
        Assert.Equal("/consul/tls/${POD_NAME}.key", (string?)legacy["key_file"]);
        Assert.Null(legacy["encrypt"]);
    }

    [Fact]
    public void Extra_config_is_merged_into_both_agents()
    {
        var spec = Cluster("1.16.1", s => s.ExtraConfig = new JsonObject
        {
            ["log_level"] = "DEBUG",
            ["telemetry"] = new JsonObject { ["prometheus_retention_time"] = "60s" },
            ["acl"] = new JsonObject { ["token_ttl"] = "30s" },
        }).Spec;

        var server = AgentConfig.Server(spec, Names(), 3);

        Assert.Equal("DEBUG", (string?)server["log_level"]);
        Assert.Equal("60s", (string?)server["telemetry"]!["prometheus_retention_time"]);
        Assert.Equal("30s", (string?)server["acl"]!["token_ttl"]);
        Assert.Equal("deny", (string?)server["acl"]!["default_policy"]);
        Assert.Equal("DEBUG", (string?)AgentConfig.Client(spec, Names())["log_level"]);
    }

    private static Names Names() => new("consul", "consul", "cluster.local");

    private static V1Alpha1ConsulCluster Cluster(string version, Action<ConsulClusterSpec>? change = null) =>
        Clusters.Default(change: spec =>
        {
            spec.Version = version;
            change?.Invoke(spec);
        });
}
