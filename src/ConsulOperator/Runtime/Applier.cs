using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace ConsulOperator.Runtime;

public enum ApplyOutcome
{
    Unchanged,
    Created,
    Updated,
}

/// <summary>
/// Creates what is missing and puts back what differs from the desired object; an object that already matches costs
/// nothing. Desired objects carry a hash of their content in the annotation <paramref name="specHashAnnotation"/>.
/// </summary>
public sealed class Applier(KubeApi api, string specHashAnnotation)
{
    // Which version of each object was last found to match which desired spec hash: while neither changes, there is
    // nothing to compare. Any write by anyone changes the resourceVersion and so forces a full comparison.
    private readonly ConcurrentDictionary<(string Kind, string Namespace, string Name), (string? Version, string Hash)> verified = new();

    public async Task<ApplyOutcome> ApplyAsync<T>(T desired, ICache<T> cache, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var key = (desired.Kind, desired.Metadata.NamespaceProperty, desired.Metadata.Name);
        var hash = desired.Metadata.Annotations is { } annotations && annotations.TryGetValue(specHashAnnotation, out var value) ? value : "";
        var live = cache.Find(desired.Metadata.NamespaceProperty, desired.Metadata.Name);
        if (live is not null && hash.Length > 0 && verified.TryGetValue(key, out var known) && known == (live.Metadata.ResourceVersion, hash))
        {
            return ApplyOutcome.Unchanged;
        }

        if (live is null)
        {
            // AlreadyExists means the cache is behind. What we built from it may be wrong (a new CA where one exists),
            // so nothing is overwritten: the error requeues the key, and the next reconcile sees the real object.
            var created = await api.CreateAsync(desired, cancel);
            verified[key] = (created.Metadata.ResourceVersion, hash);
            return ApplyOutcome.Created;
        }

        var desiredJson = JsonNode.Parse(KubernetesJson.Serialize(desired))!.AsObject();
        var liveJson = JsonNode.Parse(KubernetesJson.Serialize(live))!.AsObject();
        if (DesiredComparison.IsSatisfiedBy(desiredJson, liveJson))
        {
            verified[key] = (live.Metadata.ResourceVersion, hash);
            return ApplyOutcome.Unchanged;
        }

        var merged = DesiredComparison.Merge(liveJson, desiredJson);
        merged["metadata"]!["resourceVersion"] = live.Metadata.ResourceVersion;
        var updated = await api.ReplaceAsync(KubernetesJson.Deserialize<T>(merged), cancel);
        verified[key] = (updated.Metadata.ResourceVersion, hash);
        return ApplyOutcome.Updated;
    }
}
