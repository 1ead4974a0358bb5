using System.Text.Json.Nodes;
using ConsulOperator.Api.PrometheusOperator;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Manifests;

/// <summary>
/// The operator's RBAC: exactly the verbs it uses, on exactly the resources it touches. Each rule says why in its comment.
/// Data is never deleted by us: volume claims go only through the StatefulSet's retention policy, so there is no rule for them.
/// The only Secrets deleted are agent tokens of pods that are gone; the other deletions are objects that hold no data and
/// that the spec no longer asks for (Desired/Pruning).
/// </summary>
public static class Rbac
{
    public const string Name = "consul-operator";
    public const string Namespace = "consul-operator";

    // Owned objects are created and updated; deleting them is left to garbage collection through owner references.
    private static readonly string[] Manage = ["get", "list", "watch", "create", "update"];

    public static IReadOnlyList<(string File, JsonObject Manifest)> All() =>
    [
        ("service_account.yaml", ServiceAccount()),
        ("role.yaml", ClusterRole()),
        ("role_binding.yaml", Binding("ClusterRoleBinding", "ClusterRole", Name, null)),
        ("leader_election_role.yaml", LeaderElectionRole()),
        ("leader_election_role_binding.yaml", Binding("RoleBinding", "Role", $"{Name}-leader-election", Namespace)),
    ];

    private static readonly string[] Kinds = [V1Alpha1ConsulCluster.Plural, V1Alpha1ConsulService.Plural, V1Alpha1ConsulACLPolicy.Plural, V1Alpha1ConsulACLToken.Plural, V1Alpha1ConsulSnapshotRestore.Plural, V1Alpha1ConsulExternalAgent.Plural];

    public static JsonObject ClusterRole() => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "ClusterRole",
        ["metadata"] = Metadata(Name, null),
        ["rules"] = new JsonArray(
            // Our custom resources: read them, keep our finalizer on them, write their status.
            Rule(ApiGroup.Name, Kinds, ["get", "list", "watch", "update"]),
            Rule(ApiGroup.Name, [.. Kinds.Select(k => $"{k}/status")], ["update"]),
            Rule(ApiGroup.Name, [.. Kinds.Select(k => $"{k}/finalizers")], ["update"]),

            // A ConsulExternalAgent's agent token is a ConsulACLToken (and, before node identities, a ConsulACLPolicy) it owns.
            Rule(ApiGroup.Name, [V1Alpha1ConsulACLPolicy.Plural, V1Alpha1ConsulACLToken.Plural], ["create"]),

            // What a cluster consists of; ConfigMaps also cover the CoreDNS ConfigMap we patch.
            Rule("", ["secrets", "configmaps", "services"], Manage),

            // The one deletion we make ourselves: an agent token's Secret once its pod is scaled away for good (its token is
            // deleted from Consul first), and the single agent-token Secret of older releases once split per pod.
            Rule("", ["secrets"], ["delete"]),
            Rule("apps", ["statefulsets"], Manage),
            Rule("policy", ["poddisruptionbudgets"], Manage),

            // The UI's Ingress, when spec.ui.ingress asks for one; deleted when it no longer does.
            Rule("networking.k8s.io", ["ingresses"], [.. Manage, "delete"]),

            // The Prometheus Operator's objects, when spec.telemetry asks for them (read only while their CRDs are installed).
            Rule(MonitoringGroup.Name, [V1PodMonitor.Plural, V1PrometheusRule.Plural], [.. Manage, "delete"]),

            // Scheduled snapshots: the CronJob (deleted when snapshots are turned off), and the volume they are kept on,
            // which the operator never deletes.
            Rule("batch", ["cronjobs"], [.. Manage, "delete"]),
            Rule("", ["persistentvolumeclaims"], Manage),

            // A ConsulSnapshotRestore's Job, created once and read until it ends; garbage collection removes it with its restore.
            Rule("batch", ["jobs"], ["get", "list", "watch", "create"]),

            // A ConsulService's serviceRef: its Service (the services rule above), the Service's EndpointSlices, and for a
            // NodePort the nodes' addresses. Read only.
            Rule("discovery.k8s.io", ["endpointslices"], ["get", "list", "watch"]),
            NodeRule(),

            // Agent pods are replaced one at a time (upgrades, configuration, renewed certificates); nothing else.
            Rule("", ["pods"], ["get", "list", "watch", "delete"]),

            // Events on our resources say what was done and why.
            Rule("", ["events"], ["create"])),
    };

    /// <summary>
    /// With namespaced RBAC (the chart's watchNamespaces) the ClusterRole's rules go into a Role in each watched namespace,
    /// and the operator still needs the cluster DNS ConfigMaps in their namespace; coredns-custom may have to be created.
    /// </summary>
    public static JsonArray DnsConfigMapRules() => new(Rule("", ["configmaps"], ["get", "list", "watch", "create", "update"]));

    /// <summary>Nodes are cluster-scoped: with namespaced RBAC (the chart's watchNamespaces) a ClusterRole of their own grants them.</summary>
    public static JsonArray NodeRules() => new(NodeRule());

    private static JsonObject NodeRule() => Rule("", ["nodes"], ["get", "list", "watch"]);

    /// <summary>Leader election needs a Lease in the operator's own namespace only.</summary>
    public static JsonObject LeaderElectionRole() => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "Role",
        ["metadata"] = Metadata($"{Name}-leader-election", Namespace),
        ["rules"] = new JsonArray(Rule("coordination.k8s.io", ["leases"], ["get", "create", "update"])),
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
