using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConsulOperator.Consul;

/// <summary>
/// A typed client for the parts of Consul's HTTP API the operator uses. Cluster-wide calls go to <see cref="Servers"/>,
/// agent-local calls (services, members, leave, agent tokens) to the agent given. Transient failures are retried with
/// backoff; everything else surfaces as <see cref="ConsulApiException"/>.
/// </summary>
public sealed class ConsulClient(HttpMessageInvoker http, Uri servers, string? token, ConsulRetry retry, TimeProvider time)
{

    public Uri Servers { get; } = servers;

    /// <summary>The same connection with a token (or none).</summary>
    public ConsulClient WithToken(string? secretId) => new(http, Servers, secretId, retry, time);

    /// <summary>The leader's raft address, or null when there is none.</summary>
    public async Task<string?> LeaderAsync(CancellationToken cancel)
    {
        var leader = await GetAsync<string>(Servers, "v1/status/leader", cancel);
        return string.IsNullOrEmpty(leader) ? null : leader;
    }

    public async Task<RaftConfiguration> RaftConfigurationAsync(CancellationToken cancel) =>
        await GetAsync<RaftConfiguration>(Servers, "v1/operator/raft/configuration", cancel) ?? new RaftConfiguration([], 0);

    /// <summary>The raft configuration as one server holds it, answered by that server even without a leader (<c>?stale</c>).</summary>
    public async Task<RaftConfiguration> LocalRaftConfigurationAsync(Uri server, CancellationToken cancel) =>
        await GetAsync<RaftConfiguration>(server, "v1/operator/raft/configuration?stale", cancel) ?? new RaftConfiguration([], 0);

    public async Task<AgentSelf> SelfAsync(Uri agent, CancellationToken cancel) =>
        await GetAsync<AgentSelf>(agent, "v1/agent/self", cancel) ?? throw new JsonException($"{agent} answered /v1/agent/self with nothing");

    public Task RemoveRaftPeerAsync(string id, CancellationToken cancel) =>
        SendAsync(HttpMethod.Delete, Servers, $"v1/operator/raft/peer?id={Uri.EscapeDataString(id)}", null, cancel);

    /// <summary>Autopilot's view; Consul answers 429 (with the same body) when the cluster is unhealthy, which is an answer, not a failure.</summary>
    public async Task<AutopilotHealth> AutopilotHealthAsync(CancellationToken cancel)
    {
        var body = await SendAsync(HttpMethod.Get, Servers, "v1/operator/autopilot/health", null, cancel, HttpStatusCode.TooManyRequests);
        return JsonSerializer.Deserialize(body, ConsulJson.Default.AutopilotHealth) ?? new AutopilotHealth(false, 0, []);
    }

    public async Task<IReadOnlyList<AgentMember>> MembersAsync(Uri agent, CancellationToken cancel) =>
        await GetAsync<List<AgentMember>>(agent, "v1/agent/members", cancel) ?? [];

    /// <summary>Registers (or replaces) a service on the agent; checks missing from the body are removed, so this is idempotent.</summary>
    public Task RegisterServiceAsync(Uri agent, JsonObject registration, CancellationToken cancel) =>
        SendAsync(HttpMethod.Put, agent, "v1/agent/service/register?replace-existing-checks=true", registration, cancel);

    /// <summary>False when the agent did not hold the service (404, or 500 "Unknown service" from older agents), which is what deregistering wanted.</summary>
    public async Task<bool> DeregisterServiceAsync(Uri agent, string serviceId, CancellationToken cancel)
    {
        try
        {
            await SendAsync(HttpMethod.Put, agent, $"v1/agent/service/deregister/{Uri.EscapeDataString(serviceId)}", null, cancel);
            return true;
        }
        catch (ConsulApiException e) when (e.IsUnknownService)
        {
            return false;
        }
    }

    public async Task<IReadOnlyDictionary<string, AgentService>> AgentServicesAsync(Uri agent, CancellationToken cancel) =>
        await GetAsync<Dictionary<string, AgentService>>(agent, "v1/agent/services", cancel) ?? [];

    /// <summary>The services the catalog holds on a node (none when it has no such node).</summary>
    public async Task<IReadOnlyDictionary<string, AgentService>> CatalogNodeServicesAsync(string node, CancellationToken cancel) =>
        (await GetAsync<CatalogNodeServices>(Servers, $"v1/catalog/node/{Uri.EscapeDataString(node)}", cancel))?.Services ?? [];

