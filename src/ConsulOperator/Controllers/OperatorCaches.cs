using ConsulOperator.Api;
using ConsulOperator.Api.PrometheusOperator;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>
/// The informers the controllers read from. The kinds the operator creates are watched only where they carry our
/// managed-by label, so the cache holds our objects and not every Secret in the cluster.
/// </summary>
public sealed class OperatorCaches(KubeApi api, IReadOnlyList<string?> namespaces, string dnsNamespace, ILoggerFactory logs, TimeProvider time, TimeSpan notServedRetry)
{
    private static readonly string Ours = $"{Labels.ManagedBy}={Labels.OperatorName}";

    public Informer<V1Alpha1ConsulCluster> Clusters { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulCluster"), time);

    public Informer<V1Alpha1ConsulService> ConsulServices { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulService"), time);

    public Informer<V1Alpha1ConsulACLPolicy> AclPolicies { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulACLPolicy"), time);

    public Informer<V1Alpha1ConsulACLToken> AclTokens { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulACLToken"), time);

    public Informer<V1Alpha1ConsulSnapshotRestore> Restores { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulSnapshotRestore"), time);

    public Informer<V1Alpha1ConsulExternalAgent> ExternalAgents { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ConsulExternalAgent"), time);

    public Informer<V1Secret> Secrets { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Secret"), time);

    /// <summary>Secrets of hand-built datacenters that a cluster's spec adopts: not ours, so watched by a label their owner sets.</summary>
    public Informer<V1Secret> AdoptedSecrets { get; } = new(api, namespaces, $"{Desired.AdoptedSecrets.Label}=true", logs.CreateLogger("Informer.AdoptedSecret"), time);

    public Informer<V1ConfigMap> ConfigMaps { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.ConfigMap"), time);

    public Informer<V1Service> Services { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Service"), time);

    /// <summary>
    /// Every Service and EndpointSlice of the watched namespaces, and every Node: what a ConsulService's serviceRef is
    /// synced from. They cannot be selected by label, since any Service may be referenced. The operator never writes
    /// them, so the cache keeps only what it reads (no managedFields; of a Node, its addresses, Ready and unschedulable).
    /// </summary>
    public Informer<V1Service> ReferencedServices { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.ReferencedService"), time, keep: WithoutManagedFields);

    public Informer<V1EndpointSlice> EndpointSlices { get; } = new(api, namespaces, null, logs.CreateLogger("Informer.EndpointSlice"), time, keep: WithoutManagedFields);

    public Informer<V1Node> Nodes { get; } = new(api, [null], null, logs.CreateLogger("Informer.Node"), time, keep: NodeAddresses);

    public Informer<V1StatefulSet> StatefulSets { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.StatefulSet"), time);

    /// <summary>Agent pods, which carry our managed-by label from the pod templates.</summary>
    public Informer<V1Pod> Pods { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Pod"), time);

    public Informer<V1PersistentVolumeClaim> Claims { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.PersistentVolumeClaim"), time);

    public Informer<V1CronJob> CronJobs { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.CronJob"), time);

    /// <summary>Restore Jobs, which carry our managed-by label.</summary>
    public Informer<V1Job> Jobs { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Job"), time);

    public Informer<V1Ingress> Ingresses { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.Ingress"), time);

    public Informer<V1PodDisruptionBudget> DisruptionBudgets { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.PodDisruptionBudget"), time);

    /// <summary>The Prometheus Operator's kinds, whose CRDs a cluster may not have: optional, so their absence holds nothing up.</summary>
    public Informer<V1PodMonitor> PodMonitors { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.PodMonitor"), time, notServedRetry);

    public Informer<V1PrometheusRule> PrometheusRules { get; } = new(api, namespaces, Ours, logs.CreateLogger("Informer.PrometheusRule"), time, notServedRetry);

    /// <summary>The cluster DNS ConfigMaps (CoreDNS, coredns-custom, kube-dns), which are not ours and so carry no label of ours.</summary>
    public Informer<V1ConfigMap> DnsConfigMaps { get; } = new(api, [dnsNamespace], null, logs.CreateLogger("Informer.DnsConfigMap"), time);

    public string DnsNamespace => dnsNamespace;

    public Task RunAsync(CancellationToken cancel) => Task.WhenAll(All.Select(i => i.RunAsync(cancel)));

    public Task WaitForSyncAsync(CancellationToken cancel) => Task.WhenAll(All.Select(i => i.WaitForSyncAsync(cancel)));

    public bool HasSynced => All.All(i => i.HasSynced);

    private IEnumerable<IInformer> All =>
        [Clusters, ConsulServices, AclPolicies, AclTokens, Restores, ExternalAgents, ReferencedServices, EndpointSlices, Nodes, Secrets, AdoptedSecrets, ConfigMaps, Services, StatefulSets, Pods, Claims, CronJobs, Jobs, DisruptionBudgets, Ingresses, PodMonitors, PrometheusRules, DnsConfigMaps];

    /// <summary>
    /// Whether the API serves an object's kind; only the optional kinds can be missing, and asking about one that is makes
    /// its informer look again.
    /// </summary>
    public bool Serves(IKubernetesObject<V1ObjectMeta> item)
    {
        IInformer? optional = item switch
        {
            V1PodMonitor => PodMonitors,
            V1PrometheusRule => PrometheusRules,
            _ => null,
        };
        if (optional is null || optional.Served)
        {
            return true;
        }

        optional.LookAgain();
        return false;
    }

    /// <summary>
    /// Routes every change to the key of the object it concerns: the ConsulCluster of its children and pods; every
    /// ConsulService, ConsulACLPolicy and ConsulACLToken of a cluster whenever the cluster changes (so that they act the
    /// moment it is ready); the tokens that link a policy whenever the policy changes; a token whenever its Secret does.
    /// </summary>
    public void Subscribe(ControllerQueues queues)
    {
        Clusters.Changed += c =>
        {
            var (ns, name) = (c.Metadata.NamespaceProperty, c.Metadata.Name);
            queues.Clusters(Controller.Key(ns, name));
            foreach (var service in ServicesOf(ns, name))
            {
                queues.Services(Controller.Key(ns, service.Metadata.Name));
            }

            foreach (var policy in AclPolicies.List(ns).Where(p => p.Spec.ClusterRef.Name == name))
            {
                queues.AclPolicies(Controller.Key(ns, policy.Metadata.Name));
            }

            foreach (var token in AclTokens.List(ns).Where(t => t.Spec.ClusterRef.Name == name))
            {
                queues.AclTokens(Controller.Key(ns, token.Metadata.Name));
            }

            foreach (var restore in Restores.List(ns).Where(r => r.Spec.ClusterRef.Name == name))
            {
                queues.Restores(Controller.Key(ns, restore.Metadata.Name));
            }

            foreach (var agent in ExternalAgents.List(ns).Where(a => a.Spec.ClusterRef.Name == name))
            {
                queues.ExternalAgents(Controller.Key(ns, agent.Metadata.Name));
            }
        };
        ExternalAgents.Changed += a => queues.ExternalAgents(Controller.Key(a.Metadata.NamespaceProperty, a.Metadata.Name));

        // A restore waits on its cluster's other restores, and moves with its Job and the Job's pod.
        Restores.Changed += r =>
        {
            foreach (var restore in Restores.List(r.Metadata.NamespaceProperty).Where(o => o.Spec.ClusterRef.Name == r.Spec.ClusterRef.Name))
            {
                queues.Restores(Controller.Key(restore.Metadata.NamespaceProperty, restore.Metadata.Name));
            }
        };
        Jobs.Changed += job => EnqueueRestore(job, queues.Restores);
        ConsulServices.Changed += s => queues.Services(Controller.Key(s.Metadata.NamespaceProperty, s.Metadata.Name));

        // A serviceRef follows its Service and EndpointSlices; a NodePort's instances follow the nodes.
        ReferencedServices.Changed += s => EnqueueReferencing(s.Metadata.NamespaceProperty, s.Metadata.Name, queues.Services);
        EndpointSlices.Changed += s =>
        {
            if (s.Metadata.Labels?.TryGetValue(CatalogSync.ServiceNameLabel, out var service) == true)
            {
                EnqueueReferencing(s.Metadata.NamespaceProperty, service, queues.Services);
            }
        };
        Nodes.Changed += _ =>
        {
            foreach (var service in ConsulServices.List().Where(s => s.Spec.ServiceRef is not null))
            {
                queues.Services(Controller.Key(service.Metadata.NamespaceProperty, service.Metadata.Name));
            }
        };
        AclPolicies.Changed += p =>
        {
            queues.AclPolicies(Controller.Key(p.Metadata.NamespaceProperty, p.Metadata.Name));
            foreach (var token in AclTokens.List(p.Metadata.NamespaceProperty).Where(t => t.Spec.Policies?.Any(l => l.ConsulACLPolicy == p.Metadata.Name) == true))
            {
                queues.AclTokens(Controller.Key(token.Metadata.NamespaceProperty, token.Metadata.Name));
            }
        };
        AclTokens.Changed += t =>
        {
            queues.AclTokens(Controller.Key(t.Metadata.NamespaceProperty, t.Metadata.Name));
            EnqueueExternalAgent(t, queues.ExternalAgents);
        };
        Secrets.Changed += o =>
        {
            EnqueueOwner(o, queues.Clusters);
            if (o.Metadata.OwnerReferences?.FirstOrDefault(r => r.Controller == true && r.Kind == V1Alpha1ConsulACLToken.KindName) is { } token)
            {
                queues.AclTokens(Controller.Key(o.Metadata.NamespaceProperty, token.Name));

                // An external agent's token Secret: the bundle copies the token from it.
                if (AclTokens.Find(o.Metadata.NamespaceProperty, token.Name) is { } owner)
                {
                    EnqueueExternalAgent(owner, queues.ExternalAgents);
                }
            }

            EnqueueExternalAgent(o, queues.ExternalAgents);
        };
        AdoptedSecrets.Changed += o =>
        {
            foreach (var cluster in Clusters.List(o.Metadata.NamespaceProperty).Where(c => Adopts(c, o.Metadata.Name)))
            {
                queues.Clusters(Controller.Key(cluster.Metadata.NamespaceProperty, cluster.Metadata.Name));
            }
        };
        var enqueue = queues.Clusters;
        ConfigMaps.Changed += o => EnqueueOwner(o, enqueue);
        Services.Changed += o => EnqueueOwner(o, enqueue);
        StatefulSets.Changed += o => EnqueueOwner(o, enqueue);
        DisruptionBudgets.Changed += o => EnqueueOwner(o, enqueue);
        CronJobs.Changed += o => EnqueueOwner(o, enqueue);
        Ingresses.Changed += o => EnqueueOwner(o, enqueue);
        PodMonitors.Changed += o => EnqueueOwner(o, enqueue);
        PrometheusRules.Changed += o => EnqueueOwner(o, enqueue);
        Claims.Changed += o => EnqueueInstance(o, enqueue);

        // Pods belong to a StatefulSet (the instance label names their cluster) or to a restore's Job.
        Pods.Changed += pod =>
        {
            EnqueueInstance(pod, enqueue);
            EnqueueRestore(pod, queues.Restores);
        };
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

    /// <summary>The Secrets key material is read from in a namespace: the operator's own and the adopted ones.</summary>
    public IReadOnlyList<V1Secret> KeySecrets(string? ns) =>
        [.. Secrets.List(ns).Concat(AdoptedSecrets.List(ns)).DistinctBy(s => s.Metadata.Name)];

    /// <summary>One Secret key material may be read from: the operator's own or an adopted one.</summary>
    public V1Secret? FindKeySecret(string ns, string name) => Secrets.Find(ns, name) ?? AdoptedSecrets.Find(ns, name);

    private static bool Adopts(V1Alpha1ConsulCluster cluster, string secret) =>
        new[] { Desired.AdoptedSecrets.Ca(cluster), Desired.AdoptedSecrets.GossipKey(cluster), Desired.AdoptedSecrets.ManagementToken(cluster) }
            .Any(source => source.Adopted && source.Secret == secret);

    public IEnumerable<V1Alpha1ConsulService> ServicesOf(string? ns, string cluster) =>
        ConsulServices.List(ns).Where(s => s.Spec.ClusterRef.Name == cluster);

    /// <summary>Mid-upgrade the servers run two versions; the older one decides what a token or policy may rely on.</summary>
    public ConsulVersion OldestServerVersion(V1Alpha1ConsulCluster cluster)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        return Pods.List(names.Namespace)
            .Select(p => p.Metadata.Labels ?? new Dictionary<string, string>())
            .Where(l => l.TryGetValue(Labels.Instance, out var instance) && instance == names.Cluster && l.TryGetValue(Labels.Component, out var component) && component == Components.Server)
            .Select(l => l.TryGetValue(Labels.Version, out var text) && ConsulVersion.TryParse(text, out var v) ? v : null)
            .OfType<ConsulVersion>()
            .Append(ConsulVersion.Parse(cluster.Spec.Version))
            .Min()!;
    }

    // For objects the cluster does not own (pods, the snapshot volume): the instance label names the cluster.
    private static void EnqueueInstance(IMetadata<V1ObjectMeta> item, Action<string> enqueue)
    {
        if (item.Metadata.Labels?.TryGetValue(Labels.Instance, out var cluster) == true)
        {
            enqueue(Controller.Key(item.Metadata.NamespaceProperty, cluster));
        }
    }

    private static void EnqueueRestore(IMetadata<V1ObjectMeta> item, Action<string> enqueue)
    {
        if (item.Metadata.Labels?.TryGetValue(SnapshotRestores.RestoreLabel, out var restore) == true)
        {
            enqueue(Controller.Key(item.Metadata.NamespaceProperty, restore));
        }
    }

    private void EnqueueReferencing(string ns, string service, Action<string> enqueue)
    {
        foreach (var referencing in ConsulServices.List(ns).Where(s => s.Spec.ServiceRef?.Name == service))
        {
            enqueue(Controller.Key(ns, referencing.Metadata.Name));
        }
    }

    private static T WithoutManagedFields<T>(T item)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        item.Metadata.ManagedFields = null;
        return item;
    }

    // A node's images, capacity and system info are most of its size, and serviceRef reads none of them.
    private static V1Node NodeAddresses(V1Node node) => new()
    {
        ApiVersion = node.ApiVersion,
        Kind = node.Kind,
        Metadata = new V1ObjectMeta { Name = node.Metadata.Name, ResourceVersion = node.Metadata.ResourceVersion, Uid = node.Metadata.Uid },
        Spec = new V1NodeSpec { Unschedulable = node.Spec?.Unschedulable },
        Status = new V1NodeStatus { Addresses = node.Status?.Addresses, Conditions = node.Status?.Conditions?.Where(c => c.Type == "Ready").ToList() },
    };

    private static void EnqueueExternalAgent(IMetadata<V1ObjectMeta> item, Action<string> enqueue)
    {
        if (item.Metadata.OwnerReferences?.FirstOrDefault(r => r.Controller == true && r.Kind == V1Alpha1ConsulExternalAgent.KindName) is { } owner)
        {
            enqueue(Controller.Key(item.Metadata.NamespaceProperty, owner.Name));
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

/// <summary>Where each kind's keys go: one work queue per controller.</summary>
public sealed record ControllerQueues(Action<string> Clusters, Action<string> Services, Action<string> AclPolicies, Action<string> AclTokens, Action<string> Restores, Action<string> ExternalAgents);
