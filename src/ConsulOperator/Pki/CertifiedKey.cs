using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.X509;

namespace ConsulOperator.Pki;

/// <summary>A certificate with its private key, and both as PEM, as they are kept in a Secret.</summary>
internal sealed class CertifiedKey
{
    private CertifiedKey(X509Certificate certificate, AsymmetricKeyParameter privateKey, string certificatePem, string privateKeyPem)
    {
        Certificate = certificate;
        PrivateKey = privateKey;
        CertificatePem = certificatePem;
        PrivateKeyPem = privateKeyPem;
    }

    public X509Certificate Certificate { get; }

    public AsymmetricKeyParameter PrivateKey { get; }

    public string CertificatePem { get; }

    public string PrivateKeyPem { get; }

    /// <summary>The signature algorithm this key signs with: SHA-256 with ECDSA or RSA, as <c>consul tls</c> and openssl default to.</summary>
    public string SignatureAlgorithm => PrivateKey is RsaKeyParameters ? "SHA256WITHRSA" : "SHA256WITHECDSA";

    public static CertifiedKey Create(X509Certificate certificate, AsymmetricKeyParameter privateKey) =>
        new(certificate, privateKey, Pem.Write(certificate), Pem.Write(privateKey));

    /// <summary>Reads PEM from a Secret; throws <see cref="KeyMaterialException"/> when either is unreadable or the key is not the certificate's.</summary>
    public static CertifiedKey Load(string certificatePem, string privateKeyPem, string source)
    {
        var certificate = Pem.ReadCertificate(certificatePem, source);
        var privateKey = Pem.ReadPrivateKey(privateKeyPem, source);
        // RSA too: a CA made by hand with openssl usually has an RSA key, and an adopted CA is one made by hand.
        var matches = (privateKey, certificate.GetPublicKey()) switch
        {
            (ECPrivateKeyParameters ec, ECPublicKeyParameters pub) => ec.Parameters.G.Multiply(ec.D).Normalize().Equals(pub.Q.Normalize()),
            (RsaPrivateCrtKeyParameters rsa, RsaKeyParameters pub) => rsa.Modulus.Equals(pub.Modulus) && rsa.PublicExponent.Equals(pub.Exponent),
            (RsaPrivateCrtKeyParameters or ECPrivateKeyParameters, _) => false,
            _ => throw new KeyMaterialException($"{source}: the private key is neither RSA nor ECDSA, the kinds the operator can sign with"),
        };
        if (!matches)
        {
            throw new KeyMaterialException($"{source}: the private key does not belong to the certificate");
        }

        return new CertifiedKey(certificate, privateKey, certificatePem, privateKeyPem);
    }
}
