using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using k8s;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// Everything a ConsulCluster consists of, from its spec, its key material and its server plan (the servers to run now,
/// the pinned bootstrap_expect).
/// Pure: the operator and <c>render</c> both call it, so they cannot disagree about what a cluster looks like.
/// </summary>
public static class DesiredState
{
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Build(V1Alpha1ConsulCluster cluster, KeyMaterial material, ServerPlan plan)
    {
        var spec = cluster.Spec;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var serverConfig = AgentConfig.Server(spec, names, plan.BootstrapExpect);
        var objects = new List<IKubernetesObject<V1ObjectMeta>>();
        objects.AddRange(KeyMaterialSecrets.Build(cluster, material));
        objects.Add(KeyMaterialSecrets.CaCertificateConfigMap(cluster, material.Ca));
        var clientConfig = spec.Clients.Replicas > 0 ? AgentConfig.Client(spec, names) : null;
        objects.Add(StatefulSets.ConfigMap(cluster, Components.Server, serverConfig));
        if (clientConfig is not null)
        {
            objects.Add(StatefulSets.ConfigMap(cluster, Components.Client, clientConfig));
        }

        if (RecoveryInput.ConfigMap(cluster) is { } recovery)
        {
            objects.Add(recovery);
        }

        objects.AddRange(Services.Build(cluster));
        objects.AddRange(UiIngress.Build(cluster));
        objects.Add(PodDisruptionBudgets.ForServers(cluster, plan));
        objects.Add(StatefulSets.Servers(cluster, serverConfig, plan.Current));
        if (clientConfig is not null)
        {
            objects.Add(StatefulSets.Clients(cluster, clientConfig));
        }

        objects.AddRange(Snapshots.Build(cluster));
        objects.AddRange(Dashboard.Build(cluster));
        objects.AddRange(Monitoring.PodMonitors(cluster));
        objects.AddRange(Monitoring.PrometheusRules(cluster));

        foreach (var item in objects)
        {
            StampSpecHash(item);
        }

        return objects;
    }

    /// <summary>
    /// bootstrap_expect is the server count at the first bootstrap, kept in status from then on: changing it later would
    /// rewrite every server's configuration and roll them all, and it only matters before the first leader is elected.
    /// </summary>
    public static int BootstrapExpect(V1Alpha1ConsulCluster cluster) => cluster.Status?.BootstrapExpect ?? cluster.Spec.Servers.Replicas;

    /// <summary>A hash of what the operator sets on the object, stamped on it, so that an unchanged object needs no write.</summary>
    public static string SpecHash(IKubernetesObject<V1ObjectMeta> item)
    {
        var node = JsonNode.Parse(KubernetesJson.Serialize(item))!.AsObject();
        node["metadata"]!.AsObject()["annotations"]?.AsObject().Remove(Labels.SpecHashAnnotation);
        return StatefulSets.Hash(node.ToJsonString());
    }

    private static void StampSpecHash(IKubernetesObject<V1ObjectMeta> item)
    {
        var hash = SpecHash(item);
        item.Metadata.Annotations ??= new Dictionary<string, string>();
        item.Metadata.Annotations[Labels.SpecHashAnnotation] = hash;
    }
}
