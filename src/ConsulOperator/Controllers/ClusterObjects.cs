using ConsulOperator.Api.PrometheusOperator;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>The objects a ConsulCluster consists of, kept as the desired state says: what the reconciler hands over to apply.</summary>
public sealed class ClusterObjects(KubeApi api, Applier applier, OperatorCaches caches, EventRecorder events, ILogger<ClusterObjects> logger)
{
    /// <summary>
    /// Creates or updates what differs, then deletes what is no longer wanted (Desired/Pruning); one Event per kind of
    /// change, naming the objects. Objects of kinds the API does not serve wait, with a Warning.
    /// </summary>
    public async Task ApplyAsync(
        V1Alpha1ConsulCluster cluster, IEnumerable<IKubernetesObject<V1ObjectMeta>> desired, Func<string, ComputedFrom> secretComputedFrom, CancellationToken cancel)
    {
        var applied = new List<(string Outcome, string Object)>();
        var unserved = new List<IKubernetesObject<V1ObjectMeta>>();
        var wanted = desired.ToList();
        foreach (var item in wanted)
        {
            if (!caches.Serves(item))
            {
                unserved.Add(item);
                continue;
            }

            var outcome = await ApplyOneAsync(item, secretComputedFrom, cancel);
            if (outcome != ApplyOutcome.Unchanged)
            {
                logger.LogInformation("{Outcome} {Kind} {Name}", outcome, item.Kind, item.Metadata.Name);
                applied.Add((outcome.ToString(), $"{item.Kind} {item.Metadata.Name}"));
            }
        }

        // Only once everything wanted is in place does what is no longer wanted go.
        async Task PruneAsync<T>(Informer<T> cache)
            where T : class, IKubernetesObject<V1ObjectMeta>
        {
            var kind = Kinds.Of<T>().Kind;
            // A kind the API does not serve has an empty cache: nothing to prune.
            foreach (var live in cache.List(cluster.Metadata.NamespaceProperty))
            {
                if (Pruning.IsUnwanted(live, kind, cluster, wanted))
                {
                    await api.DeleteAsync<T>(live.Metadata.NamespaceProperty, live.Metadata.Name, cancel);
                    logger.LogInformation("Deleted {Kind} {Name}, which the spec no longer asks for", kind, live.Metadata.Name);
                    applied.Add(("Deleted", $"{kind} {live.Metadata.Name}"));
                }
            }
        }

        await PruneAsync(caches.CronJobs);
        await PruneAsync(caches.Ingresses);
        await PruneAsync(caches.PodMonitors);
        await PruneAsync(caches.PrometheusRules);

        foreach (var group in applied.GroupBy(a => a.Outcome))
        {
            await events.RecordAsync(cluster, EventRecorder.Normal, group.Key, $"{group.Key} {string.Join(", ", group.Select(a => a.Object))}", cancel);
        }

        if (unserved.Count > 0)
        {
            await events.RecordAsync(cluster, EventRecorder.Warning, "PrometheusOperatorMissing",
                $"spec.telemetry asks for {string.Join(", ", unserved.Select(u => $"{u.Kind} {u.Metadata.Name}"))}, but the API serves no {string.Join(" or ", unserved.Select(u => u.ApiVersion).Distinct())} {string.Join(", ", unserved.Select(u => u.Kind).Distinct())} (the Prometheus Operator's CRDs are not installed); they are created once it does",
                cancel);
        }
    }

    private Task<ApplyOutcome> ApplyOneAsync(IKubernetesObject<V1ObjectMeta> item, Func<string, ComputedFrom> secretComputedFrom, CancellationToken cancel) => item switch
    {
        V1Secret secret => applier.ApplyAsync(secret, caches.Secrets, cancel, secretComputedFrom(secret.Metadata.Name)),
        V1ConfigMap configMap => applier.ApplyAsync(configMap, caches.ConfigMaps, cancel),
        V1Service service => applier.ApplyAsync(service, caches.Services, cancel),
        V1PodDisruptionBudget budget => applier.ApplyAsync(budget, caches.DisruptionBudgets, cancel),
        V1StatefulSet set => applier.ApplyAsync(set, caches.StatefulSets, cancel),
        V1PersistentVolumeClaim claim => applier.ApplyAsync(claim, caches.Claims, cancel),
        V1CronJob job => applier.ApplyAsync(job, caches.CronJobs, cancel),
        V1Ingress ingress => applier.ApplyAsync(ingress, caches.Ingresses, cancel),
        V1PodMonitor monitor => applier.ApplyAsync(monitor, caches.PodMonitors, cancel),
        V1PrometheusRule rule => applier.ApplyAsync(rule, caches.PrometheusRules, cancel),
        _ => throw new InvalidOperationException($"no cache for {item.Kind}"),
    };
}