    /// <summary>The checks the catalog holds on a node.</summary>
    public async Task<IReadOnlyList<HealthCheck>> NodeChecksAsync(string node, CancellationToken cancel) =>
        await GetAsync<List<HealthCheck>>(Servers, $"v1/health/node/{Uri.EscapeDataString(node)}", cancel) ?? [];

    /// <summary>Registers (or updates) a node, a service on it and its check directly in the catalog; no agent keeps it in sync.</summary>
    public Task CatalogRegisterAsync(JsonObject registration, CancellationToken cancel) =>
        SendAsync(HttpMethod.Put, Servers, "v1/catalog/register", registration, cancel);

    /// <summary>Removes a service and its checks from a node in the catalog.</summary>
    public Task CatalogDeregisterAsync(string node, string serviceId, CancellationToken cancel) =>
        SendAsync(HttpMethod.Put, Servers, "v1/catalog/deregister", new JsonObject { ["Node"] = node, ["ServiceID"] = serviceId }, cancel);

    public async Task<IReadOnlyList<ServiceEntry>> ServiceHealthAsync(string service, CancellationToken cancel) =>
        await GetAsync<List<ServiceEntry>>(Servers, $"v1/health/service/{Uri.EscapeDataString(service)}", cancel) ?? [];

    /// <summary>
    /// Bootstraps ACLs offering a secret we chose (and stored) beforehand, so that an operator killed mid-call can still
    /// prove later which token the cluster accepted. Only servers with hashicorp/consul PR #14437 (1.15 on) take the offer;
    /// older ones ignore the body and make their own, so the caller keeps what comes back. Consul answers 403 once bootstrapped.
    /// </summary>
    public async Task<AclToken> BootstrapAclAsync(string secretId, CancellationToken cancel) =>
        Parse<AclToken>(await SendAsync(HttpMethod.Put, Servers, "v1/acl/bootstrap", new JsonObject { ["BootstrapSecret"] = secretId }, cancel));

