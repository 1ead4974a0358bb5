using System.Globalization;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;

namespace ConsulOperator.Pki;

/// <summary>
/// The cluster's private CA: ECDSA P-256, self-signed, issuing leaf certificates the way <c>consul tls</c> does; or an
/// adopted CA made elsewhere (RSA or ECDSA), which signs the same leaves. Its key stays in its Secret and in the
/// operator; agents only ever see the certificate.
/// </summary>
public sealed class CertificateAuthority
{
    // Certificates start a little in the past so that an agent whose clock is slightly behind accepts them at once.
    internal static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    private static readonly SecureRandom Random = new();

    private readonly CertifiedKey key;

    private CertificateAuthority(CertifiedKey key) => this.key = key;

    internal X509Certificate Certificate => key.Certificate;

    public string CertificatePem => key.CertificatePem;

    public string PrivateKeyPem => key.PrivateKeyPem;

    public DateTimeOffset NotAfter => new(Certificate.NotAfter, TimeSpan.Zero);

    /// <summary>The DNS subtrees the CA may issue for, or empty when it carries no name constraints.</summary>
    public IReadOnlyList<string> PermittedDnsDomains
    {
        get
        {
            var extension = Certificate.GetExtensionValue(X509Extensions.NameConstraints);
            if (extension is null)
            {
                return [];
            }

            var constraints = NameConstraints.GetInstance(X509ExtensionUtilities.FromExtensionValue(extension));
            return [.. constraints.PermittedSubtreesValue?.GetElements()
                .Where(s => s.Base.TagNo == GeneralName.DnsName).Select(s => s.Base.Name.ToString()!) ?? []];
        }
    }

    /// <summary>
    /// The DNS subtrees a CA for a cluster must permit: the Consul domain and localhost, as <c>consul tls ca create -name-constraint</c>
    /// gives, plus the namespace's Service domain, where the pods' and Services' names live.
    /// </summary>
    public static IReadOnlyList<string> PermittedDomainsFor(string domain, string @namespace, string clusterDomain) =>
        [domain, "localhost", $"{@namespace}.svc", $"{@namespace}.svc.{clusterDomain}"];

