using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Cli;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using k8s;
using k8s.Models;

namespace ConsulOperator.Tests.Support;

/// <summary>ConsulClusters to build from, and their fully built desired state.</summary>
public static class Clusters
{
    /// <summary>The sample of config/samples, read the way render reads it.</summary>
    public static V1Alpha1ConsulCluster Sample()
    {
        var input = InputDocuments.Read([Repository.PathOf("config/samples/consulcluster.yaml")], TextReader.Null);
        Assert.Empty(input.Problems);
        return Assert.Single(input.Clusters);
    }

    public static V1Alpha1ConsulService SampleService()
    {
        var input = InputDocuments.Read([Repository.PathOf("config/samples/consulservice.yaml")], TextReader.Null);
        Assert.Empty(input.Problems);
        return Assert.Single(input.Services);
    }

    /// <summary>A cluster with every default, as the API server would store it after defaulting.</summary>
    public static V1Alpha1ConsulCluster Default(string name = "consul", string ns = "consul", Action<ConsulClusterSpec>? change = null)
    {
        var cluster = new V1Alpha1ConsulCluster { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = "6f2c1a94-0000-4000-8000-000000000001" } };
        change?.Invoke(cluster.Spec);
        return cluster;
    }

    public static KeyMaterial KeyMaterialFor(V1Alpha1ConsulCluster cluster, TimeProvider? time = null) =>
        KeyMaterialPlanner.Plan(ExistingKeyMaterial.None, KeyMaterialSecrets.Requirements(cluster), time ?? TimeProvider.System).Material;

    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Build(V1Alpha1ConsulCluster cluster, KeyMaterial? material = null) =>
        DesiredState.Build(cluster, material ?? KeyMaterialFor(cluster), ServerPlan.AtRest(cluster));

    public static T Named<T>(this IEnumerable<IKubernetesObject<V1ObjectMeta>> objects, string name)
        where T : IKubernetesObject<V1ObjectMeta> =>
        Assert.Single(objects.OfType<T>(), o => o.Metadata.Name == name);
}
