using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Runtime;

/// <summary>A read-only view of the cached objects of one kind.</summary>
public interface ICache<T>
{
    T? Find(string ns, string name);

    IReadOnlyList<T> List(string? ns = null);
}

/// <summary>An informer whatever its kind: what a set of informers is started and waited on by.</summary>
public interface IInformer
{
    bool HasSynced { get; }

    Task RunAsync(CancellationToken cancel);

    Task WaitForSyncAsync(CancellationToken cancel);
}

/// <summary>
/// Keeps a local copy of every object of one kind (in some namespaces, matching a label selector) by listing once and
/// then watching from the list's resourceVersion. Bookmarks move the resourceVersion forward; a dropped watch resumes
/// from it after a backoff; 410 Gone means the history is compacted and the informer lists again.
/// Reconcilers read this cache instead of the API, so a steady cluster costs no reads.
/// </summary>
public sealed class Informer<T>(KubeApi api, IReadOnlyList<string?> namespaces, string? labelSelector, ILogger logger, TimeProvider time) : ICache<T>, IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<(string Namespace, string Name), T> items = new();
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int syncedNamespaces;

    /// <summary>Every change: the object as it is now, or as it was last seen when it was deleted.</summary>
    public event Action<T>? Changed;

    public bool HasSynced => synced.Task.IsCompleted;

    public Task WaitForSyncAsync(CancellationToken cancel) => synced.Task.WaitAsync(cancel);

    public T? Find(string ns, string name) => items.GetValueOrDefault((ns, name));

    public IReadOnlyList<T> List(string? ns = null) => [.. items.Values.Where(i => ns is null || i.Metadata.NamespaceProperty == ns)];

    public Task RunAsync(CancellationToken cancel) => Task.WhenAll(namespaces.Select(ns => RunNamespaceAsync(ns, cancel)));

    private async Task RunNamespaceAsync(string? ns, CancellationToken cancel)
    {
        string? resourceVersion = null;
        var failures = 0;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(ns, cancel);
                    if (Interlocked.Increment(ref syncedNamespaces) == namespaces.Count)
                    {
                        synced.TrySetResult();
                    }
                }

                // Servers end watches after timeoutSeconds; a spread keeps many informers from reconnecting in step.
                var timeout = 240 + Random.Shared.Next(120);
                await foreach (var change in api.WatchAsync<T>(ns, labelSelector, resourceVersion, timeout, cancel))
                {
                    resourceVersion = change.Item.Metadata.ResourceVersion ?? resourceVersion;
                    Apply(change);
                    failures = 0;
                }
            }
            catch (KubeApiException e) when (e.IsGone)
            {
                logger.LogInformation("Watch of {Kind} expired ({Message}); listing again", typeof(T).Name, e.Message);
                resourceVersion = null;
                Interlocked.Decrement(ref syncedNamespaces);
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && e is KubeApiException or HttpRequestException or IOException or System.Text.Json.JsonException)
            {
                failures++;
                var delay = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, TimeSpan.FromMilliseconds(200).Ticks << Math.Min(failures, 10)));
                logger.LogWarning("Watch of {Kind} failed ({Message}); retrying in {Delay}", typeof(T).Name, e.Message, delay);
                await Task.Delay(delay, time, cancel).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task<string> ListAsync(string? ns, CancellationToken cancel)
    {
        var list = await api.ListAsync<T>(ns, labelSelector, cancel);
        var seen = new HashSet<(string, string)>();
        foreach (var item in list.Items)
        {
            var key = Key(item);
            seen.Add(key);
            if (!items.TryGetValue(key, out var old) || old.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
            {
                items[key] = item;
                Changed?.Invoke(item);
            }
        }

        // What vanished while we were not watching is gone for good.
        foreach (var (key, stale) in items.Where(i => (ns is null || i.Key.Namespace == ns) && !seen.Contains(i.Key)).ToList())
        {
            items.TryRemove(key, out _);
            Changed?.Invoke(stale);
        }

        return list.ResourceVersion;
    }

    private void Apply(WatchEvent<T> change)
    {
        switch (change.Type)
        {
            case "ADDED" or "MODIFIED":
                items[Key(change.Item)] = change.Item;
                Changed?.Invoke(change.Item);
                break;
            case "DELETED":
                items.TryRemove(Key(change.Item), out _);
                Changed?.Invoke(change.Item);
                break;
        }
    }

    private static (string, string) Key(T item) => (item.Metadata.NamespaceProperty ?? "", item.Metadata.Name);
}
