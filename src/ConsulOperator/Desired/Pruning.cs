using ConsulOperator.Api.V1Alpha1;
using k8s;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// What goes when the spec stops asking for it: only objects that hold no data (the snapshot CronJob, the UI Ingress,
/// the Prometheus Operator's objects) and only those this cluster owns as controller. Volumes, Secrets (key material,
/// tokens) and ConfigMaps are never pruned.
/// </summary>
public static class Pruning
{
    public static bool IsUnwanted(IMetadata<V1ObjectMeta> live, string kind, V1Alpha1ConsulCluster cluster, IEnumerable<IKubernetesObject<V1ObjectMeta>> desired) =>
        live.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Kind == V1Alpha1ConsulCluster.KindName && o.Uid == cluster.Metadata.Uid) == true
        && !desired.Any(d => d.Kind == kind && d.Metadata.Name == live.Metadata.Name && d.Metadata.NamespaceProperty == live.Metadata.NamespaceProperty);
}
