using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using ConsulOperator.Testing;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Integration;
using k8s;
using k8s.Models;

namespace ConsulOperator.Tests.Support;

/// <summary>
/// A cluster rendered as <c>render</c> renders it and run as Kubernetes would run it, without the operator: its objects
/// in a test API server (whose StatefulSet controller makes the pods) and its agents in the simulated Consul, started
/// from those pods. What the operator renders is what the simulated agents read.
/// </summary>
public sealed class RenderedConsul : IAsyncDisposable
{
    private RenderedConsul(V1Alpha1ConsulCluster cluster, KeyMaterial material, TestApiServer api, TestConsulFleet fleet)
    {
        Cluster = cluster;
        Material = material;
        Api = api;
        Fleet = fleet;
    }

    public V1Alpha1ConsulCluster Cluster { get; }

    public KeyMaterial Material { get; }

    public TestApiServer Api { get; }

    public TestConsulFleet Fleet { get; }

    public ConsulDatacenter Datacenter => Fleet.Datacenter(Cluster.Metadata.NamespaceProperty, Cluster.Metadata.Name)!;

    /// <param name="cluster">What to render.</param>
    /// <param name="change">A change to the rendered objects before they are applied (a broken Secret, a wrong config).</param>
    /// <param name="waitForLeader">Return once raft has a leader (false: once the first agent pod exists).</param>
    public static async Task<RenderedConsul> StartAsync(V1Alpha1ConsulCluster cluster, Action<IReadOnlyList<IKubernetesObject<V1ObjectMeta>>>? change = null, bool waitForLeader = true)
    {
        var ns = cluster.Metadata.NamespaceProperty;
        var api = await TestApiServer.StartAsync();
        api.CreateNamespace(ns);
        var material = Clusters.KeyMaterialFor(cluster);
        var objects = Clusters.Build(cluster, material);
        change?.Invoke(objects);
        foreach (var item in objects)
        {
            api.Seed(item);
        }

        var fleet = await TestConsulFleet.StartAsync(api);
        var rendered = new RenderedConsul(cluster, material, api, fleet);
        await OperatorHarness.WaitUntilAsync(
            () => waitForLeader ? fleet.CurrentLeader(ns, cluster.Metadata.Name) is not null : fleet.Datacenter(ns, cluster.Metadata.Name) is not null,
            waitForLeader ? "a raft leader in the rendered cluster" : "the rendered cluster's agent pods");
        return rendered;
    }

    public async ValueTask DisposeAsync()
    {
        await Fleet.DisposeAsync();
        await Api.DisposeAsync();
    }
}
