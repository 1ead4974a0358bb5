using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;

namespace ConsulOperator.Controllers;

/// <summary>The status a ConsulService shows: pure, from what the reconcile found.</summary>
public static class ServiceStatus
{
    public const string Registered = "Registered";

    /// <summary>
    /// Worst of the checks that decide whether DNS answers with the instance: its own and its node's (serfHealth),
    /// critical over warning over passing; passing when there are none.
    /// </summary>
    public static string Health(IEnumerable<ServiceEntry> entries, string serviceId)
    {
        var statuses = entries.Where(e => e.Service.ID == serviceId).SelectMany(e => e.Checks).Where(c => c.ServiceID == serviceId || c.ServiceID.Length == 0).Select(c => c.Status).ToList();
        return statuses.Contains("critical") ? "critical" : statuses.Contains("warning") ? "warning" : "passing";
    }

    public static ConsulServiceStatus RegisteredOn(V1Alpha1ConsulService service, string agent, string health, DateTimeOffset now)
    {
        var generation = service.Metadata.Generation;
        var message = $"registered on agent {agent}; checks {health}";
        var conditions = Conditions.Set(service.Status?.Conditions, Registered, true, "Registered", message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Ready, true, "Registered", message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Degraded, false, "AsExpected", "no problem found", generation, now);
        return new ConsulServiceStatus { ObservedGeneration = generation, Conditions = conditions, Registered = true, RegisteredOn = agent, Health = health };
    }

    /// <summary>
    /// A serviceRef after a sync: ready when the catalog holds every instance the Service gives (their health as their
    /// endpoints' readiness); not ready, without being degraded, while the Service gives none (<paramref name="waiting"/>).
    /// </summary>
    public static ConsulServiceStatus Synced(V1Alpha1ConsulService service, IReadOnlyList<CatalogSync.Instance> wanted, IReadOnlyList<string> instances, string? waiting, DateTimeOffset now)
    {
        var generation = service.Metadata.Generation;
        var health = wanted.Count == 0 ? null : wanted.All(i => i.Ready) ? "passing" : "critical";
        var ready = waiting is null;
        var message = waiting is not null ? $"{waiting}; nothing is in the catalog for it"
            : $"{wanted.Count} instance{(wanted.Count == 1 ? "" : "s")} in the catalog on node {CatalogSync.Node}, {wanted.Count(i => i.Ready)} ready";
        var reason = ready ? "Synced" : "WaitingForService";
        var conditions = Conditions.Set(service.Status?.Conditions, Registered, wanted.Count > 0, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Ready, ready, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Degraded, false, "AsExpected", "no problem found", generation, now);
        return new ConsulServiceStatus { ObservedGeneration = generation, Conditions = conditions, Registered = wanted.Count > 0, RegisteredOn = CatalogSync.Node, Health = health, Instances = [.. instances] };
    }

    /// <summary>Not registered by this reconcile: why, and whether it is a problem (degraded) or a wait.</summary>
    public static ConsulServiceStatus NotRegistered(V1Alpha1ConsulService service, string reason, string message, bool degraded, DateTimeOffset now)
    {
        var generation = service.Metadata.Generation;
        var conditions = Conditions.Set(service.Status?.Conditions, Registered, false, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Ready, false, reason, message, generation, now);
        conditions = Conditions.Set(conditions, Conditions.Degraded, degraded, degraded ? reason : "AsExpected", degraded ? message : "no problem found", generation, now);
        // Whether an earlier registration still stands is unknown when Consul could not be asked: keep what was last seen.
        return new ConsulServiceStatus { ObservedGeneration = generation, Conditions = conditions, Registered = service.Status?.Registered ?? false, RegisteredOn = service.Status?.RegisteredOn, Health = service.Status?.Health };
    }
}
