using System.Collections.Concurrent;
using System.Text.Json.Nodes;
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

    bool Served { get; }

    void LookAgain();

    Task RunAsync(CancellationToken cancel);

    Task WaitForSyncAsync(CancellationToken cancel);
}

/// <summary>
/// Keeps a local copy of every object of one kind (in some namespaces, matching a label selector) by listing once and
/// then watching from the list's resourceVersion. Bookmarks move the resourceVersion forward; a dropped watch resumes
/// from it after a backoff; 410 Gone means the history is compacted and the informer lists again.
/// Reconcilers read this cache instead of the API, so a steady cluster costs no reads.
/// An optional kind (another project's CRD, which may not be installed), given <paramref name="retryWhileNotServed"/>,
/// counts as synced and empty while the API does not serve it. It is listed again when someone needs it
/// (<see cref="LookAgain"/>), at most that often, so that nobody asking costs no requests.
/// </summary>
public sealed class Informer<T>(
    KubeApi api, IReadOnlyList<string?> namespaces, string? labelSelector, ILogger logger, TimeProvider time, TimeSpan? retryWhileNotServed = null, Func<T, T>? keep = null)
    : ICache<T>, IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<(string Namespace, string Name), T> items = new();
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int syncedNamespaces;
    private int unservedNamespaces;
    private TaskCompletionSource wanted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every change: the object as it is now, or as it was last seen when it was deleted.</summary>
    public event Action<T>? Changed;

    public bool HasSynced => synced.Task.IsCompleted;

    /// <summary>Whether the API serves the kind (always, unless it is optional and its CRD is not installed).</summary>
    public bool Served => Volatile.Read(ref unservedNamespaces) == 0;

    /// <summary>An object of this kind is wanted: if the kind is not served, list it again (no sooner than the retry period).</summary>
    public void LookAgain() => Volatile.Read(ref wanted).TrySetResult();

    public Task WaitForSyncAsync(CancellationToken cancel) => synced.Task.WaitAsync(cancel);

    public T? Find(string ns, string name) => items.GetValueOrDefault((ns, name));

    public IReadOnlyList<T> List(string? ns = null) => [.. items.Values.Where(i => ns is null || i.Metadata.NamespaceProperty == ns)];

    public Task RunAsync(CancellationToken cancel) => Task.WhenAll(namespaces.Select(ns => RunNamespaceAsync(ns, cancel)));

    private async Task RunNamespaceAsync(string? ns, CancellationToken cancel)
    {
        string? resourceVersion = null;
        var failures = 0;
        var counted = false;
        var served = true;
        void Synced()
        {
            if (!counted && Interlocked.Increment(ref syncedNamespaces) == namespaces.Count)
            {
                synced.TrySetResult();
            }

            counted = true;
        }

        while (!cancel.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(ns, cancel);
                    if (!served)
                    {
                        served = true;
                        Interlocked.Decrement(ref unservedNamespaces);
                        logger.LogInformation("{Kind} is served now", typeof(T).Name);
                    }

                    Synced();
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
            }
            catch (KubeApiException e) when (retryWhileNotServed is { } retry && e.IsNotFound && !cancel.IsCancellationRequested)
            {
                if (served)
                {
                    served = false;
                    Interlocked.Increment(ref unservedNamespaces);
                    logger.LogInformation("{Kind} is not served (its CRD is not installed); looking again every {Retry}", typeof(T).Name, retry);
                    Forget(ns);
                }

                resourceVersion = null;
                Synced();
                await Task.Delay(retry, time, cancel).ContinueWith(_ => { }, TaskScheduler.Default);
                var signal = Volatile.Read(ref wanted);
                await signal.Task.WaitAsync(cancel).ContinueWith(_ => { }, TaskScheduler.Default);

                // One request answered by this look; the next one waits for a new request.
                Interlocked.CompareExchange(ref wanted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), signal);
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
        foreach (var item in list.Items.Select(Kept))
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
        Forget(ns, seen);
        return list.ResourceVersion;
    }

    private void Forget(string? ns, HashSet<(string, string)>? except = null)
    {
        foreach (var (key, stale) in items.Where(i => (ns is null || i.Key.Namespace == ns) && except?.Contains(i.Key) != true).ToList())
        {
            items.TryRemove(key, out _);
            Changed?.Invoke(stale);
        }
    }

    private void Apply(WatchEvent<T> change)
    {
        switch (change.Type)
        {
            case "ADDED" or "MODIFIED":
                var kept = Kept(change.Item);
                var unchanged = keep is not null && items.TryGetValue(Key(kept), out var before) && SameApartFromVersion(before, kept);
                items[Key(kept)] = kept;

                // A node's heartbeat changes only what the cache does not keep: nobody needs to hear of it.
                if (!unchanged)
                {
                    Changed?.Invoke(kept);
                }

                break;
            case "DELETED":
                items.TryRemove(Key(change.Item), out _);
                Changed?.Invoke(change.Item);
                break;
        }
    }

    // What the cache holds of an object: all of it, or for kinds the operator only reads, what <c>keep</c> leaves.
    private T Kept(T item) => keep is null ? item : keep(item);

    private static bool SameApartFromVersion(T before, T after) => JsonNode.DeepEquals(WithoutVersion(before), WithoutVersion(after));

    private static JsonNode WithoutVersion(T item)
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(item))!;
        json["metadata"]!.AsObject().Remove("resourceVersion");
        return json;
    }

    private static (string, string) Key(T item) => (item.Metadata.NamespaceProperty ?? "", item.Metadata.Name);
}
