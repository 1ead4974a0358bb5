using System.Text;
using ConsulOperator.Desired;
using k8s.Models;

namespace ConsulOperator.Tests.Support;

/// <summary>
/// The key material of a datacenter built by hand, made by the real openssl the way the guides do it: an RSA CA that
/// has no name constraints, a server certificate its existing servers run with, a 32-byte base64 gossip key, and a
/// management token. Nothing here comes from the operator's own PKI code.
/// </summary>
public sealed class HandBuiltDatacenter : IDisposable
{
    public const string CaSecret = "corp-consul-ca";
    public const string GossipSecret = "corp-consul-gossip";
    public const string TokenSecret = "corp-consul-management";

    private readonly OpenSsl openssl = new();

    public HandBuiltDatacenter(string datacenter = "dc1")
    {
        Run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "3650", "-subj", "/O=Example Corp/CN=Example Corp Consul CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        openssl.Write("server.ext", $"subjectAltName=DNS:server.{datacenter}.consul,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
        Run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr", "-subj", $"/CN=server.{datacenter}.consul");
        Run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "365", "-extfile", "server.ext", "-out", "server.pem");
        CaCertificate = openssl.Read("ca.pem");
        CaKey = openssl.Read("ca-key.pem");
        ServerCertificate = openssl.Read("server.pem");
        ServerKey = openssl.Read("server-key.pem");

        // consul keygen prints 32 random bytes in standard base64; openssl rand -base64 32 gives the same form.
        GossipKey = Run("rand", "-base64", "32").Trim();
        ManagementToken = Guid.NewGuid().ToString();
    }

    public string CaCertificate { get; }

    public string CaKey { get; }

    /// <summary>What an existing server of the hand-built datacenter presents: signed by the CA with openssl, not by the operator.</summary>
    public string ServerCertificate { get; }

    public string ServerKey { get; }

    public string GossipKey { get; }

    public string ManagementToken { get; }

    /// <summary>The Secrets a team would create from those files, labelled so that the operator sees them.</summary>
    public IReadOnlyList<V1Secret> Secrets(string ns = "consul", bool labelled = true) =>
    [
        Secret(ns, CaSecret, "kubernetes.io/tls", labelled, (KeyMaterialSecrets.CertificateKey, CaCertificate), (KeyMaterialSecrets.PrivateKeyKey, CaKey)),
        Secret(ns, GossipSecret, "Opaque", labelled, ("gossip-key", GossipKey)),
        Secret(ns, TokenSecret, "Opaque", labelled, ("secret-id", ManagementToken)),
    ];

    /// <summary>Whether openssl accepts the certificate as issued by the hand-built CA for the purpose.</summary>
    public (int ExitCode, string Output) Verify(string certificatePem, string purpose, string? hostname = null)
    {
        var file = openssl.Write($"leaf-{Guid.NewGuid():N}.pem", certificatePem);
        string[] host = hostname is null ? [] : ["-verify_hostname", hostname];
        return openssl.Run(["verify", "-x509_strict", "-CAfile", Path.Combine(openssl.Directory, "ca.pem"), "-purpose", purpose, .. host, file]);
    }

    public void Dispose() => openssl.Dispose();

    private static V1Secret Secret(string ns, string name, string type, bool labelled, params (string Key, string Value)[] data) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = labelled ? new Dictionary<string, string> { [AdoptedSecrets.Label] = "true" } : null,
        },
        Type = type,
        Data = data.ToDictionary(d => d.Key, d => Encoding.ASCII.GetBytes(d.Value)),
    };

    private string Run(params string[] arguments)
    {
        var (exitCode, output) = openssl.Run(arguments);
        Assert.True(exitCode == 0, $"openssl {string.Join(' ', arguments)}: {output}");
        return output;
    }
}
