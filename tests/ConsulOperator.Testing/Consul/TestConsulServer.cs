using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using ConsulOperator.Pki;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using static ConsulOperator.Testing.Consul.ConsulDatacenter;

namespace ConsulOperator.Testing.Consul;

/// <summary>One datacenter behind the server: its state, and what to bring up to date before each request.</summary>
public sealed record ConsulSite(ConsulDatacenter Datacenter, Action? Refresh = null);

/// <summary>
/// An in-process stand-in for Consul's HTTPS API over real TLS on loopback. Like a real agent it serves with the
/// certificate its configuration names (<c>cert_file</c>, <c>key_file</c>: files of its pod), trusts its <c>ca_file</c>,
/// and requires a client certificate only where its configuration verifies incoming HTTPS [C4]. The datacenter and
/// agent a request is for come from the name the client dialled (SNI and Host): a pod's name reaches that agent, a
/// Service name any alive server; a name with nobody alive behind it finds the connection closed.
/// </summary>
public sealed class TestConsulServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Func<string, ConsulSite?> siteFor;
    private readonly Lock logGate = new();
    private readonly List<string> requests = [];

    private TestConsulServer(WebApplication app, Func<string, ConsulSite?> siteFor, ConsulFaults faults)
    {
        this.app = app;
        this.siteFor = siteFor;
        Faults = faults;
    }

    public ConsulFaults Faults { get; }

    public int Port { get; private set; }

    /// <summary>"METHOD path agent status" of every request answered, in order.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (logGate)
            {
                return [.. requests];
            }
        }
    }

    /// <summary>A server for one datacenter, whatever name is dialled.</summary>
    public static Task<TestConsulServer> StartAsync(ConsulSite site) => StartAsync(_ => site);

    /// <param name="siteFor">The datacenter a dialled name belongs to, or null for none.</param>
    public static async Task<TestConsulServer> StartAsync(Func<string, ConsulSite?> siteFor, int port = 0)
    {
        var faults = new ConsulFaults();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = context =>
            {
                var serverName = context.ClientHelloInfo.ServerName;
                var site = siteFor(serverName);
                site?.Refresh?.Invoke();
                var agent = site is null ? null : Addressed(site.Datacenter, serverName);
                if (agent?.Start is not { } start || AgentTls.Of(start) is not { } tls)
                {
                    throw new AuthenticationException($"nobody serves TLS at {serverName}");
                }

                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificate = tls.Serving,
                    ClientCertificateRequired = start.HttpsVerifyIncoming,
                    RemoteCertificateValidationCallback = (_, client, _, _) =>
                        !start.HttpsVerifyIncoming || (client is not null && TrustChain.IssuedBy(new X509Certificate2(client), tls.Ca)),
                });
            },
        })));
        var app = builder.Build();
        var server = new TestConsulServer(app, siteFor, faults);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (Faults.Latency > TimeSpan.Zero)
        {
            await Task.Delay(Faults.Latency, context.RequestAborted);
        }

        var path = context.Request.Path.Value ?? "";
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var raw = buffer.ToArray();

        // [KV1] A KV write's body is the value itself, not JSON; a snapshot restore's is the snapshot file.
        var body = raw.Length > 0 && !path.StartsWith("/v1/kv/", StringComparison.Ordinal) && path != "/v1/snapshot" ? JsonNode.Parse(raw) as JsonObject : null;
        var host = context.Request.Host.Host;
        var site = siteFor(host);
        site?.Refresh?.Invoke();
        var datacenter = site?.Datacenter;
        ConsulAnswer answer;
        string agentName;
        lock (datacenter?.Gate ?? logGate)
        {
            var agent = datacenter is null ? null : Addressed(datacenter, host);
            if (agent is null)
            {
                // Nobody alive behind that name: like a Service without endpoints, the connection just ends.
                context.Abort();
                return;
            }

            agentName = agent.Name;
            answer = Faults.Take(path) is { } fault
                ? new ConsulAnswer(fault.StatusCode, fault.Body)
                : new ConsulApiHandler(datacenter!).Route(context.Request.Method, path, context.Request.Query, body, agent, Token(context.Request), raw);
        }

        lock (logGate)
        {
            requests.Add($"{context.Request.Method} {path} {agentName} {answer.StatusCode}");
        }

        context.Response.StatusCode = answer.StatusCode;
        context.Response.Headers["X-Consul-KnownLeader"] = datacenter!.Leader is null ? "false" : "true";
        if (answer.Index is { } index)
        {
            context.Response.Headers["X-Consul-Index"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (answer.Allow is { } allow)
        {
            context.Response.Headers.Allow = string.Join(",", allow);
        }

        if (answer.Bytes is not null)
        {
            context.Response.ContentType = "application/x-gzip";
            await context.Response.Body.WriteAsync(answer.Bytes, context.RequestAborted);
        }
        else if (answer.Json is not null || answer.JsonNull)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer.Json?.ToJsonString() ?? "null", context.RequestAborted);
        }
        else if (answer.Text is not null)
        {
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(answer.Text, context.RequestAborted);
        }
    }

    // [H3] agent/http.go parseTokenInternal: ?token first, then X-Consul-Token, then "Authorization: Bearer"; none means anonymous.
    private static string? Token(HttpRequest request) =>
        request.Query["token"].FirstOrDefault() is { Length: > 0 } query ? query
        : request.Headers["X-Consul-Token"].FirstOrDefault() is { Length: > 0 } header ? header
        : request.Headers.Authorization.FirstOrDefault() is { } bearer && bearer.StartsWith("Bearer ", StringComparison.Ordinal) ? bearer[7..].Trim().Split(' ')[0]
        : null;

    // A pod name reaches that agent; any other name (the server Service) reaches an alive server pod, the leader if it is
    // one. A Service selects pods, so the servers of machines outside Kubernetes are never behind it.
    private static Agent? Addressed(ConsulDatacenter datacenter, string host)
    {
        var label = host.Split('.')[0];
        if (datacenter.Find(label) is { OutsideKubernetes: false } agent)
        {
            return agent.Status == MemberStatus.Alive ? agent : null;
        }

        var servers = datacenter.Agents.Where(a => a.Server && a.Status == MemberStatus.Alive && !a.OutsideKubernetes).OrderBy(a => a.Name != datacenter.Leader).ThenBy(a => a.Ordinal);
        return servers.FirstOrDefault();
    }
}

