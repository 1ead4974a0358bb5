using System.ComponentModel.DataAnnotations;
using k8s;
using k8s.Models;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>
/// An ACL token kept in a ConsulCluster and handed to its consumer through a Secret: created once with a secret the
/// operator chose, repaired when it drifts, rotated on request and deleted from Consul with this object.
/// </summary>
[KubernetesEntity(Group = ApiGroup.Name, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
public sealed class V1Alpha1ConsulACLToken : IKubernetesObject<V1ObjectMeta>, ISpec<ConsulACLTokenSpec>, IStatus<ConsulACLTokenStatus?>
{
    public const string KindName = "ConsulACLToken";
    public const string Plural = "consulacltokens";

    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The token to keep.</summary>
    public ConsulACLTokenSpec Spec { get; set; } = new();

    /// <summary>What the operator last observed.</summary>
    public ConsulACLTokenStatus? Status { get; set; }
}

/// <summary>The token to keep.</summary>
[CelRule("has(self.policies) || has(self.serviceIdentities) || has(self.nodeIdentities)", "a token needs at least one of policies, serviceIdentities and nodeIdentities")]
public sealed class ConsulACLTokenSpec
{
    /// <summary>The ConsulCluster in this namespace to keep the token in.</summary>
    [Required]
    public ClusterReference ClusterRef { get; set; } = new();

    /// <summary>A description for people reading the token in Consul.</summary>
    [AtMost(256)]
    public string? Description { get; set; }

    /// <summary>The policies the token is linked to.</summary>
    [AtMost(32)]
    public List<TokenPolicy>? Policies { get; set; }

    /// <summary>Service identities: write on the service (and its sidecar proxy), read on every service and node.</summary>
    [AtMost(32)]
    public List<TokenServiceIdentity>? ServiceIdentities { get; set; }

    /// <summary>Node identities (Consul 1.8.1 and later): write on the node, read on every service.</summary>
    [AtMost(32)]
    public List<TokenNodeIdentity>? NodeIdentities { get; set; }

    /// <summary>The Secret in this namespace that receives the token (and the client certificate); defaults to metadata.name.</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253)]
    public string? SecretName { get; set; }

    /// <summary>Also issue a client certificate from the cluster CA into the Secret (ca.crt, tls.crt, tls.key), for clusters that verify incoming HTTPS.</summary>
    public bool ClientCertificate { get; set; }

    /// <summary>Any new value rotates the token: a new one goes into the Secret, the old one is deleted after rotationGracePeriod.</summary>
    [AtMost(63)]
    public string? Rotation { get; set; }

    /// <summary>How long the token replaced by a rotation keeps working, so that consumers can reload.</summary>
    [RegularExpression(Patterns.Duration)]
    public string RotationGracePeriod { get; set; } = "1h";
}

/// <summary>A policy to link: a ConsulACLPolicy in this namespace, or a policy that exists in Consul already.</summary>
[CelRule("has(self.consulACLPolicy) != has(self.consulName)", "exactly one of consulACLPolicy and consulName must be set")]
public sealed class TokenPolicy
{
    /// <summary>The name of a ConsulACLPolicy in this namespace (of the same cluster).</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253)]
    public string? ConsulACLPolicy { get; set; }

    /// <summary>The name of a policy made in Consul some other way, such as global-management.</summary>
    [RegularExpression(Patterns.ConsulAclName), AtMost(128)]
    public string? ConsulName { get; set; }
}

/// <summary>A service identity.</summary>
public sealed class TokenServiceIdentity
{
    /// <summary>The service's name (letters, digits, '-' and '_').</summary>
    [Required, RegularExpression(Patterns.ConsulAclName), AtMost(256)]
    public string ServiceName { get; set; } = "";

    /// <summary>The datacenters it applies in; all when empty.</summary>
    [AtMost(32)]
    public List<string>? Datacenters { get; set; }
}

/// <summary>A node identity.</summary>
public sealed class TokenNodeIdentity
{
    /// <summary>The node's name (letters, digits, '-' and '_').</summary>
    [Required, RegularExpression(Patterns.ConsulAclName), AtMost(256)]
    public string NodeName { get; set; } = "";

    /// <summary>The datacenter of the node; defaults to the cluster's.</summary>
    [RegularExpression(Patterns.DnsLabel), AtMost(63)]
    public string? Datacenter { get; set; }
}

/// <summary>What the operator last observed of the token. Its secret is only ever in the Secret.</summary>
public sealed class ConsulACLTokenStatus
{
    /// <summary>The metadata.generation the status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready, Degraded.</summary>
    public List<V1Condition>? Conditions { get; set; }

    /// <summary>The token's AccessorID (not a secret: it names the token, it does not authorize anything).</summary>
    public string? AccessorID { get; set; }

    /// <summary>The Secret holding the token.</summary>
    public string? SecretName { get; set; }

    /// <summary>The last spec.rotation carried out: the token in the Secret was made for it.</summary>
    public string? Rotation { get; set; }

    /// <summary>The AccessorID of the token a rotation replaced, until it is deleted.</summary>
    public string? PreviousAccessorID { get; set; }

    /// <summary>When that token is deleted.</summary>
    public DateTime? PreviousRevokedAt { get; set; }
}