    /// <summary>The token this client sends, or null when Consul does not know it.</summary>
    public async Task<AclToken?> SelfTokenAsync(CancellationToken cancel)
    {
        try
        {
            return await GetAsync<AclToken>(Servers, "v1/acl/token/self", cancel);
        }
        catch (ConsulApiException e) when (e.IsPermissionDenied || e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// The policy of that name, or null. Through the list and a read by ID, which every version since 1.4 has:
    /// <c>/v1/acl/policy/name/:name</c> came only in 1.7.3 (before it, the path is read as a policy ID and fails with
    /// a 500, hashicorp/consul#8032), and the list's stubs carry no rules.
    /// </summary>
    public async Task<AclPolicy?> PolicyByNameAsync(string name, CancellationToken cancel)
    {
        var stubs = await GetAsync<List<AclPolicyStub>>(Servers, "v1/acl/policies", cancel) ?? [];
        if (stubs.FirstOrDefault(p => p.Name == name) is not { } stub)
        {
            return null;
        }

        try
        {
            return await GetAsync<AclPolicy>(Servers, $"v1/acl/policy/{Uri.EscapeDataString(stub.ID)}", cancel);
        }
        catch (ConsulApiException e) when (e.IsAclNotFound)
        {
            return null;
        }
    }

    /// <summary>The policy with that ID, or null.</summary>
    public async Task<AclPolicy?> PolicyAsync(string id, CancellationToken cancel)
    {
        try
        {
            return await GetAsync<AclPolicy>(Servers, $"v1/acl/policy/{Uri.EscapeDataString(id)}", cancel);
        }
        catch (ConsulApiException e) when (e.IsAclNotFound)
        {
            return null;
        }
    }

    /// <summary>Deleting a policy that is gone already succeeds (agent/consul/acl_endpoint.go <c>PolicyDelete</c> returns early).</summary>
    public Task DeletePolicyAsync(string id, CancellationToken cancel) =>
        SendAsync(HttpMethod.Delete, Servers, $"v1/acl/policy/{Uri.EscapeDataString(id)}", null, cancel);

    public async Task<AclPolicy> CreatePolicyAsync(NewAclPolicy policy, CancellationToken cancel) =>
        Parse<AclPolicy>(await SendAsync(HttpMethod.Put, Servers, "v1/acl/policy", JsonSerializer.SerializeToNode(policy, ConsulJson.Default.NewAclPolicy)!.AsObject(), cancel));

    public async Task<AclPolicy> UpdatePolicyAsync(string id, NewAclPolicy policy, CancellationToken cancel) =>
        Parse<AclPolicy>(await SendAsync(HttpMethod.Put, Servers, $"v1/acl/policy/{Uri.EscapeDataString(id)}", JsonSerializer.SerializeToNode(policy, ConsulJson.Default.NewAclPolicy)!.AsObject(), cancel));

    public async Task<AclToken?> TokenAsync(string accessorId, CancellationToken cancel)
    {
        try
        {
            return await GetAsync<AclToken>(Servers, $"v1/acl/token/{Uri.EscapeDataString(accessorId)}", cancel);
        }
        catch (ConsulApiException e) when (e.IsAclNotFound)
        {
            return null;
        }
    }

    public async Task<AclToken> CreateTokenAsync(NewAclToken token, CancellationToken cancel) =>
        Parse<AclToken>(await SendAsync(HttpMethod.Put, Servers, "v1/acl/token", token.ToJson(), cancel));

    public async Task<AclToken> UpdateTokenAsync(string accessorId, NewAclToken token, CancellationToken cancel) =>
        Parse<AclToken>(await SendAsync(HttpMethod.Put, Servers, $"v1/acl/token/{Uri.EscapeDataString(accessorId)}", token.ToJson(), cancel));

    /// <summary>Deleting a token that is gone already succeeds (agent/consul/acl_endpoint.go <c>TokenDelete</c>: "nothing to do").</summary>
    public Task DeleteTokenAsync(string accessorId, CancellationToken cancel) =>
        SendAsync(HttpMethod.Delete, Servers, $"v1/acl/token/{Uri.EscapeDataString(accessorId)}", null, cancel);

    /// <summary>Hands a token to a running agent (<c>acl.tokens.&lt;kind&gt;</c>), which keeps it when token persistence is on.</summary>
    public Task SetAgentTokenAsync(Uri agent, string kind, string secretId, CancellationToken cancel) =>
        SendAsync(HttpMethod.Put, agent, $"v1/agent/token/{kind}", new JsonObject { ["Token"] = secretId }, cancel);

    public async Task<IReadOnlyList<KeyringResponse>> KeyringAsync(CancellationToken cancel) =>
        await GetAsync<List<KeyringResponse>>(Servers, "v1/operator/keyring", cancel) ?? [];

    public Task InstallGossipKeyAsync(string key, CancellationToken cancel) => Keyring(HttpMethod.Post, key, cancel);

    public Task UseGossipKeyAsync(string key, CancellationToken cancel) => Keyring(HttpMethod.Put, key, cancel);

    public Task RemoveGossipKeyAsync(string key, CancellationToken cancel) => Keyring(HttpMethod.Delete, key, cancel);

    /// <summary>The agent leaves gossip (and a server leaves raft) and shuts down.</summary>
    public Task LeaveAsync(Uri agent, CancellationToken cancel) => SendAsync(HttpMethod.Put, agent, "v1/agent/leave", null, cancel);

    public Task ForceLeaveAsync(string node, bool prune, CancellationToken cancel) =>
        SendAsync(HttpMethod.Put, Servers, $"v1/agent/force-leave/{Uri.EscapeDataString(node)}{(prune ? "?prune=1" : "")}", null, cancel);

    private async Task Keyring(HttpMethod method, string key, CancellationToken cancel) =>
        await SendAsync(method, Servers, "v1/operator/keyring", new JsonObject { ["Key"] = key }, cancel);

    private async Task<T?> GetAsync<T>(Uri baseUri, string path, CancellationToken cancel) =>
        JsonSerializer.Deserialize(await SendAsync(HttpMethod.Get, baseUri, path, null, cancel), Info<T>());

    private static T Parse<T>(string body) => JsonSerializer.Deserialize(body, Info<T>()) ?? throw new JsonException($"empty answer where a {typeof(T).Name} was expected");

    private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> Info<T>() =>
        ConsulJson.Default.GetTypeInfo(typeof(T)) as System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>
        ?? throw new InvalidOperationException($"{typeof(T).Name} is not in ConsulJson; add it there");

    private async Task<string> SendAsync(HttpMethod method, Uri baseUri, string path, JsonObject? body, CancellationToken cancel, HttpStatusCode? alsoSuccess = null)
    {
        var endpoint = new Uri(baseUri, path);
        using var response = await retry.RunAsync(method, endpoint, attempt => http.SendAsync(Request(method, endpoint, body), attempt), time, cancel, alsoSuccess);
        return await response.Content.ReadAsStringAsync(cancel);
    }

    private HttpRequestMessage Request(HttpMethod method, Uri endpoint, JsonObject? body)
    {
        var request = new HttpRequestMessage(method, endpoint);
        if (token is not null)
        {
            request.Headers.Add("X-Consul-Token", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return request;
    }
}
