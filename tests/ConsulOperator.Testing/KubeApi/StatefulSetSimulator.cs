using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>
/// Stands in for the StatefulSet controller, the scheduler and the container runtime: keeps one Pod per ordinal below
/// spec.replicas, stamped with the revision (a hash of the pod template) it was created from, with a
/// PersistentVolumeClaim per volumeClaimTemplate (<c>&lt;template&gt;-&lt;pod&gt;</c>, created when missing, reused
/// when present, deleted on scale-down only under <c>persistentVolumeClaimRetentionPolicy.whenScaled: Delete</c>);
/// replaces outdated pods itself under RollingUpdate and only when someone deletes them under OnDelete; starts every
/// pod's containers unless a test holds some back (those stay Pending); and writes the status fields (ready, current and
/// updated replicas, revisions) the real controller does.
/// Readiness is the kubelet's: a container without a readiness probe is ready once it runs; one with a probe is ready
/// only once a prober (<see cref="ReportReadiness"/>) says it passed, as the kubelet runs the probe.
/// </summary>
public sealed class StatefulSetSimulator
{
    public const string RevisionLabel = "controller-revision-hash";
    private static readonly ResourceInfo StatefulSets = ResourceCatalog.ForKind("apps/v1", "StatefulSet");
    private static readonly ResourceInfo Pods = ResourceCatalog.ForKind("v1", "Pod");
    private static readonly ResourceInfo Claims = ResourceCatalog.ForKind("v1", "PersistentVolumeClaim");
    private readonly ObjectStore store;
    private readonly Dictionary<string, int> heldBack = [];
    private readonly HashSet<string> stopped = [];
    private readonly Lock gate = new();
    private readonly Queue<(string Namespace, string Name)> pending = new();
    private bool reconciling;

    public StatefulSetSimulator(ObjectStore store)
    {
        this.store = store;
        store.Changed += OnChanged;
    }

    /// <summary>Start at most this many pods (the lowest ordinals) of the StatefulSet (namespace/name), the others stay Pending; null lifts the limit.</summary>
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

