using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Hosting;
using ConsulOperator.Runtime;
using k8s;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>
/// Keeps a ConsulService registered on one agent of its cluster: registers when the cluster can take it, re-registers
/// when the spec changes or Consul lost it (an agent restarted), deregisters before the object goes (finalizer). A
/// serviceRef is kept in the catalog instead, instance by instance (<see cref="ServiceCatalogSync"/>).
/// </summary>
public sealed class ConsulServiceReconciler(
    KubeApi api, OperatorCaches caches, ClusterConnections clusters, ServiceCatalogSync catalog, EventRecorder events, OperatorOptions options, TimeProvider time,
    ILogger<ConsulServiceReconciler> logger) : IReconciler
{
    /// <summary>Held while the service may be registered in Consul, which Kubernetes garbage collection cannot reach.</summary>
    public const string RegistrationFinalizer = "consul.operator.dev/registration";

    public string Name => "consulservice";

    public async Task<ReconcileResult> ReconcileAsync(string ns, string name, CancellationToken cancel)
    {
        var service = caches.ConsulServices.Find(ns, name);
        if (service is null)
        {
            return ReconcileResult.Done;
        }

        var cluster = caches.Clusters.Find(ns, service.Spec.ClusterRef.Name);
        if (service.Metadata.DeletionTimestamp is not null)
        {
            await ReleaseAsync(service, cluster, cancel);
            return ReconcileResult.Done;
        }

        var problems = ConsulServiceValidator.Validate(service);
        if (problems.Count > 0)
        {
            var message = string.Join("; ", problems);
            await events.RecordAsync(service, EventRecorder.Warning, "InvalidSpec", message, cancel);
            await WriteStatusAsync(service, ServiceStatus.NotRegistered(service, "InvalidSpec", message, degraded: true, time.GetUtcNow()), cancel);
            return ReconcileResult.Done;
        }

        var (client, waiting) = ClientFor(service);
        if (client is null)
        {
            // The cluster's own changes requeue this service, so there is nothing to poll for.
            await WriteStatusAsync(service, ServiceStatus.NotRegistered(service, waiting.Reason, waiting.Message, degraded: false, time.GetUtcNow()), cancel);
            return ReconcileResult.Done;
        }

        service = await api.AddFinalizerAsync(service, RegistrationFinalizer, cancel);
        if (service.Spec.ServiceRef is not null)
        {
            return await SyncCatalogAsync(service, client, cancel);
        }

        var names = KeyMaterialSecrets.NamesOf(cluster!);
        var servers = ServerPlan.Applied(cluster!, caches.StatefulSets.Find(names.Namespace, names.Servers)?.Spec?.Replicas);
        var (component, ordinal) = ServiceRegistration.AgentFor(cluster!.Spec, servers, service);
        var agentName = names.Pod(component, ordinal);
        var agent = ConsulEndpoints.Agent(names, component, ordinal);
        var id = ServiceRegistration.ServiceId(service);
        try
        {
            if (service.Status?.RegisteredOn is { } previous && previous != agentName)
            {
                await DeregisterAsync(client, names, previous, id, cancel);
            }

            var held = await client.AgentServicesAsync(agent, cancel);
            var current = service.Status?.Registered == true && service.Status.ObservedGeneration == service.Metadata.Generation && service.Status.RegisteredOn == agentName;
            if (!held.ContainsKey(id) || !current)
            {
                await client.RegisterServiceAsync(agent, ServiceRegistration.Build(service), cancel);
                var why = held.ContainsKey(id) ? "updated" : current ? "re-registered after Consul lost it" : "registered";
                logger.LogInformation("ConsulService {Namespace}/{Name} {Why} on {Agent}", ns, name, why, agentName);
                await events.RecordAsync(service, EventRecorder.Normal, "Registered", $"{ServiceRegistration.ServiceName(service)} {why} on agent {agentName}", cancel);
            }

            var health = ServiceStatus.Health(await client.ServiceHealthAsync(ServiceRegistration.ServiceName(service), cancel), id);
            await WriteStatusAsync(service, ServiceStatus.RegisteredOn(service, agentName, health, time.GetUtcNow()), cancel);
        }
        catch (ConsulApiException e)
        {
            await events.RecordAsync(service, EventRecorder.Warning, "RegistrationFailed", e.Message, cancel);
            await WriteStatusAsync(service, ServiceStatus.NotRegistered(service, "RegistrationFailed", e.Message, degraded: true, time.GetUtcNow()), cancel);
            return ReconcileResult.After(TimeSpan.FromSeconds(5));
        }

        // Consul forgets registrations when an agent loses its state, and checks change: look again.
        return ReconcileResult.After(options.ConsulPollInterval);
    }

    // What the Service gives now goes into the catalog; with nothing to give (no Service, no load balancer address yet),
    // what was registered goes, so the catalog never points at an address that is not the Service's any more.
    private async Task<ReconcileResult> SyncCatalogAsync(V1Alpha1ConsulService service, ConsulClient client, CancellationToken cancel)
    {
        var (wanted, waiting) = catalog.Wanted(service);
        try
        {
            var instances = await catalog.SyncAsync(service, wanted, client, cancel);
            await WriteStatusAsync(service, ServiceStatus.Synced(service, wanted, instances, waiting, time.GetUtcNow()), cancel);
        }
        catch (ConsulApiException e)
        {
            await events.RecordAsync(service, EventRecorder.Warning, "RegistrationFailed", e.Message, cancel);
            await WriteStatusAsync(service, ServiceStatus.NotRegistered(service, "RegistrationFailed", e.Message, degraded: true, time.GetUtcNow()), cancel);
            return ReconcileResult.After(TimeSpan.FromSeconds(5));
        }

        // Endpoint and Service changes requeue it; the poll puts back what someone removed from the catalog.
        return ReconcileResult.After(options.ConsulPollInterval);
    }

    private (ConsulClient? Client, ClusterWait Waiting) ClientFor(V1Alpha1ConsulService service)
    {
        var (connection, waiting) = clusters.For(service.Metadata.NamespaceProperty, service.Spec.ClusterRef, "registration");
        return (connection?.Client, waiting);
    }

    private async Task ReleaseAsync(V1Alpha1ConsulService service, V1Alpha1ConsulCluster? cluster, CancellationToken cancel)
    {
        if (service.Metadata.Finalizers?.Contains(RegistrationFinalizer) != true)
        {
            return;
        }

        // With the cluster gone (or going) there is no Consul left to hold the registration.
        if (cluster is not null && cluster.Metadata.DeletionTimestamp is null && service.Status?.RegisteredOn is { } agentName)
        {
            var (client, waiting) = ClientFor(service);
            if (client is null)
            {
                throw new InvalidOperationException($"cannot deregister {ServiceRegistration.ServiceId(service)} from {agentName} yet: {waiting.Message}");
            }

            if (service.Spec.ServiceRef is not null)
            {
                await catalog.ReleaseAsync(service, client, cancel);
                await events.RecordAsync(service, EventRecorder.Normal, "Deregistered", $"{ServiceRegistration.ServiceName(service)} deregistered from the catalog", cancel);
                await api.RemoveFinalizerAsync(service, RegistrationFinalizer, cancel);
                return;
            }

            await DeregisterAsync(client, KeyMaterialSecrets.NamesOf(cluster), agentName, ServiceRegistration.ServiceId(service), cancel);
            await events.RecordAsync(service, EventRecorder.Normal, "Deregistered", $"{ServiceRegistration.ServiceName(service)} deregistered from agent {agentName}", cancel);
        }

        await api.RemoveFinalizerAsync(service, RegistrationFinalizer, cancel);
    }

    // An agent that is gone (scaled away) took its registrations with it; 404 means it no longer holds this one.
    private static async Task DeregisterAsync(ConsulClient client, Names names, string agentName, string serviceId, CancellationToken cancel)
    {
        try
        {
            await client.DeregisterServiceAsync(ConsulEndpoints.Agent(names, agentName), serviceId, cancel);
        }
        catch (ConsulApiException e) when (e.StatusCode is null)
        {
            // Nobody answers at that pod's name any more.
        }
    }

    private Task WriteStatusAsync(V1Alpha1ConsulService service, ConsulServiceStatus status, CancellationToken cancel) =>
        api.WriteStatusAsync<V1Alpha1ConsulService, ConsulServiceStatus>(service, status, cancel);
}
