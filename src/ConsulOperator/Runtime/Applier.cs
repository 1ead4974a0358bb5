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
/// The version of the live object a desired object was computed from: null when it was computed from the object's
/// absence. Key material is built from what the cache showed when the reconcile read it; if the object moved on since
/// (the cache caught up with a CA it had missed), writing it would replace real key material with a new one.
/// </summary>
public sealed record ComputedFrom(string? ResourceVersion);

/// <summary>
/// Creates what is missing and puts back what differs from the desired object; an object that already matches costs
/// nothing. Desired objects carry a hash of their content in the annotation <paramref name="specHashAnnotation"/>.
/// </summary>
public sealed class Applier(KubeApi api, string specHashAnnotation)
{
    // Which version of each object was last found to match which desired spec hash: while neither changes, there is
    // nothing to compare. Any write by anyone changes the resourceVersion and so forces a full comparison.
    private readonly ConcurrentDictionary<(string Kind, string Namespace, string Name), (string? Version, string Hash)> verified = new();

    /// <summary>
    /// Creates or puts back <paramref name="desired"/>. With <paramref name="computedFrom"/>, it is written only if the live
    /// object is still the one it was computed from; otherwise a conflict is thrown (the key is requeued, and the next
    /// reconcile computes from what is there now).
    /// </summary>
    public async Task<ApplyOutcome> ApplyAsync<T>(T desired, ICache<T> cache, CancellationToken cancel, ComputedFrom? computedFrom = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var key = (desired.Kind, desired.Metadata.NamespaceProperty, desired.Metadata.Name);
        var hash = desired.Metadata.Annotations is { } annotations && annotations.TryGetValue(specHashAnnotation, out var value) ? value : "";
        var live = cache.Find(desired.Metadata.NamespaceProperty, desired.Metadata.Name);
        if (computedFrom is not null && live?.Metadata.ResourceVersion != computedFrom.ResourceVersion)
        {
            throw new KubeApiException(
                System.Net.HttpStatusCode.Conflict, "Conflict",
                $"{desired.Kind} {desired.Metadata.NamespaceProperty}/{desired.Metadata.Name} changed after it was read (read at {computedFrom.ResourceVersion ?? "absent"}, now {live?.Metadata.ResourceVersion ?? "absent"}); not overwriting it");
        }

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
