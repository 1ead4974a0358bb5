using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using k8s;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>One key of one Secret, and whether a human made that Secret (adopted) or the operator did.</summary>
public sealed record SecretKeySource(string Secret, string Key, bool Adopted);

/// <summary>
/// Where a cluster's CA, gossip key and management token are read from: Secrets the operator made, or Secrets of a
/// datacenter built by hand that the spec adopts. Adopted Secrets are read and checked, never written.
/// </summary>
public static class AdoptedSecrets
{
    /// <summary>The label an adopted Secret carries: the operator watches only Secrets that are its own or carry it.</summary>
    public const string Label = "consul.operator.dev/adopted";

    public static SecretKeySource Ca(V1Alpha1ConsulCluster cluster) => cluster.Spec.Tls.CaSecretRef is { } adopted
        ? new(adopted.Name, KeyMaterialSecrets.CertificateKey, true)
        : new(KeyMaterialSecrets.NamesOf(cluster).CaSecret, KeyMaterialSecrets.CertificateKey, false);

    public static SecretKeySource GossipKey(V1Alpha1ConsulCluster cluster) => cluster.Spec.Gossip.KeySecretRef is { } adopted
        ? new(adopted.Name, adopted.Key, true)
        : new(KeyMaterialSecrets.NamesOf(cluster).GossipSecret, KeyMaterialSecrets.GossipKeyKey, false);

    public static SecretKeySource ManagementToken(V1Alpha1ConsulCluster cluster) => cluster.Spec.Acl.BootstrapTokenSecretRef is { } adopted
        ? new(adopted.Name, adopted.Key, true)
        : new(KeyMaterialSecrets.NamesOf(cluster).AclBootstrapSecret, AclObjects.TokenKey, false);

    /// <summary>Everything wrong with the Secrets the spec adopts, all at once: missing, unlabelled, or holding nothing Consul could use.</summary>
    public static IReadOnlyList<ValidationProblem> Problems(V1Alpha1ConsulCluster cluster, IEnumerable<V1Secret> secrets, DateTimeOffset now, ParsedSecrets? parsed = null)
    {
        var spec = cluster.Spec;
        var byName = secrets.Where(s => s.Metadata?.Name is not null).GroupBy(s => s.Metadata.Name).ToDictionary(g => g.Key, g => g.First());
        var problems = new List<ValidationProblem>();

        if (spec.Tls.CaSecretRef is { } caRef && Find(byName, "spec.tls.caSecretRef", caRef.Name, problems) is { } caSecret)
        {
            problems.AddRange(CaProblems(cluster, caSecret, now, parsed ?? ParsedSecrets.None));
        }

        if (spec.Gossip.Encryption && spec.Gossip.KeySecretRef is { } keyRef && Find(byName, "spec.gossip.keySecretRef", keyRef.Name, problems) is { } keySecret)
        {
            // The agents' start script puts the key into a JSON string as it is, and JSON allows no raw newline there.
            if (Value(keySecret, keyRef, "spec.gossip.keySecretRef.key", "key", problems) is { } key && !Pki.GossipKey.IsValid(key))
            {
                problems.Add(new("spec.gossip.keySecretRef.key", $"key '{keyRef.Key}' of Secret {keyRef.Name} is not a base64 gossip key of 16, 24 or 32 bytes, as consul keygen prints it"));
            }
        }

        if (spec.Acl.Enabled && spec.Acl.BootstrapTokenSecretRef is { } tokenRef && Find(byName, "spec.acl.bootstrapTokenSecretRef", tokenRef.Name, problems) is { } tokenSecret)
        {
            // The token goes into an X-Consul-Token header and CONSUL_HTTP_TOKEN as it is.
            if (Value(tokenSecret, tokenRef, "spec.acl.bootstrapTokenSecretRef.key", "SecretID", problems) is { Length: 0 })
            {
                problems.Add(new("spec.acl.bootstrapTokenSecretRef.key", $"key '{tokenRef.Key}' of Secret {tokenRef.Name} is empty; store the SecretID of a management token there"));
            }
        }

        return problems;
    }

    /// <summary>
    /// Whether the spec now reads the CA or gossip key from somewhere that holds something else than what the running
    /// agents use (a ref added, changed or removed). Either change would cut every agent off at once, so it is refused
    /// before anything is created; moving the same key or CA to another Secret is fine.
    /// </summary>
    public static IReadOnlyList<string> SourceChanges(
        V1Alpha1ConsulCluster cluster, ExistingKeyMaterial existing, V1ConfigMap? trustedCa, V1StatefulSet? liveServers, IEnumerable<V1Secret> secrets)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var changes = new List<string>();
        var ca = Ca(cluster);
        var trusted = OwnedBy(cluster, trustedCa) ? TrustedCertificate(trustedCa!) : null;
        if (trusted is not null && existing.Ca?.Certificate.Equals(trusted) != true)
        {
            changes.Add($"the agents trust the CA in ConfigMap {names.CaCertificateConfigMap}, and Secret {ca.Secret}{(ca.Adopted ? " (spec.tls.caSecretRef)" : "")} " +
                $"{(existing.Ca is null ? "does not exist" : "holds another CA")}; a new CA would cut off every agent at once. " +
                $"Point the spec at the CA the agents trust, or restore Secret {ca.Secret}; only to start a new datacenter, delete ConfigMap {names.CaCertificateConfigMap} too");
        }

