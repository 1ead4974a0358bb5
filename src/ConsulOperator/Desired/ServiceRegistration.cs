using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Desired;

/// <summary>The body of <c>PUT /v1/agent/service/register</c> for a ConsulService, in Consul's field names.</summary>
public static class ServiceRegistration
{
    public const string ManagedByMeta = "managed-by";
    public const string SourceMeta = "k8s-source";

    public static string ServiceName(V1Alpha1ConsulService service) => service.Spec.Name ?? service.Metadata.Name;

    /// <summary>Unique per agent and stable across renames of the Consul service, so that an update replaces the old registration.</summary>
    public static string ServiceId(V1Alpha1ConsulService service) => $"k8s-{service.Metadata.NamespaceProperty ?? "default"}-{service.Metadata.Name}";

    /// <summary>
    /// The agent that holds the registration: a client agent when the clients have certificates from our CA (so the
    /// operator can verify them), else a server; spread by a stable hash of the service ID so one agent is not the home of all.
    /// </summary>
    /// <param name="cluster">The cluster's spec.</param>
    /// <param name="servers">The cluster's server plan: on servers, only those that run and stay may hold it.</param>
    /// <param name="service">The service to place.</param>
    public static (string Component, int Ordinal) AgentFor(ConsulClusterSpec cluster, ServerPlan servers, V1Alpha1ConsulService service)
    {
        var onClients = KeyMaterialSecrets.ClientsHaveOwnCertificates(cluster);
        var agents = onClients ? cluster.Clients.Replicas : servers.Staying;
        var hash = BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ServiceId(service))), 0);
        return (onClients ? Components.Client : Components.Server, (int)(hash % (uint)agents));
    }

    public static JsonObject Build(V1Alpha1ConsulService service)
    {
        var spec = service.Spec;
        var id = ServiceId(service);
        var meta = new JsonObject();
        foreach (var (key, value) in spec.Meta ?? [])
        {
            meta[key] = value;
        }

        meta[ManagedByMeta] = Labels.OperatorName;
        meta[SourceMeta] = $"{service.Metadata.NamespaceProperty ?? "default"}/{service.Metadata.Name}";

        var body = new JsonObject
        {
            ["ID"] = id,
            ["Name"] = ServiceName(service),
            ["Tags"] = new JsonArray([.. (spec.Tags ?? []).Select(t => JsonValue.Create(t))]),
            ["Address"] = spec.Address,
            ["Port"] = spec.Port,
            ["Meta"] = meta,
        };
        var checks = (spec.Checks ?? []).Select((check, i) => Check(check, $"{id}-{i}", ServiceName(service))).ToArray();
        if (checks.Length > 0)
        {
            body["Checks"] = new JsonArray(checks);
        }

        return body;
    }

    private static JsonObject Check(ServiceCheck check, string checkId, string serviceName)
    {
        var (kind, target) = check switch
        {
            { Tcp: { } tcp } => ("TCP", tcp),
            { Http: { } http } => ("HTTP", http),
            { Grpc: { } grpc } => ("GRPC", grpc),
            _ => ("TTL", check.Ttl!),
        };
        var body = new JsonObject
        {
            ["CheckID"] = checkId,
            ["Name"] = check.Name ?? $"{kind.ToLowerInvariant()} {serviceName}",
            [kind] = target,
        };
        Set(body, "Interval", check.Interval);
        Set(body, "Timeout", check.Timeout);
        Set(body, "Method", check.Method?.ToString());
        if (check.Headers is not null)
        {
            body["Header"] = new JsonObject(check.Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)new JsonArray([.. h.Value.Select(v => JsonValue.Create(v))]))));
        }

        if (check.TlsSkipVerify is { } skip)
        {
            body["TLSSkipVerify"] = skip;
        }

        if (check.GrpcUseTls is { } useTls)
        {
            body["GRPCUseTLS"] = useTls;
        }

        Set(body, "DeregisterCriticalServiceAfter", check.DeregisterCriticalServiceAfter);
        return body;
    }

    private static void Set(JsonObject body, string key, string? value)
    {
        if (value is not null)
        {
            body[key] = value;
        }
    }
}
