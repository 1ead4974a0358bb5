using System.Text;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>Where key material lives in Secrets: what a cluster needs, how to read what is there, and the Secrets that hold it.</summary>
public static class KeyMaterialSecrets
{
    public const string CertificateKey = "tls.crt";
    public const string PrivateKeyKey = "tls.key";
    public const string CaCertificateKey = "ca.crt";
    public const string GossipKeyKey = "key";

    /// <summary>Per-pod Secrets are projected for this many server ordinals, the most servers a cluster may have, so that scaling does not change the pod template.</summary>
    public const int ServerSlots = 7;

    /// <summary>Client ordinals are projected in blocks of this size, so that only crossing a block boundary changes the client pod template.</summary>
    public const int ClientSlotBlock = 16;

    public static int ClientSlots(int replicas) => Math.Max(1, (replicas + ClientSlotBlock - 1) / ClientSlotBlock) * ClientSlotBlock;

    public static bool ClientsHaveOwnCertificates(ConsulClusterSpec spec) => spec.Clients.Replicas > 0 && !spec.Clients.AutoEncrypt;

    public static KeyMaterialRequirements Requirements(V1Alpha1ConsulCluster cluster)
    {
        var spec = cluster.Spec;
        var names = NamesOf(cluster);
        var leaves = new List<RequiredLeaf>();
        for (var i = 0; i < spec.Servers.Replicas; i++)
        {
            leaves.Add(new(names.PodSecret(Components.Server, i), LeafRequest.For(
                CertificateRole.Server, spec.Datacenter, spec.Domain, [.. names.PodDnsNames(Components.Server, i), .. names.ServerServiceDnsNames])));
        }

        if (ClientsHaveOwnCertificates(spec))
        {
            for (var i = 0; i < spec.Clients.Replicas; i++)
            {
                leaves.Add(new(names.PodSecret(Components.Client, i), LeafRequest.For(
                    CertificateRole.Client, spec.Datacenter, spec.Domain, names.PodDnsNames(Components.Client, i))));
            }
        }

        leaves.Add(new(names.CliSecret, LeafRequest.For(CertificateRole.Cli, spec.Datacenter, spec.Domain, [])));
        if (spec.Telemetry.Enabled)
        {
            leaves.Add(new(names.MetricsSecret, LeafRequest.ApiClient("metrics", spec.Datacenter, spec.Domain)));
        }

        if (spec.Ui.Ingress is not null && spec.Ui.Enabled)
        {
            leaves.Add(new(names.UiProxySecret, LeafRequest.ApiClient("ui-proxy", spec.Datacenter, spec.Domain)));
        }

        var namespaceName = cluster.Metadata.NamespaceProperty ?? "default";
        return new KeyMaterialRequirements(
            spec.Tls.CaValidityDays,
            spec.Tls.CaNameConstraints ? CertificateAuthority.PermittedDomainsFor(spec.Domain, namespaceName, spec.ClusterDomain) : [],
            $"{namespaceName}/{cluster.Metadata.Name}",
            spec.Gossip.Encryption,
            leaves,
            spec.Tls.LeafValidityDays,
            GoDuration.TryParse(spec.Tls.RotateBefore, out var rotateBefore) ? rotateBefore : TimeSpan.Zero);
    }

    /// <summary>
    /// The key material among the given Secrets (the operator's own and the adopted ones, see <see cref="AdoptedSecrets"/>). A CA or gossip Secret that exists but cannot be used throws
    /// <see cref="KeyMaterialException"/>: a human must look, since replacing it would cut off every agent.
    /// </summary>
    public static ExistingKeyMaterial Read(V1Alpha1ConsulCluster cluster, IEnumerable<V1Secret> secrets, ParsedSecrets? parsed = null)
    {
        parsed ??= ParsedSecrets.None;
        var names = NamesOf(cluster);
        var byName = secrets.Where(s => s.Metadata?.Name is not null).ToDictionary(s => s.Metadata.Name);

        CertificateAuthority? ca = null;
        var caSource = AdoptedSecrets.Ca(cluster);
        if (byName.TryGetValue(caSource.Secret, out var caSecret))
        {
            ca = ReadCa(caSecret, parsed);
        }

        string? gossipKey = null;
        var gossipSource = AdoptedSecrets.GossipKey(cluster);
        if (byName.TryGetValue(gossipSource.Secret, out var gossipSecret))
        {
            gossipKey = Text(gossipSecret, gossipSource.Key);
            if (!GossipKey.IsValid(gossipKey))
            {
                throw new KeyMaterialException($"Secret {gossipSource.Secret}: key '{gossipSource.Key}' is not a base64 gossip key of 16, 24 or 32 bytes");
            }
        }

        var leaves = new Dictionary<string, LeafState>();
        foreach (var required in Requirements(cluster).Leaves)
        {
            if (byName.TryGetValue(required.SecretName, out var secret))
            {
                leaves[required.SecretName] = parsed.GetOrParse(secret, () => LeafState.Read(Text(secret, CertificateKey), Text(secret, PrivateKeyKey), $"Secret {required.SecretName}"));
            }
        }

        return new ExistingKeyMaterial(ca, gossipKey, leaves);
    }

