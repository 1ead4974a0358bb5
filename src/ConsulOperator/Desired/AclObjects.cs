using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Pki;
using k8s.Models;
using AclPolicy = ConsulOperator.Consul.AclPolicy;

namespace ConsulOperator.Desired;

/// <summary>What a ConsulACLPolicy and a ConsulACLToken become: the objects sent to Consul, the token's Secret and its client certificate.</summary>
public static class AclObjects
{
    public const string TokenKey = "token";
    public const string AccessorIdKey = "accessorID";
    public const string StateKey = "state";

    /// <summary>For consumers that read Consul's environment variables (the consul CLI, Consul's Go API client, Vault's Consul storage).</summary>
    public const string HttpTokenKey = "CONSUL_HTTP_TOKEN";
    public const string HttpAddressKey = "CONSUL_HTTP_ADDR";
    public const string TlsServerNameKey = "CONSUL_TLS_SERVER_NAME";

    /// <summary>The token was chosen and stored, and may not exist in Consul yet.</summary>
    public const string Pending = "pending";

    /// <summary>Consul holds the token.</summary>
    public const string Done = "done";

    /// <summary>On the Secret: the spec.rotation its token was made for.</summary>
    public const string RotationAnnotation = "consul.operator.dev/rotation";

    /// <summary>On the Secret: the token a rotation replaced, and when it is deleted. Kept on the Secret, which survives a lost status.</summary>
    public const string PreviousAccessorAnnotation = "consul.operator.dev/previous-accessor-id";
    public const string RevokePreviousAtAnnotation = "consul.operator.dev/revoke-previous-at";

    /// <summary>
    /// The policy as Consul should hold it. Its description ends with a mark naming the object, so that a policy this
    /// object created (and then lost track of, stopped before its status was written) is told from one someone else made.
    /// </summary>
    public static NewAclPolicy Policy(V1Alpha1ConsulACLPolicy policy) => new(
        ConsulAclValidator.PolicyName(policy),
        $"{(string.IsNullOrEmpty(policy.Spec.Description) ? "" : policy.Spec.Description + " ")}{Mark(policy)}",
        policy.Spec.Rules,
        policy.Spec.Datacenters is { Count: > 0 } datacenters ? datacenters : null);

    public static bool IsOurs(AclPolicy existing, V1Alpha1ConsulACLPolicy policy) => (existing.Description ?? "").EndsWith(Mark(policy), StringComparison.Ordinal);

    /// <summary>The token as Consul should hold it, linked to policies by ID (ConsulACLPolicy objects) or by name (policies made elsewhere).</summary>
    public static NewAclToken Token(V1Alpha1ConsulACLToken token, IReadOnlyList<AclLink> policies, string datacenter, string secretId, string accessorId) =>
        new($"{(string.IsNullOrEmpty(token.Spec.Description) ? "" : token.Spec.Description + " ")}[consul-operator {token.Metadata.NamespaceProperty}/{token.Metadata.Name}]", policies, secretId, accessorId)
        {
            ServiceIdentities = [.. (token.Spec.ServiceIdentities ?? []).Select(s => new ServiceIdentity(s.ServiceName, s.Datacenters is { Count: > 0 } d ? d : null))],
            NodeIdentities = [.. (token.Spec.NodeIdentities ?? []).Select(n => new NodeIdentity(n.NodeName, n.Datacenter ?? datacenter))],
        };

    /// <summary>
    /// The consumer's client certificate: client auth only, so that it can never serve as an agent, under a name of its
    /// own in the datacenter (<c>&lt;token&gt;.&lt;namespace&gt;.consumer.&lt;dc&gt;.&lt;domain&gt;</c>), never server.* or client.*.
    /// </summary>
    public static LeafRequest ClientCertificate(V1Alpha1ConsulACLToken token, ConsulClusterSpec cluster)
        => LeafRequest.ApiClient($"{token.Metadata.Name}.{token.Metadata.NamespaceProperty}.consumer", cluster.Datacenter, cluster.Domain);

    /// <summary>What the token's Secret holds; the certificate as read, which may be missing or unreadable.</summary>
    public sealed record TokenSecret(string SecretId, string AccessorId, string State, string Rotation, string? PreviousAccessorId, DateTimeOffset? RevokePreviousAt, LeafState? Certificate);

