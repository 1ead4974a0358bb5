using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>Metadata every object of a cluster carries: standard labels and an owner reference to the ConsulCluster.</summary>
public static class ObjectMetadata
{
    public static V1ObjectMeta For(V1Alpha1ConsulCluster cluster, string name, string component) => new()
    {
        Name = name,
        NamespaceProperty = cluster.Metadata.NamespaceProperty,
        Labels = new Dictionary<string, string>(SelectorLabels(cluster, component))
        {
            [Labels.ManagedBy] = Labels.OperatorName,
            [Labels.PartOf] = Labels.AppName,
        },
        OwnerReferences = OwnerReferences(cluster),
    };

    /// <summary>The labels that select a component's pods; they never change, since a StatefulSet's selector cannot.</summary>
    public static Dictionary<string, string> SelectorLabels(V1Alpha1ConsulCluster cluster, string? component)
    {
        var labels = new Dictionary<string, string>
        {
            [Labels.Name] = Labels.AppName,
            [Labels.Instance] = cluster.Metadata.Name,
        };
        if (component is not null)
        {
            labels[Labels.Component] = component;
        }

        return labels;
    }

    /// <summary>The owner reference that makes one of our resources an object's controller (garbage collection follows it).</summary>
    public static V1OwnerReference ControllerReference(string kind, V1ObjectMeta owner) => new()
    {
        ApiVersion = ApiGroup.ApiVersion,
        Kind = kind,
        Name = owner.Name,
        Uid = owner.Uid,
        Controller = true,
        BlockOwnerDeletion = true,
    };

    // Rendered without a cluster, the ConsulCluster has no UID yet and so cannot own anything.
    private static List<V1OwnerReference>? OwnerReferences(V1Alpha1ConsulCluster cluster) =>
        string.IsNullOrEmpty(cluster.Metadata.Uid) ? null : [ControllerReference(V1Alpha1ConsulCluster.KindName, cluster.Metadata)];
}
