using System.Text;
using System.Text.Json.Nodes;
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

    private const string MachineCa = "/etc/consul.d/tls/consul-agent-ca.pem";
    private const string MachineCertificate = "/etc/consul.d/tls/dc1-consul.pem";
    private const string MachineKey = "/etc/consul.d/tls/dc1-consul-key.pem";

    private readonly OpenSsl openssl = new();

    public HandBuiltDatacenter(string datacenter = "dc1")
    {
        Run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "3650", "-subj", "/O=Example Corp/CN=Example Corp Consul CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        CaCertificate = openssl.Read("ca.pem");
        CaKey = openssl.Read("ca-key.pem");
        (ServerCertificate, ServerKey) = IssueCertificate($"server.{datacenter}.consul");

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

    /// <summary>Points a spec at the Secrets of <see cref="Secrets"/>: the CA, the gossip key and (unless left out) the management token.</summary>
    public static void Adopt(ConsulOperator.Api.V1Alpha1.ConsulClusterSpec spec, bool token = true)
    {
        spec.Tls.CaSecretRef = new() { Name = CaSecret };
        spec.Gossip.KeySecretRef = new() { Name = GossipSecret, Key = "gossip-key" };
        spec.Acl.BootstrapTokenSecretRef = token ? new() { Name = TokenSecret, Key = "secret-id" } : null;
    }

    /// <summary>Where a machine of the datacenter keeps its CA, certificate and key: the files its configuration names.</summary>
    public IReadOnlyDictionary<string, string> MachineFiles(string? certificate = null, string? key = null) => new Dictionary<string, string>
    {
        [MachineCa] = CaCertificate,
        [MachineCertificate] = certificate ?? ServerCertificate,
        [MachineKey] = key ?? ServerKey,
    };

    /// <summary>
    /// The config.json of one of the datacenter's agents as the guides write it for the version: its own address, the
    /// servers in retry_join, the gossip key, TLS verified both ways with the server name checked (the tls stanza from
    /// 1.12, the top-level keys before), ACLs denying by default. Servers expect three for the bootstrap.
    /// </summary>
    public JsonObject AgentConfig(string version, string nodeName, string address, IEnumerable<string> join, bool server = true)
    {
        var config = new JsonObject
        {
            ["datacenter"] = "dc1",
            ["node_name"] = nodeName,
            ["server"] = server,
            ["data_dir"] = "/opt/consul",
            ["bind_addr"] = address,
            ["advertise_addr"] = address,
            ["client_addr"] = "0.0.0.0",
            ["retry_join"] = new JsonArray([.. join.Select(s => JsonValue.Create(s))]),
            ["encrypt"] = GossipKey,
            ["ports"] = new JsonObject { ["http"] = -1, ["https"] = 8501 },
            ["acl"] = new JsonObject { ["enabled"] = true, ["default_policy"] = "deny", ["enable_token_persistence"] = true },
        };
        if (server)
        {
            config["bootstrap_expect"] = 3;
        }

        if (ConsulOperator.Api.ConsulVersion.Parse(version).UsesTlsStanza)
        {
            config["tls"] = new JsonObject
            {
                ["defaults"] = new JsonObject
                {
                    ["ca_file"] = MachineCa,
                    ["cert_file"] = MachineCertificate,
                    ["key_file"] = MachineKey,
                    ["verify_incoming"] = true,
                    ["verify_outgoing"] = true,
                },
                ["internal_rpc"] = new JsonObject { ["verify_server_hostname"] = true },
            };
            config["ui_config"] = new JsonObject { ["enabled"] = server };
        }
        else
        {
            config["ca_file"] = MachineCa;
            config["cert_file"] = MachineCertificate;
            config["key_file"] = MachineKey;
            config["verify_incoming"] = true;
            config["verify_outgoing"] = true;
            config["verify_server_hostname"] = true;
            config["ui"] = server;
        }

        return config;
    }

    /// <summary>The Secrets a team would create from those files, labelled so that the operator sees them.</summary>
    public IReadOnlyList<V1Secret> Secrets(string ns = "consul", bool labelled = true) =>
    [
        Secret(ns, CaSecret, "kubernetes.io/tls", labelled, (KeyMaterialSecrets.CertificateKey, CaCertificate), (KeyMaterialSecrets.PrivateKeyKey, CaKey)),
        Secret(ns, GossipSecret, "Opaque", labelled, ("gossip-key", GossipKey)),
        Secret(ns, TokenSecret, "Opaque", labelled, ("secret-id", ManagementToken)),
    ];

    /// <summary>A certificate and key signed by this CA with openssl, for the name given (and localhost), for server and client authentication, as consul tls cert create makes them.</summary>
    public (string Certificate, string Key) IssueCertificate(string name)
    {
        var file = $"server-{Guid.NewGuid():N}";
        openssl.Write($"{file}.ext", $"subjectAltName=DNS:{name},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
        Run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", $"{file}-key.pem", "-out", $"{file}.csr", "-subj", $"/CN={name}");
        Run("x509", "-req", "-in", $"{file}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "365", "-extfile", $"{file}.ext", "-out", $"{file}.pem");
        return (openssl.Read($"{file}.pem"), openssl.Read($"{file}-key.pem"));
    }

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
