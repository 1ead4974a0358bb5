using System.Text.Json.Nodes;
using ConsulOperator.Api.Schema;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Tests.Api;

public class OpenApiSchemaGeneratorTests
{
    private static readonly JsonObject Cluster = OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulCluster));
    private static readonly JsonObject Service = OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulService));

    [Fact]
    public void Every_node_is_structural_it_has_a_type_or_says_why_not()
    {
        foreach (var schema in new[] { Cluster, Service })
        {
            foreach (var (path, node) in Nodes(schema, "openAPIV3Schema"))
            {
                Assert.True(
                    node["type"] is not null || node["x-kubernetes-int-or-string"] is not null,
                    $"{path} has no type");

                // An object without fields would prune everything a user writes into it; only metadata, which the API server owns, may be bare.
                if ((string?)node["type"] == "object" && path != "openAPIV3Schema.metadata")
                {
                    Assert.True(
                        node["properties"] is not null || node["additionalProperties"] is not null || node["x-kubernetes-preserve-unknown-fields"] is not null,
                        $"{path} is an object with no fields");
                }
            }
        }
    }

    [Fact]
    public void Spec_fields_are_described_from_the_xml_docs()
    {
        var replicas = Spec(Cluster)["servers"]!["properties"]!["replicas"]!;

        Assert.StartsWith("Number of servers: odd, 1 to 7.", (string?)replicas["description"], StringComparison.Ordinal);
        Assert.All(Spec(Cluster), p => Assert.False(string.IsNullOrEmpty((string?)p.Value!["description"]), $"spec.{p.Key} has no description"));
    }

    [Fact]
    public void Defaults_and_limits_come_from_the_types()
    {
        var servers = Spec(Cluster)["servers"]!;
        var replicas = servers["properties"]!["replicas"]!;

        Assert.Equal(3, (int)replicas["default"]!);
        Assert.Equal(1L, (long)replicas["minimum"]!);
        Assert.Equal(7L, (long)replicas["maximum"]!);
        Assert.Equal(new JsonObject(), servers["default"]);
        Assert.Equal("dc1", (string?)Spec(Cluster)["datacenter"]!["default"]);
        Assert.Equal("Required", (string?)servers["properties"]!["antiAffinity"]!["default"]);
    }

    [Fact]
    public void Enums_use_the_consul_spelling()
    {
        var acl = Spec(Cluster)["acl"]!["properties"]!;

        Assert.Equal(["allow", "deny"], acl["defaultPolicy"]!["enum"]!.AsArray().Select(v => (string)v!));
        Assert.Equal("deny", (string?)acl["defaultPolicy"]!["default"]);
        Assert.Equal(["allow", "deny", "extend-cache", "async-cache"], acl["downPolicy"]!["enum"]!.AsArray().Select(v => (string)v!));
    }

    [Fact]
    public void Cel_rules_guard_what_the_schema_cannot_express()
    {
        Assert.Equal("self % 2 == 1", (string?)Spec(Cluster)["servers"]!["properties"]!["replicas"]!["x-kubernetes-validations"]![0]!["rule"]);
        Assert.Equal("self == oldSelf", (string?)Spec(Cluster)["datacenter"]!["x-kubernetes-validations"]![0]!["rule"]);
        Assert.Equal("self == oldSelf", (string?)Spec(Cluster)["domain"]!["x-kubernetes-validations"]![0]!["rule"]);
        var check = Spec(Service)["checks"]!["items"]!;
        Assert.Equal(2, check["x-kubernetes-validations"]!.AsArray().Count);
    }

    [Fact]
    public void Extra_config_keeps_unknown_fields_and_required_fields_have_no_default()
    {
        Assert.True((bool)Spec(Cluster)["extraConfig"]!["x-kubernetes-preserve-unknown-fields"]!);
        Assert.Null(Spec(Service)["port"]!["default"]);
        Assert.Equal(["clusterRef"], Service["properties"]!["spec"]!["required"]!.AsArray().Select(v => (string)v!));

        // Address and port or a serviceRef: the choice is a rule on the spec, not two required fields.
        Assert.Contains("has(self.address) != has(self.serviceRef)", Service["properties"]!["spec"]!["x-kubernetes-validations"]!.AsArray().Select(r => (string?)r!["rule"]));
    }

    [Fact]
    public void Kubernetes_types_are_described_down_to_their_leaves()
    {
        var tolerations = Spec(Cluster)["servers"]!["properties"]!["tolerations"]!;
        var requests = Spec(Cluster)["servers"]!["properties"]!["resources"]!["properties"]!["requests"]!;

        Assert.Equal("string", (string?)tolerations["items"]!["properties"]!["operator"]!["type"]);
        Assert.True((bool)requests["additionalProperties"]!["x-kubernetes-int-or-string"]!);
    }

    private static JsonObject Spec(JsonObject resource) => resource["properties"]!["spec"]!["properties"]!.AsObject();

    private static IEnumerable<(string Path, JsonObject Node)> Nodes(JsonObject node, string path)
    {
        yield return (path, node);
        foreach (var (name, child) in node["properties"] as JsonObject ?? [])
        {
            foreach (var nested in Nodes(child!.AsObject(), $"{path}.{name}"))
            {
                yield return nested;
            }
        }

        foreach (var key in new[] { "items", "additionalProperties" })
        {
            if (node[key] is JsonObject child)
            {
                foreach (var nested in Nodes(child, $"{path}[{key}]"))
                {
                    yield return nested;
                }
            }
        }
    }
}