    public static CertificateAuthority Create(int validityDays, IReadOnlyList<string> permittedDnsDomains, string organizationalUnit, TimeProvider time)
    {
        var keys = GenerateKeyPair();
        var serial = NewSerialNumber();
        var subject = new X509Name(
            [X509Name.O, X509Name.OU, X509Name.CN],
            ["consul-operator", organizationalUnit, $"Consul Agent CA {serial.ToString(10)}"]);
        var now = time.GetUtcNow().UtcDateTime;
        var keyId = KeyIdentifier(keys.Public);

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(serial);
        generator.SetIssuerDN(subject);
        generator.SetSubjectDN(subject);
        generator.SetNotBefore(now - ClockSkewAllowance);
        generator.SetNotAfter(now.AddDays(validityDays));
        generator.SetPublicKey(keys.Public);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(true));
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.KeyCertSign | KeyUsage.CrlSign | KeyUsage.DigitalSignature));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(keyId));
        if (permittedDnsDomains.Count > 0)
        {
            var permitted = permittedDnsDomains.Select(d => new GeneralSubtree(new GeneralName(GeneralName.DnsName, d))).ToArray();
            generator.AddExtension(X509Extensions.NameConstraints, true, new NameConstraints(new GeneralSubtrees(permitted), null));
        }

        var certificate = generator.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", keys.Private, Random));
        return new CertificateAuthority(CertifiedKey.Create(certificate, keys.Private));
    }

    /// <summary>Reads the CA from its Secret; throws <see cref="KeyMaterialException"/> rather than let anyone replace a CA that is there but broken.</summary>
    public static CertificateAuthority Load(string certificatePem, string privateKeyPem, string source)
    {
        var key = CertifiedKey.Load(certificatePem, privateKeyPem, source);
        if (key.Certificate.GetBasicConstraints() < 0)
        {
            throw new KeyMaterialException($"{source}: the certificate is not a CA (basicConstraints CA:FALSE)");
        }

        return new CertificateAuthority(key);
    }

    public IssuedCertificate Issue(LeafRequest request, int validityDays, TimeProvider time)
    {
        var keys = GenerateKeyPair();
        var now = time.GetUtcNow().UtcDateTime;
        var notAfter = now.AddDays(validityDays);

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(NewSerialNumber());
        generator.SetIssuerDN(Certificate.SubjectDN);
        generator.SetSubjectDN(new X509Name([X509Name.CN], [request.CommonName]));
        generator.SetNotBefore(now - ClockSkewAllowance);

        // A leaf cannot outlive its CA: clients would reject it from the day the CA expires anyway.
        generator.SetNotAfter(notAfter < Certificate.NotAfter ? notAfter : Certificate.NotAfter);
        generator.SetPublicKey(keys.Public);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature | KeyUsage.KeyEncipherment));
        generator.AddExtension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(ExtendedKeyUsagesFor(request.Role)));
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, new SubjectKeyIdentifier(KeyIdentifier(keys.Public)));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(SubjectKeyIdentifierOfCa()));
        var names = request.DnsNames.Select(n => new GeneralName(GeneralName.DnsName, n))
            .Concat(request.IpAddresses.Select(ip => new GeneralName(GeneralName.IPAddress, ip.ToString())))
            .ToArray();
        generator.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(names));

        var certificate = generator.Generate(new Asn1SignatureFactory(key.SignatureAlgorithm, key.PrivateKey, Random));
        return IssuedCertificate.Create(certificate, keys.Private);
    }

    /// <summary>Whether this CA signed the certificate. A positive answer is remembered on the leaf: both are immutable.</summary>
    public bool IsIssuerOf(IssuedCertificate leaf)
    {
        if (ReferenceEquals(leaf.VerifiedIssuer, this))
        {
            return true;
        }

        try
        {
            leaf.Certificate.Verify(Certificate.GetPublicKey());
            var issued = leaf.Certificate.IssuerDN.Equivalent(Certificate.SubjectDN);
            if (issued)
            {
                leaf.VerifiedIssuer = this;
            }

            return issued;
        }
        catch (Exception e) when (e is InvalidKeyException or SignatureException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return false;
        }
    }

    // consul tls gives server certificates client auth too, because servers dial each other and Raft checks for it.
    // The CLI certificate only ever authenticates as a client.
    internal static KeyPurposeID[] ExtendedKeyUsagesFor(CertificateRole role) => role switch
    {
        CertificateRole.Server => [KeyPurposeID.id_kp_serverAuth, KeyPurposeID.id_kp_clientAuth],
        CertificateRole.Client => [KeyPurposeID.id_kp_clientAuth, KeyPurposeID.id_kp_serverAuth],
        _ => [KeyPurposeID.id_kp_clientAuth],
    };

    private static AsymmetricCipherKeyPair GenerateKeyPair()
    {
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, Random));
        return generator.GenerateKeyPair();
    }

    // The authority key identifier must be the CA's own subject key identifier (RFC 5280 4.2.1.1): openssl finds a leaf's
    // issuer by it. A CA made by openssl carries the SHA-1 form, ours the SHA-256 form; one without any gets ours.
    private byte[] SubjectKeyIdentifierOfCa() =>
        Certificate.GetExtensionValue(X509Extensions.SubjectKeyIdentifier) is { } extension
            ? SubjectKeyIdentifier.GetInstance(X509ExtensionUtilities.FromExtensionValue(extension)).GetKeyIdentifier()
            : KeyIdentifier(Certificate.GetPublicKey());

    // A random 128-bit serial, as Consul uses; kept positive and non-zero as RFC 5280 requires.
    private static BigInteger NewSerialNumber() => new BigInteger(128, Random).SetBit(0);

    // Consul takes the SHA-256 of the whole SubjectPublicKeyInfo as key identifier; we do the same, so our
    // certificates look to Consul's tooling like its own.
    private static byte[] KeyIdentifier(AsymmetricKeyParameter publicKey) =>
        DigestUtilities.CalculateDigest("SHA-256", SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(publicKey).GetDerEncoded());

    internal static string Describe(DateTimeOffset time) => time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
