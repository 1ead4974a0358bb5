using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public class ExternalAgentsTests
{
    private const string Token = "8f1c5a3e-6d2b-4e9a-9b7c-2a4f6e8d0c11";
    private static readonly string[] Join = ["10.0.0.10", "10.0.0.11", "[fd00::12]:8311"];

    public static TheoryData<string> Versions => ["1.6.1", "1.10.12", "1.12.0", "1.16.1", "1.22.0"];

    [Theory]
    [MemberData(nameof(Versions))]
    public void The_bundles_config_json_uses_only_keys_of_its_version(string version)
    {
        var cluster = Cluster(version);
        var config = Config(cluster, Agent(a => a.Spec.Services![0].Checks!.Add(new ServiceCheck { Http = "https://127.0.0.1:8443/health", Interval = "10s", Headers = new() { ["X-Probe"] = ["consul"] }, TlsSkipVerify = true })));
        var legacy = !ConsulVersion.Parse(version).UsesTlsStanza;

        Assert.True(ReferenceConfigKeys.InvalidPaths(config, legacy) is { Count: 0 }, $"not keys of {version}: {string.Join(", ", ReferenceConfigKeys.InvalidPaths(config, legacy))}");
    }

    [Fact]
    public void The_config_joins_the_servers_with_its_own_certificate_token_and_key_and_listens_on_loopback()
    {
        var config = Config(Cluster("1.16.1"), Agent());

        Assert.Equal("db-1", (string?)config["node_name"]);
        Assert.Equal("192.168.20.5", (string?)config["advertise_addr"]);
        Assert.Equal(Join, config["retry_join"]!.AsArray().Select(a => (string?)a));
        Assert.False((bool)config["server"]!);
        Assert.Null(config["bootstrap_expect"]);
        Assert.Equal("127.0.0.1", (string?)config["client_addr"]);
        Assert.Equal("/opt/consul", (string?)config["data_dir"]);
        Assert.Equal("/etc/consul.d/ca.crt", (string?)config["tls"]!["defaults"]!["ca_file"]);
        Assert.Equal("/etc/consul.d/agent.crt", (string?)config["tls"]!["defaults"]!["cert_file"]);
        Assert.Equal("/etc/consul.d/agent.key", (string?)config["tls"]!["defaults"]!["key_file"]);
        Assert.True((bool)config["tls"]!["defaults"]!["verify_incoming"]!);
        Assert.True((bool)config["tls"]!["internal_rpc"]!["verify_server_hostname"]!);
        Assert.Equal("c2VjcmV0LWdvc3NpcC1rZXktMzI=", (string?)config["encrypt"]);
        Assert.Equal(Token, (string?)config["acl"]!["tokens"]!["agent"]);
        Assert.Equal("deny", (string?)config["acl"]!["default_policy"]);
        var service = config["services"]![0]!;
        Assert.Equal(("postgres", 5432, Token), ((string?)service["name"], (int)service["port"]!, (string?)service["token"]));
        Assert.Equal("127.0.0.1:5432", (string?)service["checks"]![0]!["tcp"]);
        Assert.Equal("consul/db-1", (string?)service["meta"]![ServiceRegistration.SourceMeta]);
    }

    [Fact]
    public void Before_1_12_the_certificate_goes_in_the_top_level_keys_and_without_acls_or_encryption_neither_token_nor_key_is_written()
    {
        var cluster = Cluster("1.10.12", s => { s.Acl.Enabled = false; s.Gossip.Encryption = false; });
        var config = AgentConfig.External(cluster.Spec, new ExternalAgentConfig("db-1", null, Join, null, null, [], "/etc/consul.d", "/opt/consul", "ca.crt", "agent.crt", "agent.key"));

        Assert.Equal("/etc/consul.d/agent.crt", (string?)config["cert_file"]);
        Assert.Equal("/etc/consul.d/ca.crt", (string?)config["ca_file"]);
        Assert.True((bool)config["verify_incoming_rpc"]!);
        Assert.Null(config["encrypt"]);
        Assert.Null(config["acl"]);
        Assert.Null(config["advertise_addr"]);
        Assert.Null(config["services"]);
    }

    [Fact]
    public void Every_file_the_config_the_unit_and_the_cli_environment_name_is_in_the_bundle()
    {
        var files = Files(Cluster("1.16.1"), Agent());
        var named = new List<string>();
        var config = JsonNode.Parse(files[ExternalAgents.ConfigFile])!;
        named.AddRange(new[] { config["tls"]!["defaults"]!["ca_file"], config["tls"]!["defaults"]!["cert_file"], config["tls"]!["defaults"]!["key_file"] }.Select(n => (string)n!));
        named.AddRange(Regex.Matches(files[ExternalAgents.EnvironmentFile], "=(/\\S+)").Select(m => m.Groups[1].Value));

        Assert.Equal(["agent.crt", "agent.key", "ca.crt", "config.json", "consul.env", "consul.service"], files.Keys);
        Assert.All(named, path => Assert.Contains(path["/etc/consul.d/".Length..], files.Keys));
        Assert.Contains("CONSUL_HTTP_ADDR=https://127.0.0.1:8501", files[ExternalAgents.EnvironmentFile], StringComparison.Ordinal);
        Assert.Matches("(?m)^ExecStart=/usr/bin/consul agent -config-dir=/etc/consul.d$", files[ExternalAgents.UnitFile]);
        Assert.Matches("(?m)^Type=notify$", files[ExternalAgents.UnitFile]);
    }

    [Fact]
    public void The_bundle_secret_is_owned_by_the_agent_and_its_hash_follows_its_files()
    {
        var cluster = Cluster("1.16.1");
        var agent = Agent();
        var files = Files(cluster, agent);
        var secret = ExternalAgents.Bundle(agent, cluster, files);

        Assert.Equal("db-1", secret.Metadata.Name);
        Assert.Equal("consul", secret.Metadata.NamespaceProperty);
        Assert.True(ExternalAgents.IsOwnedBy(secret, agent));
        Assert.Equal(files, ExternalAgents.Read(secret));
        Assert.Equal(ExternalAgents.Hash(files), secret.Metadata.Annotations[ExternalAgents.BundleHashAnnotation]);
        var changed = new SortedDictionary<string, string>(files, StringComparer.Ordinal) { [ExternalAgents.ConfigFile] = files[ExternalAgents.ConfigFile] + " " };
        Assert.NotEqual(ExternalAgents.Hash(files), ExternalAgents.Hash(changed));
    }

    [Theory]
    [InlineData("1.6.1", false)]
    [InlineData("1.8.0", false)]
    [InlineData("1.8.1", true)]
    [InlineData("1.16.1", true)]
    public void The_token_is_the_nodes_identity_or_before_1_8_1_a_policy_granting_the_same(string servers, bool identity)
    {
        var cluster = Cluster("1.16.1");
        var agent = Agent();
        var token = ExternalAgents.Token(agent, cluster, ConsulVersion.Parse(servers));
        var policy = ExternalAgents.NodePolicy(agent, cluster, ConsulVersion.Parse(servers));

        Assert.Equal("db-1-agent-token", token.Metadata.Name);
        Assert.Equal("db-1-agent-token", token.Spec.SecretName);
        Assert.Equal(["postgres"], token.Spec.ServiceIdentities!.Select(s => s.ServiceName));
        Assert.Equal(V1Alpha1ConsulExternalAgent.KindName, Assert.Single(token.Metadata.OwnerReferences).Kind);
        if (identity)
        {
            Assert.Null(policy);
            Assert.Equal(("db-1", "dc1"), (token.Spec.NodeIdentities![0].NodeName, token.Spec.NodeIdentities[0].Datacenter));
            Assert.Null(token.Spec.Policies);
        }
        else
        {
            Assert.NotNull(policy);
            Assert.Null(token.Spec.NodeIdentities);
            Assert.Equal("db-1-node", token.Spec.Policies![0].ConsulACLPolicy);
            Assert.Equal("node \"db-1\" { policy = \"write\" }\nservice_prefix \"\" { policy = \"read\" }", policy.Spec.Rules);
            Assert.Empty(ConsulAclValidator.Validate(policy, ConsulVersion.Parse(servers)));
        }

        Assert.Empty(ConsulAclValidator.Validate(token, ConsulVersion.Parse(servers)));
    }

    [Fact]
    public void The_certificate_is_a_client_agents_with_the_machines_names_and_addresses_and_loopback()
    {
        var request = ExternalAgents.Certificate(Agent(a => a.Spec.Addresses = ["192.168.20.5", "db-1.node.consul", "fd00::5"]), Cluster("1.16.1").Spec);

        Assert.Equal(CertificateRole.Client, request.Role);
        Assert.Equal("client.dc1.consul", request.CommonName);
        Assert.Equal(["db-1.node.consul", "client.dc1.consul", "localhost"], request.DnsNames);
        Assert.Equal([IPAddress.Parse("192.168.20.5"), IPAddress.Parse("fd00::5"), IPAddress.Loopback], request.IpAddresses);
    }

    [Fact]
    public void The_bundles_certificate_verifies_against_its_ca_with_openssl_for_both_tls_roles()
    {
        var cluster = Cluster("1.16.1");
        using var openssl = new OpenSsl();
        var files = Files(cluster, Agent());
        openssl.Write("ca.crt", files[ExternalAgents.CaFile]);
        openssl.Write("agent.crt", files[ExternalAgents.CertificateFile]);

        foreach (var purpose in new[] { "sslclient", "sslserver" })
        {
            var (exitCode, output) = openssl.Run("verify", "-CAfile", "ca.crt", "-purpose", purpose, "agent.crt");
            Assert.True(exitCode == 0, output);
        }

        var (_, text) = openssl.Run("x509", "-in", "agent.crt", "-noout", "-ext", "subjectAltName");
        Assert.Contains("IP Address:192.168.20.5", text, StringComparison.Ordinal);
        Assert.Contains("DNS:client.dc1.consul", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pods_node_name_and_a_name_outside_the_cas_constraints_are_refused_with_the_field()
    {
        var cluster = Cluster("1.16.1");
        var ca = Clusters.KeyMaterialFor(cluster).Ca;
        var agent = Agent(a => { a.Spec.NodeName = "consul-client-1"; a.Spec.Addresses = ["192.168.20.5", "db-1.corp.example", "db-1.node.consul"]; });

        var problems = ExternalAgents.Problems(agent, KeyMaterialSecrets.NamesOf(cluster), ca).Select(p => p.ToString()).ToList();

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("spec.nodeName: \"consul-client-1\" is the node name of the cluster's pod consul-client-1", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("spec.addresses[1]: \"db-1.corp.example\" is outside the CA's name constraints (consul, localhost, consul.svc, consul.svc.cluster.local)", problems[1], StringComparison.Ordinal);
        Assert.Empty(ExternalAgents.Problems(Agent(a => a.Spec.Addresses = ["db-1.corp.example"]), KeyMaterialSecrets.NamesOf(cluster), ca: null));
    }

    [Fact]
    public void The_validator_reports_every_problem_at_once()
    {
        var agent = Agent(a =>
        {
            a.Metadata.Name = "db.1";
            a.Spec.Addresses = ["192.168.20.5", "not an address", "192.168.20.5"];
            a.Spec.Services!.Add(new ExternalAgentService { Name = "postgres", Port = 5433, Tags = ["bad tag"] });
            a.Spec.Services[0].Checks!.Add(new ServiceCheck { Tcp = "127.0.0.1:5432" });
        });

        var problems = ConsulExternalAgentValidator.Validate(agent).Select(p => p.Path).ToList();

        Assert.Contains("spec.nodeName", problems);
        Assert.Contains("spec.addresses[1]", problems);
        Assert.Contains("spec.addresses[2]", problems);
        Assert.Contains("spec.services[1].name", problems);
        Assert.Contains("spec.services[1].tags[0]", problems);
        Assert.Contains("spec.services[0].checks[1].interval", problems);
        Assert.Empty(ConsulExternalAgentValidator.Validate(Agent()));
    }

    private static V1Alpha1ConsulCluster Cluster(string version, Action<ConsulClusterSpec>? change = null) =>
        Clusters.Default(change: s => { s.Version = version; change?.Invoke(s); });

    private static V1Alpha1ConsulExternalAgent Agent(Action<V1Alpha1ConsulExternalAgent>? change = null)
    {
        var agent = new V1Alpha1ConsulExternalAgent
        {
            Metadata = new V1ObjectMeta { Name = "db-1", NamespaceProperty = "consul", Uid = "0e6f3d2a-0000-4000-8000-00000000db01" },
            Spec = new ConsulExternalAgentSpec
            {
                ClusterRef = new ClusterReference { Name = "consul" },
                Addresses = ["192.168.20.5"],
                Services = [new ExternalAgentService { Name = "postgres", Port = 5432, Meta = new() { ["role"] = "primary" }, Checks = [new ServiceCheck { Tcp = "127.0.0.1:5432", Interval = "10s" }] }],
            },
        };
        change?.Invoke(agent);
        return agent;
    }

    private static SortedDictionary<string, string> Files(V1Alpha1ConsulCluster cluster, V1Alpha1ConsulExternalAgent agent)
    {
        var ca = Clusters.KeyMaterialFor(cluster).Ca;
        var leaf = ca.Issue(ExternalAgents.Certificate(agent, cluster.Spec), 30, TimeProvider.System);
        return ExternalAgents.Files(agent, cluster, new(ca.CertificatePem, leaf, "c2VjcmV0LWdvc3NpcC1rZXktMzI=", Token, Join));
    }

    private static JsonObject Config(V1Alpha1ConsulCluster cluster, V1Alpha1ConsulExternalAgent agent) =>
        JsonNode.Parse(Files(cluster, agent)[ExternalAgents.ConfigFile])!.AsObject();
}
