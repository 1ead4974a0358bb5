using System.Globalization;
using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// A ConsulService's serviceRef in Consul's catalog: the instances an outside machine can reach, from the Service and
/// its EndpointSlices (and the nodes, for a NodePort), each registered on one synthetic node, as consul-k8s's catalog
/// sync does, with a check that carries the endpoints' readiness. No agent runs that node, so anti-entropy never
/// removes what is registered there; the operator deregisters what is gone.
/// </summary>
public static class CatalogSync
{
    /// <summary>The node every synced instance is registered on; no agent runs it.</summary>
    public const string Node = "consul-operator-sync";

    /// <summary>Who maintains the registration, in the node's and the services' metadata (consul-k8s writes the same key).</summary>
    public const string ExternalSourceMeta = "external-source";

    /// <summary>The label that ties an EndpointSlice to its Service (discovery.k8s.io/v1 EndpointSlice).</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>One address and port an outside machine can use, and whether something ready answers there.</summary>
    public sealed record Instance(string Address, int Port, bool Ready)
    {
        public string Status => Ready ? "passing" : "critical";

        public override string ToString() => $"{(Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]" : Address)}:{Port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The instances to keep, or why there are none to compute yet (no Service, no such port, no load balancer address yet).</summary>
    public static (IReadOnlyList<Instance> Instances, string? Waiting) Instances(ServiceReference reference, V1Service? service, IEnumerable<V1EndpointSlice> slices, IEnumerable<V1Node> nodes)
    {
        if (service is null)
        {
            return ([], $"Service {reference.Name} does not exist");
        }

        var port = service.Spec?.Ports?.FirstOrDefault(p => p.Name == reference.Port || p.Port.ToString(CultureInfo.InvariantCulture) == reference.Port);
        if (port is null)
        {
            var known = string.Join(", ", (service.Spec?.Ports ?? []).Select(p => p.Name is null ? p.Port.ToString(CultureInfo.InvariantCulture) : $"{p.Name} ({p.Port})"));
            return ([], $"Service {reference.Name} has no port \"{reference.Port}\" (it has {(known.Length == 0 ? "none" : known)})");
        }

        var endpoints = Endpoints(slices, port).ToList();
        var anyReady = endpoints.Any(e => e.Ready);
        switch (AddressTypeOf(reference, service))
        {
            case ServiceAddressType.LoadBalancer:
                var ingress = (service.Status?.LoadBalancer?.Ingress ?? []).Select(i => i.Ip ?? i.Hostname).OfType<string>().ToList();
                return ingress.Count == 0
                    ? ([], $"Service {reference.Name} has no load balancer address yet")
                    : ([.. ingress.Select(a => new Instance(a, port.Port, anyReady))], null);
            case ServiceAddressType.NodePort:
                if (port.NodePort is not { } nodePort)
                {
                    return ([], $"Service {reference.Name} port \"{reference.Port}\" has no node port (type {service.Spec?.Type ?? "ClusterIP"})");
                }

                // A node that is not ready or takes no pods is no place to send traffic to.
                var onNodes = nodes.Where(IsUsable).Select(InternalIp).OfType<string>().Order(StringComparer.Ordinal).Select(a => new Instance(a, nodePort, anyReady)).ToList();
                return (onNodes, onNodes.Count == 0 ? $"no node is ready to take Service {reference.Name}'s node port {nodePort}" : null);
            default:
                return (endpoints, endpoints.Count == 0 ? $"Service {reference.Name} has no endpoints with an address" : null);
        }
    }

    /// <summary>Auto follows the Service's type: its load balancer, else its node ports, else its endpoints.</summary>
    public static ServiceAddressType AddressTypeOf(ServiceReference reference, V1Service service) =>
        reference.AddressType != ServiceAddressType.Auto ? reference.AddressType
        : service.Spec?.Type switch
        {
            "LoadBalancer" => ServiceAddressType.LoadBalancer,
            "NodePort" => ServiceAddressType.NodePort,
            _ => ServiceAddressType.Endpoints,
        };

    /// <summary>The catalog's ID of an instance: unique on the sync node across every ConsulService.</summary>
    public static string InstanceId(V1Alpha1ConsulService service, Instance instance) =>
        $"{ServiceRegistration.ServiceId(service)}-{instance.Address}-{instance.Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Whether a catalog entry's metadata says it is this ConsulService's.</summary>
    public static bool IsOf(IReadOnlyDictionary<string, string>? meta, V1Alpha1ConsulService service) =>
        meta is not null && meta.TryGetValue(ServiceRegistration.SourceMeta, out var source) && source == ServiceRegistration.Source(service);

    /// <summary>The body of <c>PUT /v1/catalog/register</c> for one instance, with its readiness as the check's status.</summary>
    public static JsonObject Registration(V1Alpha1ConsulService service, Instance instance)
    {
        var id = InstanceId(service, instance);
        var meta = new JsonObject();
        foreach (var (key, value) in service.Spec.Meta ?? [])
        {
            meta[key] = value;
        }

        meta[ServiceRegistration.ManagedByMeta] = Labels.OperatorName;
        meta[ServiceRegistration.SourceMeta] = ServiceRegistration.Source(service);
        meta[ExternalSourceMeta] = "kubernetes";
        return new JsonObject
        {
            ["Node"] = Node,
            ["Address"] = "127.0.0.1",
            ["NodeMeta"] = new JsonObject { [ExternalSourceMeta] = "kubernetes", [ServiceRegistration.ManagedByMeta] = Labels.OperatorName },
            ["Service"] = new JsonObject
            {
                ["ID"] = id,
                ["Service"] = ServiceRegistration.ServiceName(service),
                ["Tags"] = new JsonArray([.. (service.Spec.Tags ?? []).Select(t => JsonValue.Create(t))]),
                ["Address"] = instance.Address,
                ["Port"] = instance.Port,
                ["Meta"] = meta,
            },
            ["Check"] = new JsonObject
            {
                ["Node"] = Node,
                ["CheckID"] = $"{id}-ready",
                ["Name"] = "Kubernetes readiness",
                ["Status"] = instance.Status,
                ["ServiceID"] = id,
            },
        };
    }

    // Each endpoint's first address (the addresses of one endpoint are fungible), on the slice port that carries the
    // Service port's name; ready unless its condition says otherwise (discovery.k8s.io/v1 EndpointConditions.ready: a
    // nil value is to be read as true; a terminating endpoint is not ready).
    private static IEnumerable<Instance> Endpoints(IEnumerable<V1EndpointSlice> slices, V1ServicePort port) =>
        slices
            .Where(s => s.AddressType is "IPv4" or "IPv6")
            .SelectMany(s => (s.Ports ?? []).Where(p => (p.Name ?? "") == (port.Name ?? "") && p.Port is not null)
                .SelectMany(p => (s.Endpoints ?? []).Where(e => e.Addresses is { Count: > 0 })
                    .Select(e => new Instance(e.Addresses[0], p.Port!.Value, e.Conditions?.Ready ?? true))))
            .DistinctBy(i => (i.Address, i.Port))
            .OrderBy(i => i.Address, StringComparer.Ordinal);

    private static bool IsUsable(V1Node node) =>
        node.Spec?.Unschedulable != true && node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready") is { Status: "True" };

    private static string? InternalIp(V1Node node) => node.Status?.Addresses?.FirstOrDefault(a => a.Type == "InternalIP")?.Address;
}
