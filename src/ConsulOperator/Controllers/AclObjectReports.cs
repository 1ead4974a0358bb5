using ConsulOperator.Consul;
using ConsulOperator.Runtime;
using k8s;
using k8s.Models;

namespace ConsulOperator.Controllers;

/// <summary>
/// The Ready and Degraded conditions of a ConsulACLPolicy or ConsulACLToken, and what each outcome of a reconcile says:
/// ready; waiting (not degraded, requeued by what it waits for); refused or failing (degraded, with a Warning Event).
/// </summary>
public sealed class AclObjectReports<T>(
    KubeApi api, EventRecorder events, TimeProvider time, Func<T, IEnumerable<V1Condition>?> conditionsOf, Func<T, List<V1Condition>, CancellationToken, Task> write)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public List<V1Condition> Ready(T item, string reason, string message) =>
        Conditions.Set(Conditions.Set(conditionsOf(item), Conditions.Ready, true, reason, message, item.Metadata.Generation, time.GetUtcNow()),
            Conditions.Degraded, false, "AsExpected", "no problem found", item.Metadata.Generation, time.GetUtcNow());

    /// <summary>What the cluster or a policy still lacks; their changes requeue the object, so there is nothing to poll for.</summary>
    public async Task<ReconcileResult> WaitAsync(T item, ClusterWait waiting, CancellationToken cancel)
    {
        await write(item, NotReady(item, waiting.Reason, waiting.Message, degraded: false), cancel);
        return ReconcileResult.Done;
    }

    /// <summary>Refused (by validation or by Consul): only a change of the object helps.</summary>
    public async Task<ReconcileResult> RefuseAsync(T item, string reason, string message, CancellationToken cancel)
    {
        await DegradedAsync(item, reason, message, cancel);
        return ReconcileResult.Done;
    }

    /// <summary>Consul failed in a way that may pass: tried again shortly.</summary>
    public async Task<ReconcileResult> ConsulErrorAsync(T item, ConsulApiException error, CancellationToken cancel)
    {
        await DegradedAsync(item, "ConsulError", error.Message, cancel);
        return ReconcileResult.After(TimeSpan.FromSeconds(5));
    }

    private async Task<ReconcileResult> WaitToDeleteAsync(T item, string what, ClusterWait waiting, CancellationToken cancel)
    {
        await DegradedAsync(item, "DeletionWaiting", $"waiting to delete {what} from Consul before the object goes: {waiting.Message}", cancel);
        return ReconcileResult.After(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Deletion: what the object made in Consul goes before its finalizer does (<paramref name="delete"/> is null when it
    /// made nothing there, or its cluster is gone or going and takes it along). While Consul cannot be reached or fails,
    /// the object stays and says why.
    /// </summary>
    public async Task<ReconcileResult> ReleaseAsync(
        T item, string finalizer, string what, Func<ConsulClient, CancellationToken, Task>? delete, ClusterConnection? connection, ClusterWait waiting, CancellationToken cancel)
    {
        if (item.Metadata.Finalizers?.Contains(finalizer) != true)
        {
            return ReconcileResult.Done;
        }

        if (delete is not null)
        {
            if (connection is null)
            {
                return await WaitToDeleteAsync(item, what, waiting, cancel);
            }

            try
            {
                await delete(connection.Client, cancel);
            }
            catch (ConsulApiException e) when (e.IsTransient)
            {
                return await WaitToDeleteAsync(item, what, new("ConsulError", e.Message), cancel);
            }

            await events.RecordAsync(item, EventRecorder.Normal, "Deleted", $"{what} deleted from Consul", cancel);
        }

        await api.RemoveFinalizerAsync(item, finalizer, cancel);
        return ReconcileResult.Done;
    }

    private async Task DegradedAsync(T item, string reason, string message, CancellationToken cancel)
    {
        await events.RecordAsync(item, EventRecorder.Warning, reason, message, cancel);
        await write(item, NotReady(item, reason, message, degraded: true), cancel);
    }

    private List<V1Condition> NotReady(T item, string reason, string message, bool degraded) =>
        Conditions.Set(
            Conditions.Set(conditionsOf(item), Conditions.Ready, false, reason, message, item.Metadata.Generation, time.GetUtcNow()),
            Conditions.Degraded, degraded, degraded ? reason : "AsExpected", degraded ? message : "no problem found", item.Metadata.Generation, time.GetUtcNow());
}
