using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>One change, as a watch sends it.</summary>
public sealed record WatchEvent(long ResourceVersion, string Type, ResourceInfo Resource, string Namespace, JsonObject Item);

/// <summary>An open watch: its filter and the events waiting to be sent.</summary>
public sealed class Watcher(ResourceInfo resource, string? ns, Selector selector)
{
    public Channel<WatchEvent> Events { get; } = Channel.CreateUnbounded<WatchEvent>();

    public bool Wants(WatchEvent change) =>
        change.Resource == resource && (ns is null || change.Namespace == ns) && selector.Matches(change.Item);
}

/// <summary>
/// The storage of the test API server, with the semantics controllers depend on: a global resourceVersion,
/// optimistic concurrency, generation bumped only by spec changes, the status subresource, finalizers and deletionTimestamp,
/// garbage collection through owner references, and a bounded watch history that answers 410 Gone once compacted.
/// </summary>
public sealed class ObjectStore(TimeProvider time)
{
    private readonly Lock gate = new();
    private readonly Dictionary<(ResourceInfo Resource, string Namespace, string Name), JsonObject> objects = [];
    private readonly List<WatchEvent> history = [];
    private readonly List<Watcher> watchers = [];
    private long resourceVersion = 1000;
    private long compactedThrough;
    private int nextServiceIp = 10;

    /// <summary>Called after every write, outside the lock; the simulated controllers hang off it.</summary>
    public event Action<WatchEvent>? Changed;

    public long CurrentResourceVersion
    {
        get
        {
            lock (gate)
            {
                return resourceVersion;
            }
        }
    }

    public JsonObject? Get(ResourceInfo resource, string ns, string name)
    {
        lock (gate)
        {
            return objects.TryGetValue((resource, ns, name), out var item) ? (JsonObject)item.DeepClone() : null;
        }
    }

