using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>
/// A ConsulService's serviceRef, compared and acted on: the instances its Service and EndpointSlices give now, against
/// what the catalog holds for it on the sync node. Missing or changed instances are registered, gone ones deregistered.
/// It follows the informers' changes; nothing is polled in Kubernetes.
/// </summary>
public sealed class ServiceCatalogSync(OperatorCaches caches, EventRecorder events, ILogger<ServiceCatalogSync> logger)
{
    /// <summary>What the Service gives now: the instances, or why none can be computed yet.</summary>
    public (IReadOnlyList<CatalogSync.Instance> Instances, string? Waiting) Wanted(V1Alpha1ConsulService service)
    {
        var reference = service.Spec.ServiceRef!;
        var ns = service.Metadata.NamespaceProperty;
        var slices = caches.EndpointSlices.List(ns).Where(s => s.Metadata.Labels?.TryGetValue(CatalogSync.ServiceNameLabel, out var owner) == true && owner == reference.Name);
        return CatalogSync.Instances(reference, caches.ReferencedServices.Find(ns, reference.Name), slices, caches.Nodes.List());
    }

    /// <summary>Makes the catalog hold exactly <paramref name="wanted"/> for the service; returns each instance with its health.</summary>
    public async Task<IReadOnlyList<string>> SyncAsync(V1Alpha1ConsulService service, IReadOnlyList<CatalogSync.Instance> wanted, ConsulClient client, CancellationToken cancel)
    {
        var held = (await client.CatalogNodeServicesAsync(CatalogSync.Node, cancel)).Values.Where(s => CatalogSync.IsOf(s.Meta, service)).ToDictionary(s => s.ID);
        var checks = held.Count == 0 ? [] : (await client.NodeChecksAsync(CatalogSync.Node, cancel)).ToDictionary(c => c.ServiceID, c => c.Status);
        var name = ServiceRegistration.ServiceName(service);
        var tags = service.Spec.Tags ?? [];
        var changed = new List<string>();
        foreach (var instance in wanted)
        {
            var id = CatalogSync.InstanceId(service, instance);
            var current = held.GetValueOrDefault(id);
            if (current is null || current.Service != name || !(current.Tags ?? []).SequenceEqual(tags) || checks.GetValueOrDefault(id) != instance.Status)
            {
                await client.CatalogRegisterAsync(CatalogSync.Registration(service, instance), cancel);
                changed.Add($"{instance} {instance.Status}");
            }
        }

        var wantedIds = wanted.Select(i => CatalogSync.InstanceId(service, i)).ToHashSet();
        foreach (var gone in held.Keys.Where(id => !wantedIds.Contains(id)).Order(StringComparer.Ordinal))
        {
            await client.CatalogDeregisterAsync(CatalogSync.Node, gone, cancel);
            changed.Add($"{held[gone].Address}:{held[gone].Port} deregistered");
        }

        if (changed.Count > 0)
        {
            var what = $"{name} in the catalog: {string.Join(", ", changed)}";
            logger.LogInformation("ConsulService {Namespace}/{Name}: {What}", service.Metadata.NamespaceProperty, service.Metadata.Name, what);
            await events.RecordAsync(service, EventRecorder.Normal, "Synced", what, cancel);
        }

        return [.. wanted.Select(i => $"{i} {i.Status}")];
    }

    /// <summary>Deregisters every instance the catalog holds for the service.</summary>
    public async Task ReleaseAsync(V1Alpha1ConsulService service, ConsulClient client, CancellationToken cancel)
    {
        var held = (await client.CatalogNodeServicesAsync(CatalogSync.Node, cancel)).Values.Where(s => CatalogSync.IsOf(s.Meta, service)).ToList();
        foreach (var instance in held)
        {
            await client.CatalogDeregisterAsync(CatalogSync.Node, instance.ID, cancel);
        }

        logger.LogInformation("ConsulService {Namespace}/{Name}: {Count} instances deregistered from the catalog", service.Metadata.NamespaceProperty, service.Metadata.Name, held.Count);
    }
}
