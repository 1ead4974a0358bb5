using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>
/// Stands in for the StatefulSet controller and the kubelet: keeps one Pod per ordinal below spec.replicas, stamped with
/// the revision (a hash of the pod template) it was created from; replaces outdated pods itself under RollingUpdate and
/// only when someone deletes them under OnDelete; reports pods ready unless a test holds some back; and writes the
/// status fields (ready, current and updated replicas, revisions) the real controller does.
/// </summary>
public sealed class StatefulSetSimulator
{
    public const string RevisionLabel = "controller-revision-hash";
    private static readonly ResourceInfo StatefulSets = ResourceCatalog.ForKind("apps/v1", "StatefulSet");
    private static readonly ResourceInfo Pods = ResourceCatalog.ForKind("v1", "Pod");
    private readonly ObjectStore store;
    private readonly Dictionary<string, int> heldBack = [];
    private readonly Lock gate = new();
    private readonly Queue<(string Namespace, string Name)> pending = new();
    private bool reconciling;

    public StatefulSetSimulator(ObjectStore store)
    {
        this.store = store;
        store.Changed += OnChanged;
    }

    /// <summary>Report at most this many ready pods (the lowest ordinals) for the StatefulSet (namespace/name); null lifts the limit.</summary>
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

        Reconcile(ns, name);
    }

    private void OnChanged(WatchEvent change)
    {
        if (change.Resource == StatefulSets && change.Type != "DELETED")
        {
            Reconcile(change.Namespace, (string)change.Item["metadata"]!["name"]!);
        }
        else if (change.Resource == Pods && change.Type == "DELETED" && OwnerOf(change.Item) is { } owner)
        {
            Reconcile(change.Namespace, owner);
        }
    }

    private void Reconcile(string ns, string name)
    {
        // The writes of a pass raise events that come back here: they queue behind the pass instead of nesting in it.
        lock (gate)
        {
            pending.Enqueue((ns, name));
            if (reconciling)
            {
                return;
            }

            reconciling = true;
            try
            {
                while (pending.TryDequeue(out var next))
                {
                    try
                    {
                        ReconcileLocked(next.Namespace, next.Name);
                    }
                    catch (ApiException e) when (e.Code is 404 or 409)
                    {
                        // Deleted or changed meanwhile: the next change reconciles again.
                    }
                }
            }
            finally
            {
                reconciling = false;
            }
        }
    }

    private void ReconcileLocked(string ns, string name)
    {
        var set = store.Get(StatefulSets, ns, name);
        if (set is null || set["metadata"]!["deletionTimestamp"] is not null)
        {
            return;
        }

        var spec = set["spec"]!;
        var replicas = spec["replicas"] is { } r ? (int)ObjectStore.Number(r) : 1;
        var revision = Revision(spec["template"]);
        var onDelete = (string?)spec["updateStrategy"]?["type"] == "OnDelete";
        var readyLimit = heldBack.GetValueOrDefault($"{ns}/{name}", int.MaxValue);

        var pods = store.List(Pods, ns, Selector.Parse(null, null)).Items.Where(p => OwnerOf(p) == name).ToDictionary(p => (string)p["metadata"]!["name"]!);
        foreach (var (podName, pod) in pods.Where(p => Ordinal(p.Key, name) >= replicas))
        {
            store.Delete(Pods, ns, podName);
        }

        var revisions = new List<string>();
        var ready = 0;
        for (var ordinal = 0; ordinal < replicas; ordinal++)
        {
            var podName = $"{name}-{ordinal}";
            pods.TryGetValue(podName, out var pod);
            if (pod is not null && !onDelete && (string?)pod["metadata"]!["labels"]?[RevisionLabel] != revision)
            {
                store.Delete(Pods, ns, podName);
                pod = null;
            }

            pod ??= store.Create(Pods, ns, NewPod(set, podName, revision));
            var isReady = ordinal < readyLimit;
            SetReady(ns, pod, isReady);
            revisions.Add((string)pod["metadata"]!["labels"]![RevisionLabel]!);
            ready += isReady ? 1 : 0;
        }

        var updated = revisions.Count(r => r == revision);
        var currentRevision = updated == replicas ? revision : (string?)set["status"]?["currentRevision"] ?? revision;
        var status = new JsonObject
        {
            ["observedGeneration"] = ObjectStore.Number(set["metadata"]!["generation"]),
            ["replicas"] = replicas,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["currentReplicas"] = revisions.Count(r => r == currentRevision),
            ["updatedReplicas"] = updated,
            ["currentRevision"] = currentRevision,
            ["updateRevision"] = revision,
        };
        if (JsonNode.DeepEquals(set["status"], status))
        {
            return;
        }

        var next = (JsonObject)set.DeepClone();
        next["status"] = status;
        store.Update(StatefulSets, ns, name, next, statusOnly: true);
    }

    private static JsonObject NewPod(JsonObject set, string podName, string revision)
    {
        var template = set["spec"]!["template"]!;
        var labels = template["metadata"]?["labels"]?.DeepClone() as JsonObject ?? [];
        labels[RevisionLabel] = revision;
        labels["statefulset.kubernetes.io/pod-name"] = podName;
        return new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = podName,
                ["labels"] = labels,
                ["annotations"] = template["metadata"]?["annotations"]?.DeepClone(),
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "apps/v1",
                    ["kind"] = "StatefulSet",
                    ["name"] = set["metadata"]!["name"]!.DeepClone(),
                    ["uid"] = set["metadata"]!["uid"]!.DeepClone(),
                    ["controller"] = true,
                }),
            },
            ["spec"] = template["spec"]?.DeepClone(),
        };
    }

    private void SetReady(string ns, JsonObject pod, bool ready)
    {
        var status = new JsonObject
        {
            ["phase"] = "Running",
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
        };
        if (JsonNode.DeepEquals(pod["status"], status))
        {
            return;
        }

        var next = (JsonObject)pod.DeepClone();
        next["status"] = status;
        store.Update(Pods, ns, (string)pod["metadata"]!["name"]!, next, statusOnly: true);
    }

    private static string? OwnerOf(JsonObject pod) =>
        (pod["metadata"]?["ownerReferences"] as JsonArray)?.FirstOrDefault(o => (string?)o?["kind"] == "StatefulSet") is { } owner ? (string?)owner["name"] : null;

    private static int Ordinal(string podName, string setName) =>
        int.TryParse(podName.AsSpan(setName.Length + 1), out var ordinal) ? ordinal : int.MaxValue;

    // The real controller names revisions <set>-<hash>; the hash is all that matters here.
    private static string Revision(JsonNode? template) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(template?.ToJsonString() ?? "")))[..10];
}