        var gossip = GossipKey(cluster);
        var running = OwnedBy(cluster, liveServers) ? RunningGossipKey(liveServers!) : null;
        if (cluster.Spec.Gossip.Encryption && running is not null && (running.Name, running.Key) != (gossip.Secret, gossip.Key))
        {
            var runningKey = secrets.FirstOrDefault(s => s.Metadata.Name == running.Name) is { } secret ? KeyMaterialSecrets.Text(secret, running.Key) : null;
            if (runningKey is null || runningKey != existing.GossipKey)
            {
                changes.Add($"the servers run with the gossip key in key '{running.Key}' of Secret {running.Name}, and the spec now reads key '{gossip.Key}' of Secret {gossip.Secret}, which " +
                    $"{(existing.GossipKey is null ? "does not exist" : runningKey is null ? "cannot be compared (the old Secret is gone or no longer labelled)" : "holds another key")}; " +
                    $"a new key splits gossip. Copy the running key there, or point spec.gossip.keySecretRef back at Secret {running.Name}");
            }
        }

        return changes;
    }

    private static bool OwnedBy(V1Alpha1ConsulCluster cluster, IMetadata<V1ObjectMeta>? item) =>
        item?.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Uid == cluster.Metadata.Uid) == true;

    private static Org.BouncyCastle.X509.X509Certificate? TrustedCertificate(V1ConfigMap configMap)
    {
        try
        {
            return configMap.Data is { } data && data.TryGetValue(KeyMaterialSecrets.CaCertificateKey, out var pem) ? Pem.ReadCertificate(pem, "") : null;
        }
        catch (KeyMaterialException)
        {
            // Ours and unreadable: the desired ConfigMap replaces it, and there is no trust to keep.
            return null;
        }
    }

    private static V1SecretKeySelector? RunningGossipKey(V1StatefulSet servers) =>
        servers.Spec?.Template?.Spec?.Containers?.SelectMany(c => c.Env ?? []).FirstOrDefault(e => e.Name == AgentConfig.GossipKeyVariable)?.ValueFrom?.SecretKeyRef;

    private static IEnumerable<ValidationProblem> CaProblems(V1Alpha1ConsulCluster cluster, V1Secret secret, DateTimeOffset now, ParsedSecrets parsed)
    {
        const string path = "spec.tls.caSecretRef";
        var name = secret.Metadata.Name;
        var certificate = KeyMaterialSecrets.Text(secret, KeyMaterialSecrets.CertificateKey);
        var key = KeyMaterialSecrets.Text(secret, KeyMaterialSecrets.PrivateKeyKey);
        if (certificate is null || key is null)
        {
            yield return new(path, $"Secret {name} needs keys {KeyMaterialSecrets.CertificateKey} and {KeyMaterialSecrets.PrivateKeyKey} (it has: {Keys(secret)}); create it with kubectl create secret tls {name} --cert=<CA certificate> --key=<CA key>");
            yield break;
        }

        var (ca, unusable) = Load(secret, parsed);
        if (ca is null)
        {
            yield return new(path, unusable!);
            yield break;
        }

        if (ca.NotAfter <= now)
        {
            yield return new(path, $"the CA in Secret {name} expired at {CertificateAuthority.Describe(ca.NotAfter)}; no agent accepts certificates it signs");
        }

        // An adopted CA needs no name constraints, but one that has them must permit every name we issue (RFC 5280 4.2.1.10).
        var permitted = ca.PermittedDnsDomains;
        if (permitted.Count > 0)
        {
            var refused = KeyMaterialSecrets.Requirements(cluster).Leaves.SelectMany(l => l.Request.DnsNames).Distinct()
                .Where(n => !permitted.Any(d => n == d || n.EndsWith("." + d.TrimStart('.'), StringComparison.Ordinal))).ToList();
            if (refused.Count > 0)
            {
                yield return new(path, $"the CA in Secret {name} permits only the DNS names under [{string.Join(", ", permitted)}], and the agents' certificates need [{string.Join(", ", refused.Take(5))}{(refused.Count > 5 ? ", ..." : "")}]");
            }
        }
    }

    // Parsed as KeyMaterialSecrets.Read parses it, and remembered for it: the CA is read once per reconcile, not twice.
    private static (CertificateAuthority? Ca, string? Error) Load(V1Secret secret, ParsedSecrets parsed)
    {
        try
        {
            return (KeyMaterialSecrets.ReadCa(secret, parsed), null);
        }
        catch (KeyMaterialException e)
        {
            return (null, e.Message);
        }
    }

    // A referenced key's value as Consul is handed it, or null with the problem added: missing, or holding white space,
    // which kubectl create secret --from-file keeps from a file's trailing newline.
    private static string? Value(V1Secret secret, SecretKeyReference reference, string path, string what, List<ValidationProblem> problems)
    {
        var value = KeyMaterialSecrets.Text(secret, reference.Key);
        if (value is null)
        {
            problems.Add(new(path, $"Secret {reference.Name} has no key '{reference.Key}' (it has: {Keys(secret)})"));
            return null;
        }

        if (value.Any(char.IsWhiteSpace))
        {
            problems.Add(new(path, $"key '{reference.Key}' of Secret {reference.Name} holds white space (a trailing newline?); store the {what} alone, e.g. with kubectl create secret generic --from-literal"));
            return null;
        }

        return value;
    }

    private static V1Secret? Find(Dictionary<string, V1Secret> byName, string path, string name, List<ValidationProblem> problems)
    {
        if (byName.TryGetValue(name, out var secret))
        {
            return secret;
        }

        problems.Add(new(path, $"Secret {name} was not found; the operator sees only Secrets labelled {Label}=true, so create it, or label it: kubectl label secret {name} {Label}=true"));
        return null;
    }

    private static string Keys(V1Secret secret) =>
        string.Join(", ", (secret.Data?.Keys ?? []).Concat(secret.StringData?.Keys ?? []).Distinct().Order(StringComparer.Ordinal)) is { Length: > 0 } keys ? keys : "none";
}
