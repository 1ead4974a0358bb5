using k8s;
using k8s.Models;

namespace ConsulOperator.Runtime;

/// <summary>The writes every reconciler makes to the object it reconciles: its finalizer and its status, each only when needed.</summary>
public static class ObjectWrites
{
    /// <summary>Adds the finalizer unless it is there; returns the object as stored.</summary>
    public static async Task<T> AddFinalizerAsync<T>(this KubeApi api, T item, string finalizer, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (item.Metadata.Finalizers?.Contains(finalizer) == true)
        {
            return item;
        }

        var copy = DeepCopy(item);
        copy.Metadata.Finalizers = [.. item.Metadata.Finalizers ?? [], finalizer];
        return await api.ReplaceAsync(copy, cancel);
    }

    /// <summary>Removes the finalizer if it is there, which lets a deletion go on.</summary>
    public static async Task RemoveFinalizerAsync<T>(this KubeApi api, T item, string finalizer, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (item.Metadata.Finalizers?.Contains(finalizer) != true)
        {
            return;
        }

        var copy = DeepCopy(item);
        copy.Metadata.Finalizers = [.. item.Metadata.Finalizers.Where(f => f != finalizer)];
        await api.ReplaceAsync(copy, cancel);
    }

    /// <summary>Writes the status subresource only when the status differs from what the object shows: an unchanged reconcile costs no write.</summary>
    public static async Task WriteStatusAsync<T, TStatus>(this KubeApi api, T item, TStatus status, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta>, IStatus<TStatus?>
        where TStatus : class
    {
        if (item.Status is not null && KubernetesJson.Serialize(status) == KubernetesJson.Serialize(item.Status))
        {
            return;
        }

        var copy = DeepCopy(item);
        copy.Status = status;
        await api.ReplaceStatusAsync(copy, cancel);
    }

    public static T DeepCopy<T>(T item) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(item));
}