    public (List<JsonObject> Items, long ResourceVersion) List(ResourceInfo resource, string? ns, Selector selector)
    {
        lock (gate)
        {
            var items = objects.Where(o => o.Key.Resource == resource && (ns is null || o.Key.Namespace == ns) && selector.Matches(o.Value))
                .OrderBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal)
                .Select(o => (JsonObject)o.Value.DeepClone()).ToList();
            return (items, resourceVersion);
        }
    }

    public JsonObject Create(ResourceInfo resource, string ns, JsonObject item)
    {
        WatchEvent change;
        lock (gate)
        {
            var metadata = item["metadata"] as JsonObject ?? throw new ApiException(400, "BadRequest", "metadata is required");
            var name = (string?)metadata["name"];
            if (string.IsNullOrEmpty(name) && (string?)metadata["generateName"] is { } prefix)
            {
                name = prefix + Guid.NewGuid().ToString("N")[..5];
            }

            if (string.IsNullOrEmpty(name))
            {
                throw ApiException.Invalid(resource, "", "metadata.name: Required value: name or generateName is required");
            }

            if (resource.Namespaced && !objects.ContainsKey((ResourceCatalog.Find("", "v1", "namespaces")!, "", ns)))
            {
                throw new ApiException(404, "NotFound", $"namespaces \"{ns}\" not found");
            }

            var key = (resource, resource.Namespaced ? ns : "", name);
            if (objects.ContainsKey(key))
            {
                throw ApiException.AlreadyExists(resource, name);
            }

            var stored = (JsonObject)item.DeepClone();
            stored["apiVersion"] = resource.ApiVersion;
            stored["kind"] = resource.Kind;
            var meta = stored["metadata"]!.AsObject();
            meta["name"] = name;
            if (resource.Namespaced)
            {
                meta["namespace"] = ns;
            }

            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = Timestamp();
            meta["generation"] = 1;
            meta.Remove("deletionTimestamp");
            meta.Remove("resourceVersion");
            if (resource.HasStatus)
            {
                stored.Remove("status");
            }

            Admit(resource, stored, previous: null);
            change = Store(resource, key, stored, "ADDED");
        }

        Changed?.Invoke(change);
        return (JsonObject)change.Item.DeepClone();
    }

    /// <summary>PUT: optimistic concurrency on metadata.resourceVersion; the main resource cannot change status and the status subresource changes nothing else.</summary>
    public JsonObject Update(ResourceInfo resource, string ns, string name, JsonObject item, bool statusOnly)
    {
        var changes = new List<WatchEvent>();
        lock (gate)
        {
            var key = (resource, resource.Namespaced ? ns : "", name);
            if (!objects.TryGetValue(key, out var current))
            {
                throw ApiException.NotFound(resource, name);
            }

            if ((string?)item["metadata"]?["name"] is { } bodyName && bodyName != name)
            {
                throw new ApiException(400, "BadRequest", $"the name of the object ({bodyName}) does not match the name on the URL ({name})");
            }

            if ((string?)item["metadata"]?["resourceVersion"] is { Length: > 0 } expected && expected != (string?)current["metadata"]!["resourceVersion"])
            {
                throw ApiException.Conflict(resource, name);
            }

            JsonObject next;
            if (statusOnly)
            {
                next = (JsonObject)current.DeepClone();
                next["status"] = item["status"]?.DeepClone();
            }
            else
            {
                next = (JsonObject)item.DeepClone();
                next["apiVersion"] = resource.ApiVersion;
                next["kind"] = resource.Kind;
                var meta = next["metadata"] as JsonObject ?? new JsonObject();
                next["metadata"] = meta;
                var currentMeta = current["metadata"]!.AsObject();
                foreach (var owned in new[] { "name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp" })
                {
                    meta.Remove(owned);
                    if (currentMeta[owned] is { } value)
                    {
                        meta[owned] = value.DeepClone();
                    }
                }

                if (currentMeta["deletionTimestamp"] is not null && AddsFinalizer(currentMeta, meta))
                {
                    throw new ApiException(422, "Invalid", $"{resource.Kind} \"{name}\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted");
                }

                if (resource.HasStatus)
                {
                    next["status"] = current["status"]?.DeepClone();
                }

                Admit(resource, next, current);
                if (SpecChanged(current, next))
                {
                    meta["generation"] = Number(currentMeta["generation"]) + 1;
                }
            }

            if (JsonNode.DeepEquals(Comparable(current), Comparable(next)))
            {
                // A no-op write changes nothing, not even the resourceVersion, as on a real API server.
                return (JsonObject)current.DeepClone();
            }

            changes.Add(Store(resource, key, next, "MODIFIED"));
            if (next["metadata"]!["deletionTimestamp"] is not null && Finalizers(next).Count == 0)
            {
                RemoveLocked(resource, key, changes);
            }
        }

        Publish(changes);
        return (JsonObject)changes[0].Item.DeepClone();
    }

    public JsonObject Delete(ResourceInfo resource, string ns, string name)
    {
        var changes = new List<WatchEvent>();
        JsonObject result;
        lock (gate)
        {
            var key = (resource, resource.Namespaced ? ns : "", name);
            if (!objects.TryGetValue(key, out var current))
            {
                throw ApiException.NotFound(resource, name);
            }

            if (Finalizers(current).Count > 0)
            {
                if (current["metadata"]!["deletionTimestamp"] is null)
                {
                    var next = (JsonObject)current.DeepClone();
                    next["metadata"]!["deletionTimestamp"] = Timestamp();
                    next["metadata"]!["deletionGracePeriodSeconds"] = 0;
                    next["metadata"]!["generation"] = Number(current["metadata"]!["generation"]) + 1;
                    changes.Add(Store(resource, key, next, "MODIFIED"));
                }

                result = (JsonObject)objects[key].DeepClone();
            }
            else
            {
                result = (JsonObject)current.DeepClone();
                RemoveLocked(resource, key, changes);
            }
        }

        Publish(changes);
        return result;
    }

    /// <summary>Registers a watch; from a resourceVersion it replays what came after, and throws 410 Gone when that part of history is compacted.</summary>
    public Watcher Watch(ResourceInfo resource, string? ns, Selector selector, string? fromResourceVersion)
    {
        lock (gate)
        {
            var watcher = new Watcher(resource, ns, selector);
            if (string.IsNullOrEmpty(fromResourceVersion) || fromResourceVersion == "0")
            {
                foreach (var item in List(resource, ns, selector).Items)
                {
                    watcher.Events.Writer.TryWrite(new WatchEvent(resourceVersion, "ADDED", resource, (string?)item["metadata"]!["namespace"] ?? "", item));
                }
            }
            else
            {
                var from = long.Parse(fromResourceVersion, CultureInfo.InvariantCulture);
                if (from < compactedThrough)
                {
                    throw ApiException.Gone($"too old resource version: {from} ({compactedThrough})");
                }

                foreach (var change in history.Where(h => h.ResourceVersion > from && watcher.Wants(h)))
                {
                    watcher.Events.Writer.TryWrite(change);
                }
            }

            watchers.Add(watcher);
            return watcher;
        }
    }

    public void StopWatching(Watcher watcher)
    {
        lock (gate)
        {
            watchers.Remove(watcher);
        }
    }

    /// <summary>Forgets the watch history, as etcd compaction does: watches from an older resourceVersion get 410 Gone.</summary>
    public void Compact()
    {
        lock (gate)
        {
            history.Clear();
            compactedThrough = resourceVersion;
        }
    }

    /// <summary>Ends every open watch, as a load balancer or API server restart does.</summary>
    public void DropWatches()
    {
        lock (gate)
        {
            foreach (var watcher in watchers)
            {
                watcher.Events.Writer.TryComplete();
            }

            watchers.Clear();
        }
    }

    private WatchEvent Store(ResourceInfo resource, (ResourceInfo, string, string) key, JsonObject item, string type)
    {
        resourceVersion++;
        item["metadata"]!["resourceVersion"] = resourceVersion.ToString(CultureInfo.InvariantCulture);
        objects[key] = item;
        var change = new WatchEvent(resourceVersion, type, resource, key.Item2, (JsonObject)item.DeepClone());
        history.Add(change);
        foreach (var watcher in watchers.Where(w => w.Wants(change)))
        {
            watcher.Events.Writer.TryWrite(change);
        }

        return change;
    }

    // Removal, then garbage collection of everything the removed object owned (background propagation).
    private void RemoveLocked(ResourceInfo resource, (ResourceInfo, string, string) key, List<WatchEvent> changes)
    {
        var removed = objects[key];
        objects.Remove(key);
        resourceVersion++;
        var change = new WatchEvent(resourceVersion, "DELETED", resource, key.Item2, (JsonObject)removed.DeepClone());
        history.Add(change);
        foreach (var watcher in watchers.Where(w => w.Wants(change)))
        {
            watcher.Events.Writer.TryWrite(change);
        }

        changes.Add(change);
        var uid = (string?)removed["metadata"]!["uid"];
        var dependents = objects.Where(o => (o.Value["metadata"]?["ownerReferences"] as JsonArray)?.Any(r => (string?)r?["uid"] == uid) == true).Select(o => o.Key).ToList();
        foreach (var dependent in dependents)
        {
            if (Finalizers(objects[dependent]).Count > 0)
            {
                var next = (JsonObject)objects[dependent].DeepClone();
                next["metadata"]!["deletionTimestamp"] ??= Timestamp();
                changes.Add(Store(dependent.Resource, dependent, next, "MODIFIED"));
            }
            else
            {
                RemoveLocked(dependent.Resource, dependent, changes);
            }
        }
    }

    private void Publish(List<WatchEvent> changes)
    {
        foreach (var change in changes)
        {
            Changed?.Invoke(change);
        }
    }

    // What the API server itself fills in or refuses for the kinds we serve.
    private void Admit(ResourceInfo resource, JsonObject item, JsonObject? previous)
    {
        var name = (string)item["metadata"]!["name"]!;
        switch (resource.Kind)
        {
            case "Service":
                var spec = item["spec"] as JsonObject ?? new JsonObject();
                item["spec"] = spec;
                var previousIp = (string?)previous?["spec"]?["clusterIP"];
                var ip = (string?)spec["clusterIP"];
                if (previousIp is not null && ip is not null && ip != previousIp)
                {
                    throw ApiException.Invalid(resource, name, "spec.clusterIP: Invalid value: field is immutable");
                }

                spec["clusterIP"] = ip ?? previousIp ?? $"10.96.{nextServiceIp / 250}.{(nextServiceIp++ % 250) + 1}";
                spec["clusterIPs"] = new JsonArray((string)spec["clusterIP"]!);
                spec["type"] ??= "ClusterIP";
                break;
            case "StatefulSet" when previous is not null:
                string[] mutable = ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];
                var before = (JsonObject)previous["spec"]!.DeepClone();
                var after = (JsonObject)item["spec"]!.DeepClone();
                foreach (var field in mutable)
                {
                    before.Remove(field);
                    after.Remove(field);
                }

                if (!JsonNode.DeepEquals(before, after))
                {
                    throw ApiException.Invalid(resource, name, "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
                }

                break;
            case "Secret":
                if (item["stringData"] is JsonObject stringData)
                {
                    var data = item["data"] as JsonObject ?? new JsonObject();
                    foreach (var (key, value) in stringData)
                    {
                        data[key] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes((string?)value ?? ""));
                    }

                    item["data"] = data;
                    item.Remove("stringData");
                }

                break;
        }
    }

    private static bool SpecChanged(JsonObject before, JsonObject after)
    {
        static JsonObject WithoutMetadataAndStatus(JsonObject item)
        {
            var copy = (JsonObject)item.DeepClone();
            copy.Remove("metadata");
            copy.Remove("status");
            return copy;
        }

        return !JsonNode.DeepEquals(WithoutMetadataAndStatus(before), WithoutMetadataAndStatus(after));
    }

    private static JsonObject Comparable(JsonObject item)
    {
        var copy = (JsonObject)item.DeepClone();
        copy["metadata"]!.AsObject().Remove("resourceVersion");
        return copy;
    }

    private static bool AddsFinalizer(JsonObject before, JsonObject after)
    {
        var old = (before["finalizers"] as JsonArray)?.Select(f => (string?)f).ToHashSet() ?? [];
        return (after["finalizers"] as JsonArray)?.Any(f => !old.Contains((string?)f)) == true;
    }

    /// <summary>A number however it was stored: as a number (a JsonValue made from an int will not hand itself out as a long) or as the string a resourceVersion is.</summary>
    public static long Number(JsonNode? node) => node switch
    {
        null => 0,
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String => long.Parse((string)value!, CultureInfo.InvariantCulture),
        _ => long.Parse(node.ToJsonString(), CultureInfo.InvariantCulture),
    };

    private static List<string> Finalizers(JsonObject item) =>
        (item["metadata"]?["finalizers"] as JsonArray)?.Select(f => (string)f!).ToList() ?? [];

    private string Timestamp() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
