namespace ConsulOperator.Pki;

/// <summary>A leaf certificate found in the cluster: readable, or the reason it is not.</summary>
public sealed record LeafState(IssuedCertificate? Certificate, string? Error)
{
    public static LeafState Read(string? certificatePem, string? privateKeyPem, string source)
    {
        if (string.IsNullOrEmpty(certificatePem) || string.IsNullOrEmpty(privateKeyPem))
        {
            return new LeafState(null, $"{source}: tls.crt or tls.key is missing");
        }

        try
        {
            return new LeafState(IssuedCertificate.Load(certificatePem, privateKeyPem, source), null);
        }
        catch (KeyMaterialException e)
        {
            return new LeafState(null, e.Message);
        }
    }
}

/// <summary>Key material already in the cluster. A CA or gossip key that is present is always reused, never replaced.</summary>
public sealed record ExistingKeyMaterial(CertificateAuthority? Ca, string? GossipKey, IReadOnlyDictionary<string, LeafState> Leaves)
{
    public static readonly ExistingKeyMaterial None = new(null, null, new Dictionary<string, LeafState>());
}

/// <summary>A leaf certificate the cluster needs, by the name of the Secret that holds it.</summary>
public sealed record RequiredLeaf(string SecretName, LeafRequest Request);

/// <summary>What key material a cluster needs and how long it lives.</summary>
public sealed record KeyMaterialRequirements(
    int CaValidityDays,
    IReadOnlyList<string> CaPermittedDnsDomains,
    string CaOrganizationalUnit,
    bool GossipEncryption,
    IReadOnlyList<RequiredLeaf> Leaves,
    int LeafValidityDays,
    TimeSpan RotateBefore);

/// <summary>The key material a cluster runs with: the CA, the gossip key (when encryption is on) and every leaf by Secret name.</summary>
public sealed record KeyMaterial(CertificateAuthority Ca, string? GossipKey, IReadOnlyDictionary<string, IssuedCertificate> Leaves);

/// <summary>Something the planner created or replaced, for Events and logs (never the material itself).</summary>
public sealed record KeyMaterialChange(string Subject, string Reason, string Message);

public sealed record KeyMaterialPlan(KeyMaterial Material, IReadOnlyList<KeyMaterialChange> Changes);
