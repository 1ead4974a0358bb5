using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>
/// Runs a ConsulSnapshotRestore: creates its Job once, when its turn comes, and follows the Job to the end
/// (<see cref="RestoreProgress"/> decides). Everything it needs is in Kubernetes, so a new operator picks up where the
/// last one stopped.
/// </summary>
public sealed class ConsulSnapshotRestoreReconciler(KubeApi api, OperatorCaches caches, EventRecorder events, TimeProvider time, ILogger<ConsulSnapshotRestoreReconciler> logger) : IReconciler
{
    public string Name => "consulsnapshotrestore";

    public async Task<ReconcileResult> ReconcileAsync(string ns, string name, CancellationToken cancel)
    {
        var restore = caches.Restores.Find(ns, name);
        if (restore is null || restore.Metadata.DeletionTimestamp is not null)
        {
            return ReconcileResult.Done;
        }

        var cluster = caches.Clusters.Find(ns, restore.Spec.ClusterRef.Name);
        var jobName = SnapshotRestores.JobName(restore);
        var job = caches.Jobs.Find(ns, jobName);

        // Just created, the Job may not have reached the cache yet: only the API server can say it is gone.
        if (job is null && restore.Status is { JobName: not null, Phase: not (RestorePhase.Succeeded or RestorePhase.Failed) })
        {
            job = await api.GetAsync<V1Job>(ns, jobName, cancel);
        }

        if (job is not null && job.Metadata.OwnerReferences?.Any(o => o.Uid == restore.Metadata.Uid) != true)
        {
            job = null;
        }

        var pod = job is null ? null : caches.Pods.List(ns)
            .Where(p => Label(p, SnapshotRestores.RestoreLabel) == name && p.Metadata.OwnerReferences?.Any(o => o.Uid == job.Metadata.Uid) == true)
            .MaxBy(p => p.Metadata.CreationTimestamp);
        var step = RestoreProgress.Decide(restore, cluster, job, pod, caches.Restores.List(ns), AclSecrets(cluster), time.GetUtcNow());
        if (step.CreateJob)
        {
            await CreateJobAsync(restore, cluster!, cancel);
        }

        var before = restore.Status?.Phase;
        await api.WriteStatusAsync<V1Alpha1ConsulSnapshotRestore, ConsulSnapshotRestoreStatus>(restore, step.Status, cancel);
        if (before != step.Status.Phase)
        {
            logger.LogInformation("ConsulSnapshotRestore {Namespace}/{Name}: {Phase}: {Message}", ns, name, step.Status.Phase, step.Status.Message);
            if (Reason(step.Status.Phase) is { } reason)
            {
                var type = step.Status.Phase == RestorePhase.Failed ? EventRecorder.Warning : EventRecorder.Normal;
                await events.RecordAsync(restore, type, reason, step.Status.Message ?? "", cancel);
            }
        }

        return ReconcileResult.Done;
    }

    private static string? Reason(RestorePhase phase) => phase switch
    {
        RestorePhase.Inspecting => "RestoreStarted",
        RestorePhase.Restoring => "RestoreRestoring",
        RestorePhase.Succeeded => "RestoreSucceeded",
        RestorePhase.Failed => "RestoreFailed",
        _ => null,
    };

    // A Job of that name already there (made by an operator that stopped before it saw it) is this restore's Job.
    private async Task CreateJobAsync(V1Alpha1ConsulSnapshotRestore restore, V1Alpha1ConsulCluster cluster, CancellationToken cancel)
    {
        try
        {
            await api.CreateAsync(SnapshotRestores.Job(restore, cluster), cancel);
        }
        catch (KubeApiException e) when (e.IsConflict)
        {
            logger.LogInformation("Job {Job} exists already", SnapshotRestores.JobName(restore));
        }
    }

    // The Secrets whose ACL tokens a restore can make unknown to Consul: the cluster's own and its ConsulACLTokens'.
    private IReadOnlyList<V1Secret> AclSecrets(V1Alpha1ConsulCluster? cluster) => cluster is null ? [] :
        [.. caches.Secrets.List(cluster.Metadata.NamespaceProperty).Where(s =>
            Label(s, Labels.Instance) == cluster.Metadata.Name && Label(s, Labels.Component) is Components.Acl or Components.AclToken)];

    private static string? Label(IMetadata<V1ObjectMeta> item, string key) => item.Metadata.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;
}
