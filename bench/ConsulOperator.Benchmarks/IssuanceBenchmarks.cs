using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using ConsulOperator.Pki;

namespace ConsulOperator.Benchmarks;

/// <summary>
/// The same ECDSA P-256 certificates issued with BouncyCastle (what the operator uses) and with .NET's own
/// System.Security.Cryptography (OpenSSL underneath on Linux), to know what the choice costs.
/// </summary>
[MemoryDiagnoser]
public class IssuanceBenchmarks
{
    private static readonly string[] ServerNames = ["consul-server-0.consul-server.consul.svc", "consul-server-0.consul-server.consul.svc.cluster.local", "server.dc1.consul", "localhost"];
    private CertificateAuthority bouncyCastleCa = null!;
    private X509Certificate2 dotNetCa = null!;
    private ECDsa dotNetCaKey = null!;

    [GlobalSetup]
    public void Setup()
    {
        bouncyCastleCa = BouncyCastleCa();
        dotNetCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        dotNetCa = DotNetCa(dotNetCaKey);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        dotNetCa.Dispose();
        dotNetCaKey.Dispose();
    }

    [Benchmark(Baseline = true)]
    public string BouncyCastleServerCertificate() =>
        bouncyCastleCa.Issue(new LeafRequest(CertificateRole.Server, "server.dc1.consul", ServerNames, [IPAddress.Loopback]), 365, TimeProvider.System).CertificatePem;

    [Benchmark]
    public string DotNetServerCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=server.dc1.consul", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in ServerNames)
        {
            names.AddDnsName(name);
        }

        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var certificate = request.Create(dotNetCa, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(365), serial);
        return certificate.ExportCertificatePem() + key.ExportECPrivateKeyPem();
    }

    [Benchmark]
    public string BouncyCastleCertificateAuthority() => BouncyCastleCa().CertificatePem;

    [Benchmark]
    public string DotNetCertificateAuthority()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = DotNetCa(key);
        return ca.ExportCertificatePem() + key.ExportECPrivateKeyPem();
    }

    private static CertificateAuthority BouncyCastleCa() =>
        CertificateAuthority.Create(1825, CertificateAuthority.PermittedDomainsFor("consul", "consul", "cluster.local"), "consul/consul", TimeProvider.System);

    private static X509Certificate2 DotNetCa(ECDsa key)
    {
        var request = new CertificateRequest("O=consul-operator, CN=Consul Agent CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1825));
    }
}
