namespace ConsulOperator.Testing.KubeApi;

/// <summary>A kind the test API server serves.</summary>
public sealed record ResourceInfo(string Group, string Version, string Plural, string Kind, bool Namespaced, bool HasStatus)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Built-in lists omit apiVersion and kind on their items, as the real API server does; custom resources keep them.</summary>
    public bool BuiltIn => !Group.Contains('.', StringComparison.Ordinal) || Group.EndsWith(".k8s.io", StringComparison.Ordinal);
}

public static class ResourceCatalog
{
    public static readonly IReadOnlyList<ResourceInfo> All =
    [
        new("", "v1", "namespaces", "Namespace", Namespaced: false, HasStatus: true),
        new("", "v1", "secrets", "Secret", true, false),
        new("", "v1", "configmaps", "ConfigMap", true, false),
        new("", "v1", "services", "Service", true, true),
        new("", "v1", "pods", "Pod", true, true),
        new("", "v1", "nodes", "Node", Namespaced: false, HasStatus: true),
        new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, false),
        new("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, true),
        new("", "v1", "events", "Event", true, false),
        new("apps", "v1", "statefulsets", "StatefulSet", true, true),
        new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, true),
        new("networking.k8s.io", "v1", "ingresses", "Ingress", true, true),
        new("batch", "v1", "cronjobs", "CronJob", true, true),
        new("batch", "v1", "jobs", "Job", true, true),
        new("coordination.k8s.io", "v1", "leases", "Lease", true, false),
        new("events.k8s.io", "v1", "events", "Event", true, false),
        .. ConsulOperator.Manifests.CustomResourceDefinitions.All().Select(Served),
    ];

    // Our custom resources are served as the CRDs we generate declare them, as an API server would once they are applied.
    private static ResourceInfo Served(System.Text.Json.Nodes.JsonObject crd)
    {
        var spec = crd["spec"]!;
        var version = spec["versions"]!.AsArray().Single(v => (bool)v!["served"]!)!;
        return new((string)spec["group"]!, (string)version["name"]!, (string)spec["names"]!["plural"]!, (string)spec["names"]!["kind"]!,
            (string)spec["scope"]! == "Namespaced", version["subresources"]?["status"] is not null);
    }

    /// <summary>
    /// Another project's CRDs, served only once a test installs them (<see cref="TestApiServer.InstallPrometheusOperatorCrds"/>):
    /// prometheus-operator's monitoring.coreos.com/v1 PodMonitor and PrometheusRule, both namespaced (its
    /// example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml and _prometheusrules.yaml). The operator
    /// writes no status on them, so none is modelled.
    /// </summary>
    public static readonly IReadOnlyList<ResourceInfo> PrometheusOperator =
    [
        new("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor", true, false),
        new("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", true, false),
    ];

    public static ResourceInfo? Find(string group, string version, string plural) =>
        All.Concat(PrometheusOperator).FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);

    public static ResourceInfo ForKind(string apiVersion, string kind) =>
        All.Concat(PrometheusOperator).First(r => r.ApiVersion == apiVersion && r.Kind == kind);
}