    /// <summary>The token's Secret, owned by the ConsulACLToken so that it goes with it.</summary>
    public static V1Secret Secret(V1Alpha1ConsulACLToken token, V1Alpha1ConsulCluster cluster, CertificateAuthority ca, TokenSecret content)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var data = new Dictionary<string, string>
        {
            [TokenKey] = content.SecretId,
            [AccessorIdKey] = content.AccessorId,
            [StateKey] = content.State,
            [HttpTokenKey] = content.SecretId,
            [HttpAddressKey] = $"https://{names.Servers}.{names.Namespace}.svc:{AgentConfig.HttpsPort}",
            [TlsServerNameKey] = LeafRequest.NameFor(CertificateRole.Server, cluster.Spec.Datacenter, cluster.Spec.Domain),
            [KeyMaterialSecrets.CaCertificateKey] = ca.CertificatePem,
        };
        if (content.Certificate?.Certificate is { } certificate)
        {
            data[KeyMaterialSecrets.CertificateKey] = certificate.CertificatePem;
            data[KeyMaterialSecrets.PrivateKeyKey] = certificate.PrivateKeyPem;
        }

        var annotations = new Dictionary<string, string> { [RotationAnnotation] = content.Rotation };
        if (content.PreviousAccessorId is { } previous)
        {
            annotations[PreviousAccessorAnnotation] = previous;
            annotations[RevokePreviousAtAnnotation] = content.RevokePreviousAt!.Value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        }

        // The cluster's labels, but the token's namespace and the token as owner: the Secret goes when the token does.
        var metadata = ObjectMetadata.For(cluster, ConsulAclValidator.SecretName(token), Components.AclToken);
        metadata.NamespaceProperty = token.Metadata.NamespaceProperty;
        metadata.Annotations = annotations;
        metadata.OwnerReferences = [ObjectMetadata.ControllerReference(V1Alpha1ConsulACLToken.KindName, token.Metadata)];
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = metadata,
            Type = "Opaque",
            Data = data.ToDictionary(d => d.Key, d => Encoding.UTF8.GetBytes(d.Value)),
        };
    }

    /// <summary>Whether a Secret belongs to this token (we never write into a Secret someone else made).</summary>
    public static bool IsOwnedBy(V1Secret secret, V1Alpha1ConsulACLToken token) =>
        secret.Metadata.OwnerReferences?.Any(o => o.Kind == V1Alpha1ConsulACLToken.KindName && o.Uid == token.Metadata.Uid) == true;

    /// <summary>What an existing token Secret says, or null when it holds no token.</summary>
    public static TokenSecret? Read(V1Secret secret, ParsedSecrets parsed)
    {
        if (KeyMaterialSecrets.Text(secret, TokenKey) is not { Length: > 0 } secretId || KeyMaterialSecrets.Text(secret, AccessorIdKey) is not { Length: > 0 } accessorId)
        {
            return null;
        }

        IDictionary<string, string> annotations = secret.Metadata.Annotations ?? new Dictionary<string, string>();
        var revokeAt = annotations.TryGetValue(RevokePreviousAtAnnotation, out var at) && DateTimeOffset.TryParse(at, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsedAt) ? parsedAt : (DateTimeOffset?)null;
        var previous = (annotations.TryGetValue(PreviousAccessorAnnotation, out var p) ? p : null);
        var certificate = secret.Data?.ContainsKey(KeyMaterialSecrets.CertificateKey) == true
            ? parsed.GetOrParse(secret, () => LeafState.Read(KeyMaterialSecrets.Text(secret, KeyMaterialSecrets.CertificateKey), KeyMaterialSecrets.Text(secret, KeyMaterialSecrets.PrivateKeyKey), $"Secret {secret.Metadata.Name}"))
            : null;
        return new TokenSecret(secretId, accessorId, KeyMaterialSecrets.Text(secret, StateKey) ?? Pending, (annotations.TryGetValue(RotationAnnotation, out var r) ? r : ""),
            revokeAt is null ? null : previous, previous is null ? null : revokeAt, certificate);
    }

    private static string Mark(V1Alpha1ConsulACLPolicy policy) => $"[consul-operator {policy.Metadata.NamespaceProperty}/{policy.Metadata.Name}]";
}
