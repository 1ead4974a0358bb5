using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Manifests;

/// <summary>
/// The operator's RBAC: exactly the verbs it uses, on exactly the resources it touches. Each rule says why in its comment.
/// </summary>
public static class Rbac
{
    public const string Name = "consul-operator";
    public const string Namespace = "consul-operator";

    private static readonly string[] Read = ["get", "list", "watch"];
    private static readonly string[] Manage = ["get", "list", "watch", "create", "update", "patch", "delete"];

    public static IReadOnlyList<(string File, JsonObject Manifest)> All() =>
    [
        ("service_account.yaml", ServiceAccount()),
        ("role.yaml", ClusterRole()),
        ("role_binding.yaml", Binding("ClusterRoleBinding", "ClusterRole", Name, null)),
        ("leader_election_role.yaml", LeaderElectionRole()),
        ("leader_election_role_binding.yaml", Binding("RoleBinding", "Role", $"{Name}-leader-election", Namespace)),
    ];

    public static JsonObject ClusterRole() => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "ClusterRole",
        ["metadata"] = Metadata(Name, null),
        ["rules"] = new JsonArray(
            // Our custom resources: read them, keep our finalizer on them, write their status.
            Rule(ApiGroup.Name, [V1Alpha1ConsulCluster.Plural, V1Alpha1ConsulService.Plural], ["get", "list", "watch", "update", "patch"]),
            Rule(ApiGroup.Name, [$"{V1Alpha1ConsulCluster.Plural}/status", $"{V1Alpha1ConsulService.Plural}/status"], ["get", "update", "patch"]),
            Rule(ApiGroup.Name, [$"{V1Alpha1ConsulCluster.Plural}/finalizers", $"{V1Alpha1ConsulService.Plural}/finalizers"], ["update"]),

            // What a cluster consists of; ConfigMaps also cover the CoreDNS ConfigMap we patch.
            Rule("", ["secrets", "configmaps", "services"], Manage),
            Rule("apps", ["statefulsets"], Manage),
            Rule("policy", ["poddisruptionbudgets"], Manage),

            // Pods are read for readiness and deleted one at a time to roll certificates and upgrades safely.
            Rule("", ["pods"], ["get", "list", "watch", "delete"]),

            // Volume claims are only read: data is deleted by the StatefulSet's retention policy when the spec asks, never by us.
            Rule("", ["persistentvolumeclaims"], Read),

            // Events on our resources say what was done and why.
            Rule("", ["events"], ["create", "patch"]),
            Rule("events.k8s.io", ["events"], ["create", "patch"])),
    };

    /// <summary>Leader election needs a Lease in the operator's own namespace only.</summary>
    public static JsonObject LeaderElectionRole() => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "Role",
        ["metadata"] = Metadata($"{Name}-leader-election", Namespace),
        ["rules"] = new JsonArray(Rule("coordination.k8s.io", ["leases"], ["get", "list", "watch", "create", "update", "patch"])),
    };

    private static JsonObject ServiceAccount() => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ServiceAccount",
        ["metadata"] = Metadata(Name, Namespace),
    };

    private static JsonObject Binding(string kind, string roleKind, string roleName, string? bindingNamespace) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = kind,
        ["metadata"] = Metadata(roleName, bindingNamespace),
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = roleKind, ["name"] = roleName },
        ["subjects"] = new JsonArray(new JsonObject { ["kind"] = "ServiceAccount", ["name"] = Name, ["namespace"] = Namespace }),
    };

    private static JsonObject Metadata(string name, string? ns)
    {
        var metadata = new JsonObject { ["name"] = name };
        if (ns is not null)
        {
            metadata["namespace"] = ns;
        }

        metadata["labels"] = new JsonObject { ["app.kubernetes.io/name"] = Name, ["app.kubernetes.io/managed-by"] = "consul-operator-manifests" };
        return metadata;
    }

    private static JsonObject Rule(string apiGroup, string[] resources, string[] verbs) => new()
    {
        ["apiGroups"] = new JsonArray(apiGroup),
        ["resources"] = new JsonArray([.. resources.Select(r => JsonValue.Create(r))]),
        ["verbs"] = new JsonArray([.. verbs.Select(v => JsonValue.Create(v))]),
    };
}
