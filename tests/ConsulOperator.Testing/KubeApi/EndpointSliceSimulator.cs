using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>
/// Stands in for kube-controller-manager's EndpointSlice controller: for every Service with a selector, one IPv4 slice
/// named <c>&lt;service&gt;-sim</c>, labelled <c>kubernetes.io/service-name</c> and
/// <c>endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io</c>, owned by the Service, listing each
/// selected pod that has an IP and is not terminal. An endpoint is serving when its pod is Ready, terminating when its
/// pod has a deletionTimestamp, and ready when serving and not terminating, unless the Service publishes not-ready
/// addresses (staging/src/k8s.io/endpointslice/utils.go <c>podToEndpoint</c>, search id 30055186;
/// util/controller_utils.go <c>ShouldPodBeInEndpoints</c>). Ports carry the Service port's name and its target port
/// number. **Simplifications**: one slice per Service whatever its size (upstream splits at 100 endpoints), a named
/// targetPort is not resolved through the containers (the Service port's number is used), and no topology hints.
/// </summary>
public sealed class EndpointSliceSimulator
{
    public const string ManagedBy = "endpointslice-controller.k8s.io";
    private static readonly ResourceInfo Services = ResourceCatalog.ForKind("v1", "Service");
    private static readonly ResourceInfo Pods = ResourceCatalog.ForKind("v1", "Pod");
    private static readonly ResourceInfo Slices = ResourceCatalog.ForKind("discovery.k8s.io/v1", "EndpointSlice");
    private readonly ObjectStore store;
    private readonly Lock gate = new();
    private readonly Queue<string> pending = new();
    private bool reconciling;

    public EndpointSliceSimulator(ObjectStore store)
    {
        this.store = store;
        store.Changed += change =>
        {
            if (change.Resource == Services || change.Resource == Pods)
            {
                Reconcile(change.Namespace);
            }
        };
    }

    private void Reconcile(string ns)
    {
        // Its own writes raise events that come back here: they queue behind the pass instead of nesting in it.
        lock (gate)
        {
            pending.Enqueue(ns);
            if (reconciling)
            {
                return;
            }

            reconciling = true;
            try
            {
                while (pending.TryDequeue(out var next))
                {
                    foreach (var service in store.List(Services, next, Selector.Parse(null, null)).Items.Where(s => s["spec"]?["selector"] is JsonObject { Count: > 0 }))
                    {
                        try
                        {
                            Write(next, service);
                        }
                        catch (ApiException e) when (e.Code is 404 or 409)
                        {
                            // Changed meanwhile: the next change writes again.
                        }
                    }
                }
            }
            finally
            {
                reconciling = false;
            }
        }
    }

    private void Write(string ns, JsonObject service)
    {
        var name = (string)service["metadata"]!["name"]!;
        var selector = service["spec"]!["selector"]!.AsObject();
        var publishNotReady = (bool?)service["spec"]?["publishNotReadyAddresses"] == true;
        var endpoints = store.List(Pods, ns, Selector.Parse(null, null)).Items
            .Where(p => selector.All(kv => (string?)p["metadata"]?["labels"]?[kv.Key] == (string?)kv.Value))
            .Where(p => (string?)p["status"]?["podIP"] is { Length: > 0 } && (string?)p["status"]?["phase"] is not ("Succeeded" or "Failed"))
            .OrderBy(p => (string)p["metadata"]!["name"]!, StringComparer.Ordinal)
            .Select(pod =>
            {
                var serving = (pod["status"]?["conditions"] as JsonArray ?? []).Any(c => (string?)c?["type"] == "Ready" && (string?)c?["status"] == "True");
                var terminating = pod["metadata"]?["deletionTimestamp"] is not null;
                var endpoint = new JsonObject
                {
                    ["addresses"] = new JsonArray((string)pod["status"]!["podIP"]!),
                    ["conditions"] = new JsonObject { ["ready"] = publishNotReady || (serving && !terminating), ["serving"] = serving, ["terminating"] = terminating },
                    ["targetRef"] = new JsonObject { ["kind"] = "Pod", ["namespace"] = ns, ["name"] = pod["metadata"]!["name"]!.DeepClone(), ["uid"] = pod["metadata"]!["uid"]!.DeepClone() },
                };
                if ((string?)pod["spec"]?["nodeName"] is { } node)
                {
                    endpoint["nodeName"] = node;
                }

                return (JsonNode)endpoint;
            }).ToList();
        var ports = (service["spec"]?["ports"] as JsonArray ?? []).OfType<JsonObject>().Select(p => (JsonNode)new JsonObject
        {
            ["name"] = (string?)p["name"] ?? "",
            ["port"] = p["targetPort"] is JsonValue target && target.TryGetValue<int>(out var number) ? number : (int)p["port"]!,
            ["protocol"] = (string?)p["protocol"] ?? "TCP",
        }).ToList();
        var slice = new JsonObject
        {
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["kind"] = "EndpointSlice",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{name}-sim",
                ["namespace"] = ns,
                ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = name, ["endpointslice.kubernetes.io/managed-by"] = ManagedBy },
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Service",
                    ["name"] = name,
                    ["uid"] = service["metadata"]!["uid"]!.DeepClone(),
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
            },
            ["addressType"] = "IPv4",
            ["endpoints"] = new JsonArray([.. endpoints]),
            ["ports"] = new JsonArray([.. ports]),
        };

        var existing = store.Get(Slices, ns, $"{name}-sim");
        if (existing is null)
        {
            store.Create(Slices, ns, slice);
        }
        else if (!JsonNode.DeepEquals(existing["endpoints"], slice["endpoints"]) || !JsonNode.DeepEquals(existing["ports"], slice["ports"]))
        {
            slice["metadata"]!["resourceVersion"] = existing["metadata"]!["resourceVersion"]!.DeepClone();
            store.Update(Slices, ns, $"{name}-sim", slice, statusOnly: false);
        }
    }
}
