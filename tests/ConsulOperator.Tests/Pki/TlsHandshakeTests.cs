using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ConsulOperator.Pki;

namespace ConsulOperator.Tests.Pki;

/// <summary>
/// Real TLS handshakes over loopback, checked the way Consul agents check them: the dialer verifies the chain and the
/// name server.&lt;dc&gt;.&lt;domain&gt; (verify_server_hostname), the listener demands a client certificate from the CA (verify_incoming).
/// </summary>
public class TlsHandshakeTests
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private static readonly CertificateAuthority Ca = CertificateAuthority.Create(
        1825, CertificateAuthority.PermittedDomainsFor("consul", "consul", "cluster.local"), "consul/consul", TimeProvider.System);

    private static readonly IssuedCertificate Server = Ca.Issue(LeafRequest.For(CertificateRole.Server, "dc1", "consul", ["consul-server-0.consul-server.consul.svc"]), 30, TimeProvider.System);
    private static readonly IssuedCertificate OtherServer = Ca.Issue(LeafRequest.For(CertificateRole.Server, "dc1", "consul", ["consul-server-1.consul-server.consul.svc"]), 30, TimeProvider.System);
    private static readonly IssuedCertificate Client = Ca.Issue(LeafRequest.For(CertificateRole.Client, "dc1", "consul", []), 30, TimeProvider.System);
    private static readonly IssuedCertificate Cli = Ca.Issue(LeafRequest.For(CertificateRole.Cli, "dc1", "consul", []), 30, TimeProvider.System);

    [Fact]
    public async Task A_client_agent_and_a_server_complete_mutual_tls_with_hostname_verification()
    {
        var result = await Handshake(Server, Client, "server.dc1.consul");

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal("CN=client.dc1.consul", result.ClientCertificateSeenByServer);
    }

    [Fact]
    public async Task Servers_dial_each_other_with_their_server_certificates_as_raft_does()
    {
        var result = await Handshake(Server, OtherServer, "server.dc1.consul");

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal("CN=server.dc1.consul", result.ClientCertificateSeenByServer);
    }

    [Fact]
    public async Task The_operator_reaches_the_https_api_with_its_cli_certificate()
    {
        var result = await Handshake(Server, Cli, "server.dc1.consul");

        Assert.True(result.Succeeded, result.Error);
    }

    [Fact]
    public async Task The_pod_dns_name_also_verifies()
    {
        var result = await Handshake(Server, Client, "consul-server-0.consul-server.consul.svc");

        Assert.True(result.Succeeded, result.Error);
    }

    [Fact]
    public async Task A_dialer_expecting_another_datacenter_refuses_the_server()
    {
        var result = await Handshake(Server, Client, "server.dc2.consul");

        Assert.False(result.Succeeded);
        Assert.Contains("RemoteCertificateNameMismatch", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_without_a_certificate_is_refused()
    {
        var result = await Handshake(Server, clientCertificate: null, "server.dc1.consul");

        Assert.False(result.Succeeded);
        Assert.Contains("RemoteCertificateNotAvailable", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_from_another_ca_is_refused()
    {
        var strangerCa = CertificateAuthority.Create(10, [], "x/y", TimeProvider.System);
        var stranger = strangerCa.Issue(LeafRequest.For(CertificateRole.Client, "dc1", "consul", []), 30, TimeProvider.System);

        var result = await Handshake(Server, stranger, "server.dc1.consul");

        Assert.False(result.Succeeded);
        Assert.Contains("RemoteCertificateChainErrors", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_certificate_cannot_pose_as_a_server()
    {
        var result = await Handshake(Cli, Client, "cli.dc1.consul");

        Assert.False(result.Succeeded);
        Assert.Contains("RemoteCertificateChainErrors", result.Error, StringComparison.Ordinal);
    }

    private sealed record Outcome(bool Succeeded, string Error, string? ClientCertificateSeenByServer);

    private static async Task<Outcome> Handshake(IssuedCertificate serverCertificate, IssuedCertificate? clientCertificate, string targetHost)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var ca = X509Certificate2.CreateFromPem(Ca.CertificatePem);
        using var serverCert = serverCertificate.ToX509Certificate2();
        using var clientCert = clientCertificate?.ToX509Certificate2();
        var errors = new List<string>();
        string? seenByServer = null;

        var serverSide = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = serverCert,
                ClientCertificateRequired = true,
                CertificateChainPolicy = Policy(ca, ClientAuth),
                RemoteCertificateValidationCallback = (_, _, _, policyErrors) => Accept("server", policyErrors, errors),
            });
            seenByServer = tls.RemoteCertificate?.Subject;
            await tls.WriteAsync(new byte[] { 1 });
        });

        var clientSide = Task.Run(async () =>
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, port);
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = targetHost,
                ClientCertificates = clientCert is null ? [] : [clientCert],
                CertificateChainPolicy = Policy(ca, ServerAuth),
                RemoteCertificateValidationCallback = (_, _, _, policyErrors) => Accept("client", policyErrors, errors),
            });
            var buffer = new byte[1];
            await tls.ReadExactlyAsync(buffer);
        });

        try
        {
            await Task.WhenAll(serverSide, clientSide).WaitAsync(TimeSpan.FromSeconds(20));
            return new Outcome(errors.Count == 0, string.Join("; ", errors), seenByServer);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException)
        {
            lock (errors)
            {
                errors.Add(e.Message);
            }

            return new Outcome(false, string.Join("; ", errors), seenByServer);
        }
    }

    private static bool Accept(string side, SslPolicyErrors policyErrors, List<string> errors)
    {
        if (policyErrors == SslPolicyErrors.None)
        {
            return true;
        }

        lock (errors)
        {
            errors.Add($"{side} refused the peer: {policyErrors}");
        }

        return false;
    }

    // Trust only the cluster CA, and require the usage the peer's role needs.
    private static X509ChainPolicy Policy(X509Certificate2 ca, Oid usage)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(ca);
        policy.ApplicationPolicy.Add(usage);
        return policy;
    }
}
