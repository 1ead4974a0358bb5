using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>
/// Stands in for the StatefulSet controller: after each change of a StatefulSet it reports its pods ready, unless a
/// test holds some back, so that status flows can be tested end to end.
/// </summary>
public sealed class StatefulSetSimulator
{
    private readonly ObjectStore store;
    private readonly Dictionary<string, int> heldBack = [];
    private readonly Lock gate = new();

    public StatefulSetSimulator(ObjectStore store)
    {
        this.store = store;
        store.Changed += OnChanged;
    }

    /// <summary>Report at most this many ready pods for the StatefulSet (namespace/name); null lifts the limit.</summary>
    public void LimitReady(string ns, string name, int? ready)
    {
        lock (gate)
        {
            if (ready is null)
            {
                heldBack.Remove($"{ns}/{name}");
            }
            else
            {
                heldBack[$"{ns}/{name}"] = ready.Value;
            }
        }

        if (store.Get(Resource, ns, name) is { } set)
        {
            Report(set);
        }
    }

    private static ResourceInfo Resource => ResourceCatalog.ForKind("apps/v1", "StatefulSet");

    private void OnChanged(WatchEvent change)
    {
        if (change.Resource == Resource && change.Type != "DELETED")
        {
            Report(change.Item);
        }
    }

    private void Report(JsonObject set)
    {
        var metadata = set["metadata"]!;
        var ns = (string)metadata["namespace"]!;
        var name = (string)metadata["name"]!;
        var replicas = set["spec"]?["replicas"] is { } r ? (int)ObjectStore.Number(r) : 1;
        int ready;
        lock (gate)
        {
            ready = Math.Min(replicas, heldBack.GetValueOrDefault($"{ns}/{name}", int.MaxValue));
        }

        var status = new JsonObject
        {
            ["observedGeneration"] = ObjectStore.Number(metadata["generation"]),
            ["replicas"] = replicas,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["currentReplicas"] = replicas,
            ["updatedReplicas"] = replicas,
        };
        if (JsonNode.DeepEquals(set["status"], status))
        {
            return;
        }

        var next = (JsonObject)set.DeepClone();
        next["status"] = status;
        try
        {
            store.Update(Resource, ns, name, next, statusOnly: true);
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            // Deleted or changed meanwhile: the next change reports again.
        }
    }
}
