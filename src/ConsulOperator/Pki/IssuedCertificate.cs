using System.Net;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.X509;
using X509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace ConsulOperator.Pki;

/// <summary>A leaf certificate with its private key, as PEM, and what it says.</summary>
public sealed class IssuedCertificate
{
    private readonly CertifiedKey key;

    private IssuedCertificate(CertifiedKey key) => this.key = key;

    internal X509Certificate Certificate => key.Certificate;

    /// <summary>The CA this certificate was last verified against; signature checks are the costly part of a reconcile.</summary>
    internal CertificateAuthority? VerifiedIssuer { get; set; }

    public string CertificatePem => key.CertificatePem;

    public string PrivateKeyPem => key.PrivateKeyPem;

    public DateTimeOffset NotBefore => new(Certificate.NotBefore, TimeSpan.Zero);

    public DateTimeOffset NotAfter => new(Certificate.NotAfter, TimeSpan.Zero);

    /// <summary>When it was issued: NotBefore is backdated by the clock-skew allowance.</summary>
    public DateTimeOffset IssuedAt => NotBefore + CertificateAuthority.ClockSkewAllowance;

    public string CommonName => Certificate.SubjectDN.GetValueList(X509Name.CN).FirstOrDefault() ?? "";

    public IReadOnlyList<string> DnsNames => SubjectAlternativeNames(GeneralName.DnsName);

    public IReadOnlyList<IPAddress> IpAddresses => [.. SubjectAlternativeNames(GeneralName.IPAddress).Select(IPAddress.Parse)];

    public IReadOnlyList<string> ExtendedKeyUsages => [.. Certificate.GetExtendedKeyUsage()?.Select(oid => oid.Id) ?? []];

    /// <summary>
    /// The certificate with its key for SslStream. The PKCS#12 round trip gives a persisted key handle, which TLS on
    /// Linux needs for a certificate it presents; a key straight from PEM stays ephemeral.
    /// </summary>
    public X509Certificate2 ToX509Certificate2()
    {
        using var ephemeral = X509Certificate2.CreateFromPem(CertificatePem, PrivateKeyPem);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    internal static IssuedCertificate Create(X509Certificate certificate, AsymmetricKeyParameter privateKey) => new(CertifiedKey.Create(certificate, privateKey));

    /// <summary>Reads a certificate and key kept in a Secret; throws <see cref="KeyMaterialException"/> when they are unreadable or do not belong together.</summary>
    public static IssuedCertificate Load(string certificatePem, string privateKeyPem, string source) => new(CertifiedKey.Load(certificatePem, privateKeyPem, source));

    /// <summary>Whether the certificate carries exactly the names and role the request asks for.</summary>
    public bool Satisfies(LeafRequest request) =>
        CommonName == request.CommonName
        && DnsNames.SequenceEqual(request.DnsNames, StringComparer.OrdinalIgnoreCase)
        && IpAddresses.SequenceEqual(request.IpAddresses)
        && ExtendedKeyUsages.SequenceEqual(CertificateAuthority.ExtendedKeyUsagesFor(request.Role).Select(k => k.Id));

    private List<string> SubjectAlternativeNames(int type) =>
        [.. (Certificate.GetSubjectAlternativeNames() ?? []).Where(n => n.Count == 2 && Convert.ToInt32(n[0], System.Globalization.CultureInfo.InvariantCulture) == type).Select(n => n[1]!.ToString()!)];
}
