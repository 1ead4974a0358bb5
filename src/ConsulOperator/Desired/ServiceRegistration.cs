using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Desired;

/// <summary>The body of <c>PUT /v1/agent/service/register</c> for a ConsulService, in Consul's field names.</summary>
public static class ServiceRegistration
{
    public const string ManagedByMeta = "managed-by";
    public const string SourceMeta = "k8s-source";

    public static string ServiceName(V1Alpha1ConsulService service) => service.Spec.Name ?? service.Metadata.Name;

    /// <summary>Which object a registration comes from, in its metadata (<see cref="SourceMeta"/>).</summary>
    public static string Source(V1Alpha1ConsulService service) => $"{service.Metadata.NamespaceProperty ?? "default"}/{service.Metadata.Name}";

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
        var body = Definition(ApiKeys, ServiceId(service), ServiceName(service), spec.Tags, spec.Port ?? 0, spec.Meta, spec.Checks, Source(service));
        body.Insert(3, "Address", spec.Address);
        return body;
    }

    /// <summary>
    /// A machine's service as its agent's configuration file defines it (a <c>services</c> entry, in the snake_case keys of
    /// the agent's configuration): no address, so it is the node's, and the token it is registered with. Without a token of
    /// its own a service is synced with the agent's default token (agent/local/state.go <c>serviceToken</c>).
    /// </summary>
    public static JsonObject ConfigFileDefinition(ExternalAgentService service, string source, string? token)
    {
        var definition = Definition(ConfigKeys, service.Name, service.Name, service.Tags, service.Port, service.Meta, service.Checks, source);
        if (token is not null)
        {
            definition["token"] = token;
        }

        return definition;
    }

    // The HTTP API's field names and the configuration file's (the reference key lists' services[].*).
    private static readonly Func<string, string> ApiKeys = key => key;

    private static readonly Func<string, string> ConfigKeys = key => key switch
    {
        "CheckID" => "id",
        "TLSSkipVerify" => "tls_skip_verify",
        "GRPCUseTLS" => "grpc_use_tls",
        "DeregisterCriticalServiceAfter" => "deregister_critical_service_after",
        _ => key.ToLowerInvariant(),
    };

    private static JsonObject Definition(Func<string, string> keys, string id, string name, List<string>? tags, int port, Dictionary<string, string>? extraMeta, List<ServiceCheck>? checks, string source)
    {
        var meta = new JsonObject();
        foreach (var (key, value) in extraMeta ?? [])
        {
            meta[key] = value;
        }

        meta[ManagedByMeta] = Labels.OperatorName;
        meta[SourceMeta] = source;

        var body = new JsonObject
        {
            [keys("ID")] = id,
            [keys("Name")] = name,
            [keys("Tags")] = new JsonArray([.. (tags ?? []).Select(t => JsonValue.Create(t))]),
            [keys("Port")] = port,
            [keys("Meta")] = meta,
        };
        var built = (checks ?? []).Select((check, i) => Check(keys, check, $"{id}-{i}", name)).ToArray();
        if (built.Length > 0)
        {
            body[keys("Checks")] = new JsonArray(built);
        }

        return body;
    }

    private static JsonObject Check(Func<string, string> keys, ServiceCheck check, string checkId, string serviceName)
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
            [keys("CheckID")] = checkId,
            [keys("Name")] = check.Name ?? $"{kind.ToLowerInvariant()} {serviceName}",
            [keys(kind)] = target,
        };
        Set(body, keys("Interval"), check.Interval);
        Set(body, keys("Timeout"), check.Timeout);
        Set(body, keys("Method"), check.Method?.ToString());
        if (check.Headers is not null)
        {
            body[keys("Header")] = new JsonObject(check.Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)new JsonArray([.. h.Value.Select(v => JsonValue.Create(v))]))));
        }

        if (check.TlsSkipVerify is { } skip)
        {
            body[keys("TLSSkipVerify")] = skip;
        }

        if (check.GrpcUseTls is { } useTls)
        {
            body[keys("GRPCUseTLS")] = useTls;
        }

        Set(body, keys("DeregisterCriticalServiceAfter"), check.DeregisterCriticalServiceAfter);
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