    /// <summary>The CA in a Secret, parsed once per resourceVersion; throws <see cref="KeyMaterialException"/> when it cannot be used.</summary>
    public static CertificateAuthority ReadCa(V1Secret secret, ParsedSecrets parsed) =>
        parsed.GetOrParse(secret, () => CertificateAuthority.Load(Text(secret, CertificateKey) ?? "", Text(secret, PrivateKeyKey) ?? "", $"Secret {secret.Metadata.Name}"));

    public static IEnumerable<V1Secret> Build(V1Alpha1ConsulCluster cluster, KeyMaterial material)
    {
        var names = NamesOf(cluster);
        if (!AdoptedSecrets.Ca(cluster).Adopted)
        {
            yield return TlsSecret(cluster, names.CaSecret, Components.Pki, material.Ca.CertificatePem, material.Ca.PrivateKeyPem, caCertificate: null);
        }

        if (material.GossipKey is not null && !AdoptedSecrets.GossipKey(cluster).Adopted)
        {
            yield return new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = ObjectMetadata.For(cluster, names.GossipSecret, Components.Gossip),
                Type = "Opaque",
                Data = new Dictionary<string, byte[]> { [GossipKeyKey] = Encoding.ASCII.GetBytes(material.GossipKey) },
            };
        }

        foreach (var (secretName, leaf) in material.Leaves.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            var component = secretName.StartsWith(names.Clients + "-", StringComparison.Ordinal) ? Components.Client
                : secretName.StartsWith(names.Servers + "-", StringComparison.Ordinal) ? Components.Server : Components.Pki;
            yield return TlsSecret(cluster, secretName, component, leaf.CertificatePem, leaf.PrivateKeyPem, material.Ca.CertificatePem);
        }
    }

    /// <summary>The CA certificate alone, for pods: they must trust the CA without ever being able to read its key.</summary>
    public static V1ConfigMap CaCertificateConfigMap(V1Alpha1ConsulCluster cluster, CertificateAuthority ca) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = ObjectMetadata.For(cluster, NamesOf(cluster).CaCertificateConfigMap, Components.Pki),
        Data = new Dictionary<string, string> { [CaCertificateKey] = ca.CertificatePem },
    };

    internal static Names NamesOf(V1Alpha1ConsulCluster cluster) =>
        new(cluster.Metadata.Name, cluster.Metadata.NamespaceProperty ?? "default", cluster.Spec.ClusterDomain);

    private static V1Secret TlsSecret(V1Alpha1ConsulCluster cluster, string name, string component, string certificate, string privateKey, string? caCertificate)
    {
        var data = new Dictionary<string, byte[]>
        {
            [CertificateKey] = Encoding.ASCII.GetBytes(certificate),
            [PrivateKeyKey] = Encoding.ASCII.GetBytes(privateKey),
        };
        if (caCertificate is not null)
        {
            data[CaCertificateKey] = Encoding.ASCII.GetBytes(caCertificate);
        }

        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = ObjectMetadata.For(cluster, name, component),
            Type = "kubernetes.io/tls",
            Data = data,
        };
    }

    /// <summary>A Secret's value as text, from data or (as written by a human, not yet read back) stringData.</summary>
    public static string? Text(V1Secret secret, string key)
    {
        if (secret.Data?.TryGetValue(key, out var bytes) == true)
        {
            return Encoding.UTF8.GetString(bytes);
        }

        return secret.StringData is { } stringData && stringData.TryGetValue(key, out var text) ? text : null;
    }
}
