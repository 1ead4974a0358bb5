using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ConsulOperator.Desired;
using ConsulOperator.Testing.Consul;
using k8s.Models;

namespace ConsulOperator.Tests.Support;

/// <summary>
/// Plays a consumer of a ConsulACLToken's Secret (Vault's Consul storage, the consul CLI): it reads only the Secret, trusts
/// only its ca.crt, checks the server's name as Go's TLS does, presents tls.crt/tls.key when they are there, and sends
/// the token. Every connection goes to the simulated Consul, whatever the address says, as a cluster's DNS would route it.
/// </summary>
public sealed class Consumer : IDisposable
{
    private readonly HttpClient http;

    public Consumer(V1Secret secret, TestConsulFleet fleet, bool presentCertificate = true)
        : this(
            fleet, new Uri(Text(secret, AclObjects.HttpAddressKey)), Text(secret, AclObjects.TokenKey), Text(secret, KeyMaterialSecrets.CaCertificateKey),
            presentCertificate && secret.Data.ContainsKey(KeyMaterialSecrets.CertificateKey) ? (Text(secret, KeyMaterialSecrets.CertificateKey), Text(secret, KeyMaterialSecrets.PrivateKeyKey)) : null)
    {
    }

    /// <summary>
    /// A consumer put together from parts, as a scrape configuration is: the address dialled, the name the server
    /// certificate is checked against (a scrape's tls_config.server_name), the CA, a client certificate. The name goes
    /// only into the check: the simulated Consul tells agents apart by the name dialled, where a real one is told apart by
    /// its address.
    /// </summary>
    public Consumer(TestConsulFleet fleet, Uri address, string token, string caPem, (string Certificate, string Key)? client, string? serverName = null)
    {
        Address = address;
        Token = token;
        var ca = X509Certificate2.CreateFromPem(caPem);
        var ssl = new SslClientAuthenticationOptions
        {
            TargetHost = Address.Host,
            CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { ca }, RevocationMode = X509RevocationMode.NoCheck },
        };
        if (serverName is not null)
        {
            // The chain is still checked by the policy above; only the name checked is the one given.
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None
                && certificate is not null && X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()).MatchesHostname(serverName);
        }
        if (client is { } pair)
        {
            var pem = X509Certificate2.CreateFromPem(pair.Certificate, pair.Key);
            ssl.ClientCertificates = [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
        }

        http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = ssl,
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(fleet.Address, cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });
    }

    public Uri Address { get; }

    public string Token { get; }

    /// <summary>PUT /v1/kv/&lt;key&gt; with the value as body, the token in X-Consul-Token; the status code Consul answered.</summary>
    public async Task<int> PutAsync(string key, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(Address, $"/v1/kv/{key}")) { Content = new StringContent(value, Encoding.UTF8) };
        request.Headers.Add("X-Consul-Token", Token);
        using var response = await http.SendAsync(request);
        return (int)response.StatusCode;
    }

    /// <summary>The value under a key, or null for any answer but 200.</summary>
    public async Task<string?> GetAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Address, $"/v1/kv/{key}"));
        request.Headers.Add("X-Consul-Token", Token);
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        var entry = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray()[0]!;
        return Encoding.UTF8.GetString(Convert.FromBase64String((string)entry["Value"]!));
    }

    /// <summary>A GET as Prometheus sends it, the token as a Bearer credential: the status and the body.</summary>
    public async Task<(int Status, string Body)> ScrapeAsync(string pathAndQuery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Address, pathAndQuery));
        if (Token.Length > 0)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        }
        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public void Dispose() => http.Dispose();

    private static string Text(V1Secret secret, string key) => KeyMaterialSecrets.Text(secret, key) ?? throw new InvalidOperationException($"Secret {secret.Metadata.Name} has no key {key}");
}
