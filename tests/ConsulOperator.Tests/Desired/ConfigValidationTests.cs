using System.Text.Json.Nodes;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Desired;

public class ConfigValidationTests
{
    [Fact]
    public void The_embedded_key_lists_are_the_reference_files_unchanged()
    {
        foreach (var file in new[] { "consul-config-keys.json", "consul-1.6-config-keys.json" })
        {
            var embedded = File.ReadAllText(Repository.PathOf($"src/ConsulOperator/Desired/ConfigKeys/{file}"));
            Assert.Equal(Reference.Text(file), embedded);
        }
    }

    [Fact]
    public void A_recovery_names_server_pods_of_this_cluster_each_once_and_every_problem_is_reported()
    {
        var cluster = Clusters.Default(change: s => s.Recovery = new ConsulOperator.Api.V1Alpha1.RecoverySpec
        {
            Request = " ",
            Servers = ["consul-server-0", "consul-server-3", "consul-client-0", "consul-server-0"],
            MinOutage = "soon",
        });

        var problems = ConfigValidation.Validate(cluster).Select(p => $"{p.Path}: {p.Message}").ToList();

        Assert.Contains("spec.recovery.request: is empty; set any new value (a date, a ticket number) to ask for a recovery", problems);
        Assert.Contains("spec.recovery.servers: \"consul-server-3\" is not a server pod of this cluster; allowed: consul-server-0, consul-server-1, consul-server-2", problems);
        Assert.Contains("spec.recovery.servers: \"consul-client-0\" is not a server pod of this cluster; allowed: consul-server-0, consul-server-1, consul-server-2", problems);
        Assert.Contains("spec.recovery.servers: lists \"consul-server-0\" 2 times; each server once", problems);
        Assert.Contains(problems, p => p.StartsWith("spec.recovery.minOutage: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Valid_extra_config_passes_including_free_map_keys()
    {
        var problems = Validate("1.16.1", new JsonObject
        {
            ["log_level"] = "INFO",
            ["node_meta"] = new JsonObject { ["rack"] = "r1" },
            ["telemetry"] = new JsonObject { ["statsd_address"] = "statsd.monitoring:8125" },
            ["limits"] = new JsonObject { ["http_max_conns_per_client"] = 400 },
        });

        Assert.Empty(problems);
    }

    [Fact]
    public void Unknown_keys_are_refused_with_their_path()
    {
        var problems = Validate("1.16.1", new JsonObject { ["telemetry"] = new JsonObject { ["no_such_key"] = 1 } });

        var problem = Assert.Single(problems);
        Assert.Equal("spec.extraConfig.telemetry.no_such_key", problem.Path);
        Assert.Contains("not a Consul current configuration key", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_newer_than_the_version_are_refused()
    {
        var problems = Validate("1.6.1", new JsonObject { ["ui_config"] = new JsonObject { ["enabled"] = true, ["content_path"] = "/ui" } });

        Assert.Contains(problems, p => p.Path == "spec.extraConfig.ui_config");
    }

    [Fact]
    public void Deprecated_keys_are_refused_on_new_versions_with_the_replacement()
    {
        var problems = Validate("1.16.1", new JsonObject { ["acl_ttl"] = "30s" });

        var problem = Assert.Single(problems);
        Assert.Contains("use acl.token_ttl", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_the_operator_manages_are_refused_with_the_spec_field_to_use()
    {
        var problems = Validate("1.16.1", new JsonObject
        {
            ["encrypt"] = "c2VjcmV0",
            ["bootstrap_expect"] = 5,
            ["acl"] = new JsonObject { ["tokens"] = new JsonObject { ["agent"] = "x" } },
        });

        Assert.Contains(problems, p => p.Path == "spec.extraConfig.encrypt" && p.Message.Contains("spec.gossip", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "spec.extraConfig.bootstrap_expect");
        Assert.Contains(problems, p => p.Path == "spec.extraConfig.acl.tokens");
    }

    [Fact]
    public void Enterprise_and_internal_keys_are_refused()
    {
        var problems = Validate("1.16.1", new JsonObject { ["audit"] = new JsonObject { ["enabled"] = true }, ["build_date"] = "x" });

        Assert.Contains(problems, p => p.Path == "spec.extraConfig.audit" && p.Message.Contains("Enterprise", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "spec.extraConfig.build_date" && p.Message.Contains("not user-configurable", StringComparison.Ordinal));
    }

    private static IReadOnlyList<ConsulOperator.Api.ValidationProblem> Validate(string version, JsonObject extra) =>
        ConfigValidation.Validate(Clusters.Default(change: s =>
        {
            s.Version = version;
            s.ExtraConfig = extra;
        }));
}
