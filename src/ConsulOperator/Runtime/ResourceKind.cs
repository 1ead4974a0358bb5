using ConsulOperator.Api.PrometheusOperator;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Runtime;

/// <summary>Where a kind lives in the API: the paths a client builds for it.</summary>
public sealed record ResourceKind(string Group, string Version, string Plural, string Kind)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string CollectionPath(string? ns) =>
        $"{(Group.Length == 0 ? "api" : $"apis/{Group}")}/{Version}/{(ns is null ? "" : $"namespaces/{ns}/")}{Plural}";

    public string ItemPath(string ns, string name) => $"{CollectionPath(ns)}/{name}";
}

/// <summary>The kinds the operator reads and writes.</summary>
public static class Kinds
{
    private static readonly Dictionary<Type, ResourceKind> ByType = new()
    {
        [typeof(V1Secret)] = new("", "v1", "secrets", "Secret"),
        [typeof(V1ConfigMap)] = new("", "v1", "configmaps", "ConfigMap"),
        [typeof(V1Service)] = new("", "v1", "services", "Service"),
        [typeof(Corev1Event)] = new("", "v1", "events", "Event"),
        [typeof(V1StatefulSet)] = new("apps", "v1", "statefulsets", "StatefulSet"),
        [typeof(V1Pod)] = new("", "v1", "pods", "Pod"),
        [typeof(V1Node)] = new("", "v1", "nodes", "Node"),
        [typeof(V1EndpointSlice)] = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
        [typeof(V1PersistentVolumeClaim)] = new("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
        [typeof(V1CronJob)] = new("batch", "v1", "cronjobs", "CronJob"),
        [typeof(V1Job)] = new("batch", "v1", "jobs", "Job"),
        [typeof(V1Ingress)] = new("networking.k8s.io", "v1", "ingresses", "Ingress"),
        [typeof(V1PodDisruptionBudget)] = new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
        [typeof(V1Lease)] = new("coordination.k8s.io", "v1", "leases", "Lease"),
        [typeof(V1PodMonitor)] = new(MonitoringGroup.Name, MonitoringGroup.Version, V1PodMonitor.Plural, V1PodMonitor.KindName),
        [typeof(V1PrometheusRule)] = new(MonitoringGroup.Name, MonitoringGroup.Version, V1PrometheusRule.Plural, V1PrometheusRule.KindName),
        [typeof(V1Alpha1ConsulCluster)] = new(ApiGroup.Name, ApiGroup.Version, V1Alpha1ConsulCluster.Plural, V1Alpha1ConsulCluster.KindName),
        [typeof(V1Alpha1ConsulService)] = new(ApiGroup.Name, ApiGroup.Version, V1Alpha1ConsulService.Plural, V1Alpha1ConsulService.KindName),
        [typeof(V1Alpha1ConsulACLPolicy)] = new(ApiGroup.Name, ApiGroup.Version, V1Alpha1ConsulACLPolicy.Plural, V1Alpha1ConsulACLPolicy.KindName),
        [typeof(V1Alpha1ConsulACLToken)] = new(ApiGroup.Name, ApiGroup.Version, V1Alpha1ConsulACLToken.Plural, V1Alpha1ConsulACLToken.KindName),
        [typeof(V1Alpha1ConsulSnapshotRestore)] = new(ApiGroup.Name, ApiGroup.Version, V1Alpha1ConsulSnapshotRestore.Plural, V1Alpha1ConsulSnapshotRestore.KindName),
        [typeof(V1Alpha1ConsulExternalAgent)] = new(ApiGroup.Name, ApiGroup.Version, V1Alpha1ConsulExternalAgent.Plural, V1Alpha1ConsulExternalAgent.KindName),
    };

    public static ResourceKind Of<T>() => Of(typeof(T));

    public static ResourceKind Of(Type type) => ByType.TryGetValue(type, out var kind) ? kind : throw new ArgumentException($"{type.Name} is not a kind the operator knows");
}
