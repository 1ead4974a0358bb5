using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ConsulOperator.Desired;
using ConsulOperator.Pki;

namespace ConsulOperator.Consul;

/// <summary>
/// One mutual-TLS connection pool per cluster: the operator presents the cluster's CLI certificate and trusts only the
/// cluster's CA, and an agent must prove it is a server (or, at a client pod, a client) of the cluster's datacenter
/// by the name <c>server.&lt;dc&gt;.&lt;domain&gt;</c>, as verify_server_hostname does between agents.
/// </summary>
public sealed class ConsulConnections(ConsulEndpoints endpoints, ConsulRetry retry, TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<string, Connection> connections = new();

    public ConsulEndpoints Endpoints => endpoints;

    public ConsulClient For(Names names, string datacenter, string domain, CertificateAuthority ca, IssuedCertificate cli, string? token)
    {
        var key = $"{names.Namespace}/{names.Cluster}";
        var connection = connections.AddOrUpdate(
            key,
            _ => Connect(names, datacenter, domain, ca, cli),
            (_, existing) => existing.Matches(datacenter, domain, ca, cli) ? existing : Connect(names, datacenter, domain, ca, cli));
        return new ConsulClient(connection.Invoker, ConsulEndpoints.Servers(names), token, retry, time);
    }

    /// <summary>Drops the cluster's connection pool once the cluster is gone.</summary>
    public void Forget(string ns, string cluster)
    {
        if (connections.TryRemove($"{ns}/{cluster}", out var connection))
        {
            connection.Invoker.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var connection in connections.Values)
        {
            connection.Invoker.Dispose();
        }
    }

    private Connection Connect(Names names, string datacenter, string domain, CertificateAuthority ca, IssuedCertificate cli)
    {
        var trustedCa = X509Certificate2.CreateFromPem(ca.CertificatePem);
        var clientCertificate = cli.ToX509Certificate2();
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [clientCertificate],
                RemoteCertificateValidationCallback = (sender, certificate, _, _) =>
                    certificate is not null && sender is SslStream stream
                    && IsAgentOf(new X509Certificate2(certificate), trustedCa, ExpectedName(names, stream.TargetHostName, datacenter, domain)),
            },
            ConnectCallback = async (context, cancel) =>
            {
                var target = await endpoints.RouteAsync(context.DnsEndPoint, cancel);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(target.Host, target.Port, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new Connection(new HttpMessageInvoker(handler), datacenter, domain, ca.CertificatePem, cli.CertificatePem);
    }

    // Client agents serve HTTPS with their client certificate; everything else we call is a server.
    private static string ExpectedName(Names names, string targetHost, string datacenter, string domain) =>
        LeafRequest.NameFor(targetHost.StartsWith($"{names.Clients}-", StringComparison.OrdinalIgnoreCase) ? CertificateRole.Client : CertificateRole.Server, datacenter, domain);

    /// <summary>Issued by the cluster's CA (and by nothing else we might trust) and named as an agent of the datacenter.</summary>
    public static bool IsAgentOf(X509Certificate2 certificate, X509Certificate2 ca, string expectedName)
        => TrustChain.IssuedBy(certificate, ca, TrustChain.ServerAuthentication) && certificate.MatchesHostname(expectedName, allowWildcards: false, allowCommonName: false);

    private sealed record Connection(HttpMessageInvoker Invoker, string Datacenter, string Domain, string CaPem, string CliPem)
    {
        public bool Matches(string datacenter, string domain, CertificateAuthority ca, IssuedCertificate cli) =>
            Datacenter == datacenter && Domain == domain && CaPem == ca.CertificatePem && CliPem == cli.CertificatePem;
    }
}
