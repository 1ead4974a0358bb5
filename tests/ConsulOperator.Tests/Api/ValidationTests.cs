using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.Schema;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Api;

public class SchemaValidatorTests
{
    private static readonly JsonObject Schema = OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulCluster));

    [Fact]
    public void Every_problem_is_reported_at_once_each_with_its_path()
    {
        var document = JsonNode.Parse("""
            {
              "apiVersion": "consul.operator.dev/v1alpha1", "kind": "ConsulCluster", "metadata": {"name": "c"},
              "spec": {
                "servers": {"replicas": "three", "antiAffinity": "Sometimes"},
                "clients": {"replicas": -1},
                "datacenter": "DC_1",
                "tls": {"rotateBefore": "30 days"},
                "gossip": {"encrypted": true}
              }
            }
            """);

        var problems = SchemaValidator.Validate(Schema, document).Select(p => p.ToString()).ToList();

        Assert.Equal(6, problems.Count);
        Assert.Contains("spec.servers.replicas: must be an integer, got the string \"three\"", problems);
        Assert.Contains(problems, p => p.StartsWith("spec.servers.antiAffinity: unsupported value \"Sometimes\"; allowed: \"Required\", \"Preferred\", \"None\"", StringComparison.Ordinal));
        Assert.Contains("spec.clients.replicas: must be at least 0, got -1", problems);
        Assert.Contains(problems, p => p.StartsWith("spec.datacenter: \"DC_1\" does not match", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.tls.rotateBefore: \"30 days\" does not match", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.gossip.encrypted: unknown field; known fields: encryption", StringComparison.Ordinal));
    }

    [Fact]
    public void Free_form_extra_config_and_quantities_are_accepted()
    {
        var document = JsonNode.Parse("""
            {"spec": {"extraConfig": {"anything": {"goes": [1, 2]}}, "servers": {"resources": {"requests": {"cpu": "500m", "memory": 1073741824}}}}}
            """);

        Assert.Empty(SchemaValidator.Validate(Schema, document));
    }
}

public class ConsulClusterValidatorTests
{
    [Fact]
    public void The_defaults_and_the_sample_are_valid()
    {
        Assert.Empty(ConfigValidation.Validate(Clusters.Default()));
        Assert.Empty(ConfigValidation.Validate(Clusters.Sample()));
    }

    [Theory]
    [InlineData("even servers", "spec.servers.replicas", "is even")]
    [InlineData("too many servers", "spec.servers.replicas", "must be at most 7")]
    [InlineData("leaf outlives ca", "spec.tls.leafValidityDays", "cannot outlive its CA")]
    [InlineData("rotate window too long", "spec.tls.rotateBefore", "not shorter than")]
    [InlineData("auto encrypt without verify", "spec.tls.verifyIncoming", "autoEncrypt")]
    [InlineData("hostname without outgoing", "spec.tls.verifyOutgoing", "verifyServerHostname")]
    [InlineData("zone outside domain", "spec.dns.coreDns.zone", "outside the Consul domain")]
    [InlineData("patch without service", "spec.dns.coreDns.patch", "needs spec.dns.service.enabled")]
    [InlineData("old consul", "spec.version", "older than the oldest supported")]
    [InlineData("bad version", "spec.version", "does not match")]
    [InlineData("bad cluster ip", "spec.dns.service.clusterIP", "does not match")]
    public void Bad_specs_are_refused_with_the_field_and_the_reason(string change, string path, string message)
    {
        var cluster = Clusters.Default(change: spec => Changes[change](spec));

        var problems = ConfigValidation.Validate(cluster);

        Assert.Contains(problems, p => p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "is required")]
    [InlineData("Consul", "DNS-1035 label")]
    [InlineData("1consul", "DNS-1035 label")]
    [InlineData("a-name-that-is-far-too-long-for-the-objects-derived", "at most 45 characters")]
    public void The_name_must_make_valid_object_names(string name, string message)
    {
        var cluster = Clusters.Default(name: name);

        Assert.Contains(ConfigValidation.Validate(cluster), p => p.Path == "metadata.name" && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Joining_outside_servers_needs_their_keys_and_addresses_and_every_problem_is_named_at_once()
    {
        var cluster = Clusters.Default(change: s =>
        {
            s.Join = ["consul-vm-0.corp.example", "10.0.0.5:8301", "[fd00::5]:8301", "provider=aws tag_key=consul", "10.0.0.5:99999", "bad host", "[not-v6]", "consul-vm-0.corp.example"];
            s.Recovery = new RecoverySpec { Request = "r1", Servers = ["consul-server-0"] };
        });

        var problems = ConfigValidation.Validate(cluster).Select(p => $"{p.Path}: {p.Message}").ToList();

        Assert.Contains(problems, p => p.StartsWith("spec.join[3]: \"provider=aws tag_key=consul\" looks like a cloud auto-join setting", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.join[4]: \"10.0.0.5:99999\" has port \"99999\"; a port is 1 to 65535", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.join[5]: \"bad host\" is not an address", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.join[6]: \"[not-v6]\" is not an address", StringComparison.Ordinal));
        Assert.Contains("spec.join: \"consul-vm-0.corp.example\" is listed 2 times", problems);
        Assert.Contains(problems, p => p.StartsWith("spec.tls.caSecretRef: is required with spec.join", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.gossip.keySecretRef: is required with spec.join", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.acl.bootstrapTokenSecretRef: is required with spec.join", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.recovery: cannot be used with spec.join", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.StartsWith("spec.join[0]", StringComparison.Ordinal) || p.StartsWith("spec.join[1]", StringComparison.Ordinal) || p.StartsWith("spec.join[2]", StringComparison.Ordinal));
        Assert.Equal(9, problems.Count);
    }

    [Fact]
    public void Joining_with_the_datacenters_own_keys_is_valid()
    {
        var cluster = Clusters.Default(change: s =>
        {
            s.Join = ["consul-vm-0.corp.example", "10.0.0.5"];
            s.Tls.CaSecretRef = new() { Name = "corp-ca" };
            s.Gossip.KeySecretRef = new() { Name = "corp-gossip", Key = "key" };
            s.Acl.BootstrapTokenSecretRef = new() { Name = "corp-token", Key = "token" };
        });

        Assert.Empty(ConfigValidation.Validate(cluster));
    }

    private static readonly Dictionary<string, Action<ConsulClusterSpec>> Changes = new()
    {
        ["even servers"] = s => s.Servers.Replicas = 4,
        ["too many servers"] = s => s.Servers.Replicas = 9,
        ["leaf outlives ca"] = s => { s.Tls.CaValidityDays = 100; s.Tls.LeafValidityDays = 365; },
        ["rotate window too long"] = s => { s.Tls.LeafValidityDays = 20; s.Tls.RotateBefore = "720h"; },
        ["auto encrypt without verify"] = s => { s.Clients.AutoEncrypt = true; s.Tls.VerifyIncoming = false; },
        ["hostname without outgoing"] = s => s.Tls.VerifyOutgoing = false,
        ["zone outside domain"] = s => s.Dns.CoreDns.Zone = "service.example",
        ["patch without service"] = s => s.Dns.Service.Enabled = false,
        ["old consul"] = s => s.Version = "1.5.3",
        ["bad version"] = s => s.Version = "latest",
        ["bad cluster ip"] = s => s.Dns.Service.ClusterIP = "10.96.0.300",
    };
}

public class ConsulServiceValidatorTests
{
    [Fact]
    public void The_sample_is_valid() => Assert.Empty(ConsulServiceValidator.Validate(Clusters.SampleService()));

    [Theory]
    [InlineData("two kinds", "spec.checks[0]", "tcp and http are")]
    [InlineData("no kind", "spec.checks[0]", "none is")]
    [InlineData("no interval", "spec.checks[0].interval", "is required")]
    [InlineData("ttl with interval", "spec.checks[0].interval", "does not apply to a ttl check")]
    [InlineData("method on tcp", "spec.checks[0]", "apply only to an http check")]
    [InlineData("bad tcp", "spec.checks[0].tcp", "is not host:port")]
    [InlineData("bad url", "spec.checks[0].http", "is not an http:// or https:// URL")]
    [InlineData("timeout over interval", "spec.checks[0].timeout", "longer than the interval")]
    [InlineData("bad tag", "spec.tags[1]", "must be a DNS label")]
    [InlineData("bad address", "spec.address", "neither an IP address nor a DNS name")]
    [InlineData("bad port", "spec.port", "must be at least 1")]
    [InlineData("address and serviceRef", "spec", "exactly one of address and serviceRef")]
    [InlineData("neither", "spec", "exactly one of address and serviceRef")]
    [InlineData("address without port", "spec.port", "is required with spec.address")]
    [InlineData("serviceRef with checks", "spec.checks", "endpoints' readiness")]
    [InlineData("serviceRef with port", "spec.port", "does not apply with spec.serviceRef")]
    [InlineData("serviceRef with a bad port", "spec.serviceRef.port", "does not match")]
    public void Bad_services_are_refused_with_the_field_and_the_reason(string change, string path, string message)
    {
        var service = new V1Alpha1ConsulService
        {
            Metadata = new V1ObjectMeta { Name = "r-3306-mysql", NamespaceProperty = "consul" },
            Spec = new ConsulServiceSpec
            {
                ClusterRef = new ClusterReference { Name = "consul" },
                Address = "172.16.0.2",
                Port = 3306,
                Tags = ["slave-3306"],
                Checks = [new ServiceCheck { Tcp = "172.16.0.2:3306", Interval = "10s", Timeout = "2s" }],
            },
        };
        Changes[change](service.Spec);

        var problems = ConsulServiceValidator.Validate(service);

        Assert.Contains(problems, p => p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
    }

    private static readonly Dictionary<string, Action<ConsulServiceSpec>> Changes = new()
    {
        ["two kinds"] = s => s.Checks![0].Http = "http://172.16.0.2/health",
        ["no kind"] = s => s.Checks![0].Tcp = null,
        ["no interval"] = s => { s.Checks![0].Interval = null; s.Checks[0].Timeout = null; },
        ["ttl with interval"] = s => { s.Checks![0].Tcp = null; s.Checks[0].Ttl = "30s"; },
        ["method on tcp"] = s => s.Checks![0].Method = HttpCheckMethod.GET,
        ["bad tcp"] = s => s.Checks![0].Tcp = "172.16.0.2",
        ["bad url"] = s => { s.Checks![0].Tcp = null; s.Checks[0].Http = "ftp://x"; },
        ["timeout over interval"] = s => s.Checks![0].Timeout = "1m",
        ["bad tag"] = s => s.Tags = ["ok", "not ok"],
        ["bad address"] = s => s.Address = "not an address",
        ["bad port"] = s => s.Port = 0,
        ["address and serviceRef"] = s => s.ServiceRef = new ServiceReference { Name = "web", Port = "http" },
        ["neither"] = s => { s.Address = null; s.Port = null; },
        ["address without port"] = s => s.Port = null,
        ["serviceRef with checks"] = s => { s.Address = null; s.Port = null; s.ServiceRef = new ServiceReference { Name = "web", Port = "http" }; },
        ["serviceRef with port"] = s => { s.Address = null; s.Checks = null; s.ServiceRef = new ServiceReference { Name = "web", Port = "http" }; },
        ["serviceRef with a bad port"] = s => { s.Address = null; s.Port = null; s.Checks = null; s.ServiceRef = new ServiceReference { Name = "web", Port = "Not A Port" }; },
    };
}

public class GoDurationTests
{
    [Theory]
    [InlineData("720h", 720 * 3600.0)]
    [InlineData("1h30m", 5400.0)]
    [InlineData("1.5s", 1.5)]
    [InlineData("500ms", 0.5)]
    public void Parses_go_durations(string text, double seconds)
    {
        Assert.True(GoDuration.TryParse(text, out var duration));
        Assert.Equal(seconds, duration.TotalSeconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("30 days")]
    [InlineData("1d")]
    public void Refuses_anything_else(string text) => Assert.False(GoDuration.TryParse(text, out _));
}
