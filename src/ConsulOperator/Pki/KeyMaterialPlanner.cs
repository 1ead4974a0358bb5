namespace ConsulOperator.Pki;

/// <summary>
/// Decides, from what exists and what is needed, which key material to keep and which to create, and creates it.
/// An existing CA or gossip key is always kept: replacing either would split a running datacenter.
/// </summary>
public static class KeyMaterialPlanner
{
    public static KeyMaterialPlan Plan(ExistingKeyMaterial existing, KeyMaterialRequirements required, TimeProvider time)
    {
        var changes = new List<KeyMaterialChange>();
        var ca = existing.Ca;
        if (ca is null)
        {
            ca = CertificateAuthority.Create(required.CaValidityDays, required.CaPermittedDnsDomains, required.CaOrganizationalUnit, time);
            changes.Add(new("CA", "Created", $"created a CA valid until {CertificateAuthority.Describe(ca.NotAfter)}"));
        }

        var gossipKey = existing.GossipKey;
        if (required.GossipEncryption && gossipKey is null)
        {
            gossipKey = GossipKey.Generate();
            changes.Add(new("GossipKey", "Created", "created a 32-byte gossip encryption key"));
        }

        var now = time.GetUtcNow();
        var leaves = new Dictionary<string, IssuedCertificate>();
        foreach (var leaf in required.Leaves)
        {
            var state = existing.Leaves.GetValueOrDefault(leaf.SecretName);
            var reason = ReissuePolicy.Evaluate(new ReissueInput(state, leaf.Request, ca, required.RotateBefore, now));
            if (reason is null)
            {
                leaves[leaf.SecretName] = state!.Certificate!;
                continue;
            }

            var issued = ca.Issue(leaf.Request, required.LeafValidityDays, time);
            leaves[leaf.SecretName] = issued;
            changes.Add(new(leaf.SecretName, reason.Reason, $"issued a certificate valid until {CertificateAuthority.Describe(issued.NotAfter)}: {reason.Message}"));
        }

        return new KeyMaterialPlan(new KeyMaterial(ca, gossipKey, leaves), changes);
    }
}