    /// <summary>
    /// The pod's node is gone: its containers stop at once, and the pod stays as it is until someone deletes it (the
    /// StatefulSet controller does not replace a pod that still exists). A new pod of the same name runs again.
    /// </summary>
    public void StopPod(string ns, string podName)
    {
        lock (gate)
        {
            var pod = store.Get(Pods, ns, podName) ?? throw new InvalidOperationException($"no pod {ns}/{podName}");
            stopped.Add((string)pod["metadata"]!["uid"]!);
            if (OwnerOf(pod) is { } owner)
            {
                Reconcile(ns, owner);
            }
        }
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

    /// <summary>
    /// The kubelet's readiness probe of a running container came back (pod by name and UID, so a report about a replaced
    /// pod is dropped): the pod's Ready condition follows, and with it the StatefulSet's ready count.
    /// </summary>
    public void ReportReadiness(string ns, string podName, string uid, bool passed)
    {
        string? owner;
        lock (gate)
        {
            var pod = store.Get(Pods, ns, podName);
            if (pod is null || (string?)pod["metadata"]!["uid"] != uid || !Running(pod) || Ready(pod) == passed)
            {
                return;
            }

            try
            {
                WriteStatus(ns, pod, running: true, passed);
            }
            catch (ApiException e) when (e.Code is 404 or 409)
            {
                // Replaced meanwhile: the next probe reports on the new pod.
                return;
            }

            owner = OwnerOf(pod);
        }

        if (owner is not null)
        {
            Reconcile(ns, owner);
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

        if ((string?)spec["persistentVolumeClaimRetentionPolicy"]?["whenScaled"] == "Delete")
        {
            DeleteClaimsFrom(ns, set, replicas);
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

            if (pod is null)
            {
                EnsureClaims(ns, set, podName);
                pod = store.Create(Pods, ns, NewPod(set, podName, revision));
            }

            var running = ordinal < readyLimit && !stopped.Contains((string)pod["metadata"]!["uid"]!);

            // Without a readiness probe the kubelet calls a running container ready; with one, the probe decides.
            var isReady = running && (HasReadinessProbe(pod) ? Ready(pod) : true);
            WriteStatus(ns, pod, running, isReady);
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

    private static IEnumerable<string> ClaimTemplates(JsonObject set) =>
        (set["spec"]!["volumeClaimTemplates"] as JsonArray ?? []).Select(t => (string)t!["metadata"]!["name"]!);

    // The controller creates a pod's claims before the pod and never replaces one that exists: a pod recreated after its
    // claim was deleted gets a new, empty volume.
    private void EnsureClaims(string ns, JsonObject set, string podName)
    {
        foreach (var template in (set["spec"]!["volumeClaimTemplates"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var claimName = $"{(string)template["metadata"]!["name"]!}-{podName}";
            if (store.Get(Claims, ns, claimName) is not null)
            {
                continue;
            }

            var claim = (JsonObject)template.DeepClone();
            claim["metadata"]!["name"] = claimName;
            claim["metadata"]!.AsObject().Remove("namespace");
            store.Create(Claims, ns, claim);
        }
    }

    private void DeleteClaimsFrom(string ns, JsonObject set, int replicas)
    {
        var name = (string)set["metadata"]!["name"]!;
        var prefixes = ClaimTemplates(set).Select(t => $"{t}-{name}-").ToList();
        foreach (var claim in store.List(Claims, ns, Selector.Parse(null, null)).Items.Select(c => (string)c["metadata"]!["name"]!))
        {
            if (prefixes.FirstOrDefault(claim.StartsWith) is { } prefix && int.TryParse(claim.AsSpan(prefix.Length), out var ordinal) && ordinal >= replicas)
            {
                store.Delete(Claims, ns, claim);
            }
        }
    }

    private static JsonObject NewPod(JsonObject set, string podName, string revision)
    {
        var template = set["spec"]!["template"]!;
        var labels = template["metadata"]?["labels"]?.DeepClone() as JsonObject ?? [];
        labels[RevisionLabel] = revision;
        labels["statefulset.kubernetes.io/pod-name"] = podName;
        var spec = template["spec"]?.DeepClone() as JsonObject ?? [];
        var volumes = spec["volumes"] as JsonArray ?? [];
        foreach (var claimTemplate in ClaimTemplates(set))
        {
            volumes.Add(new JsonObject { ["name"] = claimTemplate, ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = $"{claimTemplate}-{podName}" } });
        }

        spec["volumes"] = volumes;

        // kubernetes pkg/controller/statefulset/stateful_set_utils.go initIdentity: the pod's hostname is its name and
        // its subdomain the set's serviceName, which give it a DNS name through the headless Service.
        spec["hostname"] = podName;
        spec["subdomain"] = set["spec"]!["serviceName"]?.DeepClone();
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
            ["spec"] = spec,
        };
    }

    private static bool HasReadinessProbe(JsonObject pod) =>
        (pod["spec"]?["containers"] as JsonArray)?.Any(c => c?["readinessProbe"] is not null) == true;

    private static bool Running(JsonObject pod) => (string?)pod["status"]?["phase"] == "Running";

    private static bool Ready(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray)?.Any(c => (string?)c?["type"] == "Ready" && (string?)c["status"] == "True") == true;

    // The status the kubelet writes: Running with every container started, or Pending while held back.
    private void WriteStatus(string ns, JsonObject pod, bool running, bool ready)
    {
        var readyText = ready ? "True" : "False";
        var nodeLost = stopped.Contains((string)pod["metadata"]!["uid"]!);
        var status = new JsonObject
        {
            ["phase"] = running ? "Running" : nodeLost ? "Unknown" : "Pending",
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Ready", ["status"] = readyText },
                new JsonObject { ["type"] = "ContainersReady", ["status"] = readyText }),
            ["containerStatuses"] = new JsonArray([.. (pod["spec"]?["containers"] as JsonArray ?? []).Select(c => (JsonNode)new JsonObject
            {
                ["name"] = (string?)c?["name"],
                ["started"] = running,
                ["ready"] = ready,
                ["state"] = running ? new JsonObject { ["running"] = new JsonObject() }
                    : nodeLost ? new JsonObject { ["terminated"] = new JsonObject { ["reason"] = "NodeLost" } }
                    : new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } },
            })]),
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
