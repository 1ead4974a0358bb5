using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ConsulOperator.Pki;

/// <summary>Chain checks against one private CA: no system roots, and no revocation, which a cluster CA does not publish.</summary>
public static class TrustChain
{
    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>Whether the certificate chains to <paramref name="ca"/> (and allows <paramref name="extendedKeyUsage"/>, when given).</summary>
    public static bool IssuedBy(X509Certificate2 certificate, X509Certificate2 ca, string? extendedKeyUsage = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        if (extendedKeyUsage is not null)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(extendedKeyUsage));
        }

        return chain.Build(certificate);
    }
}
