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

/// <summary>Creates what is missing and puts back what differs from the desired object; an object that already matches costs nothing.</summary>
public sealed class Applier(KubeApi api)
{
    public async Task<ApplyOutcome> ApplyAsync<T>(T desired, ICache<T> cache, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var live = cache.Find(desired.Metadata.NamespaceProperty, desired.Metadata.Name);
        if (live is null)
        {
            try
            {
                await api.CreateAsync(desired, cancel);
                return ApplyOutcome.Created;
            }
            catch (KubeApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict && e.Reason == "AlreadyExists")
            {
                // The cache has not seen it yet; read it once and compare.
                live = await api.GetAsync<T>(desired.Metadata.NamespaceProperty, desired.Metadata.Name, cancel)
                    ?? throw new KubeApiException(System.Net.HttpStatusCode.Conflict, "Conflict", $"{desired.Kind} {desired.Metadata.Name} exists and vanished again");
            }
        }

        var desiredJson = JsonNode.Parse(KubernetesJson.Serialize(desired))!.AsObject();
        var liveJson = JsonNode.Parse(KubernetesJson.Serialize(live))!.AsObject();
        if (DesiredComparison.IsSatisfiedBy(desiredJson, liveJson))
        {
            return ApplyOutcome.Unchanged;
        }

        var merged = DesiredComparison.Merge(liveJson, desiredJson);
        merged["metadata"]!["resourceVersion"] = live.Metadata.ResourceVersion;
        await api.ReplaceAsync(KubernetesJson.Deserialize<T>(merged), cancel);
        return ApplyOutcome.Updated;
    }
}
