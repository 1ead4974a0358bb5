using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>
/// The informers the controllers read from. The kinds the operator creates are watched only where they carry our
/// managed-by label, so the cache holds our objects and not every Secret in the cluster.
/// </summary>
public sealed class OperatorCaches(KubeApi api, IReadOnlyList<string?> namespaces, string dnsNamespace, ILoggerFactory logs, TimeProvider time)
{
    private static readonly string Ours = $"{Labels.ManagedBy}={Labels.OperatorName}";

    public Informer<V1Alpha1ConsulCluster> Clusters { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulCluster"), time);

    public Informer<V1Alpha1ConsulService> ConsulServices { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulService"), time);

    public Informer<V1Secret> Secrets { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Secret"), time);

    public Informer<V1ConfigMap> ConfigMaps { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.ConfigMap"), time);

    public Informer<V1Service> Services { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Service"), time);

    public Informer<V1StatefulSet> StatefulSets { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.StatefulSet"), time);

    /// <summary>Agent pods, which carry our managed-by label from the pod templates.</summary>
    public Informer<V1Pod> Pods { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Pod"), time);

    public Informer<V1PersistentVolumeClaim> Claims { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.PersistentVolumeClaim"), time);

    public Informer<V1CronJob> CronJobs { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.CronJob"), time);

    public Informer<V1PodDisruptionBudget> DisruptionBudgets { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.PodDisruptionBudget"), time);

    /// <summary>The cluster DNS ConfigMaps (CoreDNS, coredns-custom, kube-dns), which are not ours and so carry no label of ours.</summary>
    public Informer<V1ConfigMap> DnsConfigMaps { get; } = new(api, [dnsNamespace], null, logs.CreateLogger("Informer.DnsConfigMap"), time);

    public string DnsNamespace => dnsNamespace;

    public Task RunAsync(CancellationToken cancel) => Task.WhenAll(All.Select(i => i.RunAsync(cancel)));

    public Task WaitForSyncAsync(CancellationToken cancel) => Task.WhenAll(All.Select(i => i.WaitForSyncAsync(cancel)));

    public bool HasSynced => All.All(i => i.HasSynced);

    private IEnumerable<IInformer> All =>
        [Clusters, ConsulServices, Secrets, ConfigMaps, Services, StatefulSets, Pods, Claims, CronJobs, DisruptionBudgets, DnsConfigMaps];

    /// <summary>
    /// Routes every change to the key of the ConsulCluster it concerns, and to the ConsulServices that reference a
    /// cluster whenever it changes (so a service registers the moment its cluster is ready).
    /// </summary>
    public void Subscribe(Action<string> enqueue, Action<string> enqueueService)
    {
        Clusters.Changed += c =>
        {
            enqueue(Controller.Key(c.Metadata.NamespaceProperty, c.Metadata.Name));
            foreach (var service in ServicesOf(c.Metadata.NamespaceProperty, c.Metadata.Name))
            {
                enqueueService(Controller.Key(service.Metadata.NamespaceProperty, service.Metadata.Name));
            }
        };
        ConsulServices.Changed += s => enqueueService(Controller.Key(s.Metadata.NamespaceProperty, s.Metadata.Name));
        Secrets.Changed += o => EnqueueOwner(o, enqueue);
        ConfigMaps.Changed += o => EnqueueOwner(o, enqueue);
        Services.Changed += o => EnqueueOwner(o, enqueue);
        StatefulSets.Changed += o => EnqueueOwner(o, enqueue);
        DisruptionBudgets.Changed += o => EnqueueOwner(o, enqueue);
        CronJobs.Changed += o => EnqueueOwner(o, enqueue);
        Claims.Changed += o => EnqueueInstance(o, enqueue);

        // Pods belong to a StatefulSet; the instance label names their cluster.
        Pods.Changed += pod => EnqueueInstance(pod, enqueue);
        DnsConfigMaps.Changed += configMap =>
        {
            foreach (var cluster in Clusters.List().Where(c => c.Spec.Dns.CoreDns.Patch
                && c.Spec.Dns.CoreDns.Namespace == configMap.Metadata.NamespaceProperty
                && CoreDnsForwarding.ConfigMapName(c.Spec.Dns.CoreDns) == configMap.Metadata.Name))
            {
                enqueue(Controller.Key(cluster.Metadata.NamespaceProperty, cluster.Metadata.Name));
            }
        };
    }

    public IEnumerable<V1Alpha1ConsulService> ServicesOf(string? ns, string cluster) =>
        ConsulServices.List(ns).Where(s => s.Spec.ClusterRef.Name == cluster);

    // For objects the cluster does not own (pods, the snapshot volume): the instance label names the cluster.
    private static void EnqueueInstance(IMetadata<V1ObjectMeta> item, Action<string> enqueue)
    {
        if (item.Metadata.Labels?.TryGetValue(Labels.Instance, out var cluster) == true)
        {
            enqueue(Controller.Key(item.Metadata.NamespaceProperty, cluster));
        }
    }

    private static void EnqueueOwner(IMetadata<V1ObjectMeta> item, Action<string> enqueue)
    {
        var owner = item.Metadata.OwnerReferences?.FirstOrDefault(r => r.Controller == true && r.Kind == V1Alpha1ConsulCluster.KindName);
        if (owner is not null)
        {
            enqueue(Controller.Key(item.Metadata.NamespaceProperty, owner.Name));
        }
    }
}
