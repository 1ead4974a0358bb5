using System.Net;

namespace ConsulOperator.Pki;

/// <summary>What a leaf certificate must say: its role, common name and subject alternative names, in order.</summary>
public sealed record LeafRequest(CertificateRole Role, string CommonName, IReadOnlyList<string> DnsNames, IReadOnlyList<IPAddress> IpAddresses)
{
    /// <summary>
    /// The names <c>consul tls cert create</c> gives a certificate of this role for datacenter and domain,
    /// after the extra names (the pods' and Services' DNS names), in the order the CLI writes them.
    /// </summary>
    public static LeafRequest For(CertificateRole role, string datacenter, string domain, IReadOnlyList<string> extraDnsNames)
    {
        var commonName = NameFor(role, datacenter, domain);

        // The CLI ignores extra DNS names for -cli and adds no 127.0.0.1 there.
        if (role == CertificateRole.Cli)
        {
            return new LeafRequest(role, commonName, [commonName, "localhost"], []);
        }

        return new LeafRequest(role, commonName, [.. extraDnsNames, commonName, "localhost"], [IPAddress.Loopback]);
    }

    /// <summary>
    /// The name a certificate of this role carries (<c>server.dc1.consul</c>): what a caller of a server's or client's
    /// HTTPS API checks the certificate against (a TLS server name).
    /// </summary>
    public static string NameFor(CertificateRole role, string datacenter, string domain)
    {
        var roleName = role switch
        {
            CertificateRole.Server => "server",
            CertificateRole.Client => "client",
            _ => "cli",
        };
        return $"{roleName}.{datacenter}.{domain}";
    }

    /// <summary>
    /// A caller of the HTTPS API that is no agent: client auth only, under a name of its own that no agent has
    /// (<c>&lt;who&gt;.&lt;dc&gt;.&lt;domain&gt;</c>: metrics for Prometheus, ui-proxy for the UI Ingress).
    /// </summary>
    public static LeafRequest ApiClient(string who, string datacenter, string domain)
    {
        var commonName = $"{who}.{datacenter}.{domain}";
        return new LeafRequest(CertificateRole.Cli, commonName, [commonName], []);
    }
}
