using System.Text.Json.Nodes;
using ConsulOperator.Api.Schema;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Manifests;

/// <summary>The CRDs of our API, generated from the C# types so that the schema and the code cannot drift apart.</summary>
public static class CustomResourceDefinitions
{
    public static JsonObject ConsulCluster() => Build(
        typeof(V1Alpha1ConsulCluster), V1Alpha1ConsulCluster.KindName, V1Alpha1ConsulCluster.Plural, ["ccl"],
        [
            Column("Version", "string", ".spec.version", "Consul version"),
            Column("Servers", "integer", ".spec.servers.replicas", "Servers wanted"),
            Column("Ready Servers", "integer", ".status.readyServers", "Servers ready"),
            Column("Leader", "string", ".status.leader", "Raft leader"),
            Column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Ready condition"),
            Column("Tolerance", "integer", ".status.failureTolerance", "Servers that may fail without losing quorum", priority: 1),
            Column("Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", "Why (not) ready", priority: 1),
            Column("Age", "date", ".metadata.creationTimestamp", null),
        ]);

    public static JsonObject ConsulService() => Build(
        typeof(V1Alpha1ConsulService), V1Alpha1ConsulService.KindName, V1Alpha1ConsulService.Plural, ["csvc"],
        [
            Column("Cluster", "string", ".spec.clusterRef.name", "ConsulCluster"),
            Column("Address", "string", ".spec.address", "Service address"),
            Column("Port", "integer", ".spec.port", "Service port"),
            Column("Health", "string", ".status.health", "Aggregated check status"),
            Column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Ready condition"),
            Column("Age", "date", ".metadata.creationTimestamp", null),
        ]);

    public static JsonObject ConsulAclPolicy() => Build(
        typeof(V1Alpha1ConsulACLPolicy), V1Alpha1ConsulACLPolicy.KindName, V1Alpha1ConsulACLPolicy.Plural, ["caclp"],
        [
            Column("Cluster", "string", ".spec.clusterRef.name", "ConsulCluster"),
            Column("Policy", "string", ".status.policyName", "Name in Consul"),
            Column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Ready condition"),
            Column("Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", "Why (not) ready", priority: 1),
            Column("Age", "date", ".metadata.creationTimestamp", null),
        ]);

    public static JsonObject ConsulAclToken() => Build(
        typeof(V1Alpha1ConsulACLToken), V1Alpha1ConsulACLToken.KindName, V1Alpha1ConsulACLToken.Plural, ["caclt"],
        [
            Column("Cluster", "string", ".spec.clusterRef.name", "ConsulCluster"),
            Column("Secret", "string", ".status.secretName", "Secret holding the token"),
            Column("Accessor", "string", ".status.accessorID", "AccessorID in Consul"),
            Column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Ready condition"),
            Column("Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", "Why (not) ready", priority: 1),
            Column("Age", "date", ".metadata.creationTimestamp", null),
        ]);

    public static JsonObject ConsulSnapshotRestore() => Build(
        typeof(V1Alpha1ConsulSnapshotRestore), V1Alpha1ConsulSnapshotRestore.KindName, V1Alpha1ConsulSnapshotRestore.Plural, ["csr"],
        [
            Column("Cluster", "string", ".spec.clusterRef.name", "ConsulCluster"),
            Column("Snapshot", "string", ".status.snapshot", "The file restored"),
            Column("Phase", "string", ".status.phase", "Pending, Inspecting, Restoring, Succeeded or Failed"),
            Column("Index", "integer", ".status.index", "The snapshot's raft index", priority: 1),
            Column("Age", "date", ".metadata.creationTimestamp", null),
        ]);

    public static JsonObject ConsulExternalAgent() => Build(
        typeof(V1Alpha1ConsulExternalAgent), V1Alpha1ConsulExternalAgent.KindName, V1Alpha1ConsulExternalAgent.Plural, ["cea"],
        [
            Column("Cluster", "string", ".spec.clusterRef.name", "ConsulCluster"),
            Column("Secret", "string", ".status.secretName", "Secret holding the bundle"),
            Column("Member", "string", ".status.member", "The node's gossip status"),
            Column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Ready condition"),
            Column("Bundle", "string", ".status.bundleHash", "Digest of the bundle's files", priority: 1),
            Column("Changed", "date", ".status.bundleChangedAt", "When the bundle last changed", priority: 1),
            Column("Age", "date", ".metadata.creationTimestamp", null),
        ]);

    /// <summary>Every CRD of the API, in the order they are written.</summary>
    public static IReadOnlyList<JsonObject> All() => [ConsulCluster(), ConsulService(), ConsulAclPolicy(), ConsulAclToken(), ConsulSnapshotRestore(), ConsulExternalAgent()];

    public static string FileName(JsonObject crd) => $"{ApiGroup.Name}_{(string)crd["spec"]!["names"]!["plural"]!}.yaml";

    private static JsonObject Build(Type type, string kind, string plural, string[] shortNames, JsonObject[] columns) => new()
    {
        ["apiVersion"] = "apiextensions.k8s.io/v1",
        ["kind"] = "CustomResourceDefinition",
        ["metadata"] = new JsonObject { ["name"] = $"{plural}.{ApiGroup.Name}" },
        ["spec"] = new JsonObject
        {
            ["group"] = ApiGroup.Name,
            ["names"] = new JsonObject
            {
                ["kind"] = kind,
                ["listKind"] = kind + "List",
                ["plural"] = plural,
                ["singular"] = kind.ToLowerInvariant(),
                ["shortNames"] = new JsonArray([.. shortNames.Select(s => JsonValue.Create(s))]),
                ["categories"] = new JsonArray("consul"),
            },
            ["scope"] = "Namespaced",
            ["versions"] = new JsonArray(new JsonObject
            {
                ["name"] = ApiGroup.Version,
                ["served"] = true,
                ["storage"] = true,
                ["subresources"] = new JsonObject { ["status"] = new JsonObject() },
                ["additionalPrinterColumns"] = new JsonArray(columns),
                ["schema"] = new JsonObject { ["openAPIV3Schema"] = OpenApiSchemaGenerator.ForResource(type) },
            }),
        },
    };

    private static JsonObject Column(string name, string type, string path, string? description, int priority = 0)
    {
        var column = new JsonObject { ["name"] = name, ["type"] = type, ["jsonPath"] = path };
        if (description is not null)
        {
            column["description"] = description;
        }

        if (priority > 0)
        {
            column["priority"] = priority;
        }

        return column;
    }
}
