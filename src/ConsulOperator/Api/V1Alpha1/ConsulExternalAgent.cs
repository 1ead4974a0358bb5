using System.ComponentModel.DataAnnotations;
using k8s;
using k8s.Models;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>
/// A Consul client agent on a machine outside Kubernetes (a database host, a legacy VM) that belongs to a ConsulCluster's
/// datacenter. The operator keeps one Secret, the bundle, with everything the machine needs to join: its certificate,
/// the CA, an agent token, a ready config.json, a systemd unit and the CLI environment. The machine's own tooling copies
/// the bundle; the operator never reaches the machine.
/// </summary>
[KubernetesEntity(Group = ApiGroup.Name, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
public sealed class V1Alpha1ConsulExternalAgent : IKubernetesObject<V1ObjectMeta>, ISpec<ConsulExternalAgentSpec>, IStatus<ConsulExternalAgentStatus?>
{
    public const string KindName = "ConsulExternalAgent";
    public const string Plural = "consulexternalagents";

    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The machine and what it runs.</summary>
    public ConsulExternalAgentSpec Spec { get; set; } = new();

    /// <summary>What the operator last observed.</summary>
    public ConsulExternalAgentStatus? Status { get; set; }
}

/// <summary>The machine and what it runs.</summary>
public sealed class ConsulExternalAgentSpec
{
    /// <summary>The ConsulCluster in this namespace whose datacenter the machine joins.</summary>
    [Required, Immutable]
    public ClusterReference ClusterRef { get; set; } = new();

    /// <summary>The agent's Consul node name (letters, digits, '-' and '_'); defaults to metadata.name. Its token and certificate are made for this name.</summary>
    [RegularExpression(Patterns.ConsulAclName), AtMost(128), Immutable]
    public string? NodeName { get; set; }

    /// <summary>The machine's IP addresses and DNS names, for its certificate; the first IP address is the one it advertises to the datacenter.</summary>
    [AtMost(16)]
    public List<string>? Addresses { get; set; }

    /// <summary>Services the machine runs, registered by its own agent (their address is the machine's) with checks run there.</summary>
    [AtMost(32)]
    public List<ExternalAgentService>? Services { get; set; }

    /// <summary>The Secret in this namespace that receives the bundle; defaults to metadata.name.</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253)]
    public string? SecretName { get; set; }
}

/// <summary>A service on the machine, as a ConsulService describes one, without an address: it is the machine's.</summary>
public sealed class ExternalAgentService
{
    /// <summary>Consul service name, a DNS label.</summary>
    [Required, RegularExpression(Patterns.DnsLabel), AtMost(63)]
    public string Name { get; set; } = "";

    /// <summary>Tags; each is also a DNS label under the service.</summary>
    [AtMost(64)]
    public List<string>? Tags { get; set; }

    /// <summary>Port of the service.</summary>
    [Required, Range(1, 65535)]
    public int Port { get; set; }

    /// <summary>Service metadata.</summary>
    public Dictionary<string, string>? Meta { get; set; }

    /// <summary>Health checks the machine's agent runs against the service.</summary>
    [AtMost(16)]
    public List<ServiceCheck>? Checks { get; set; }
}

/// <summary>What the operator last observed. The bundle's secrets are only ever in the Secret.</summary>
public sealed class ConsulExternalAgentStatus
{
    /// <summary>The metadata.generation the status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready (the bundle is current), Joined (the node is an alive member).</summary>
    public List<V1Condition>? Conditions { get; set; }

    /// <summary>The Secret holding the bundle.</summary>
    public string? SecretName { get; set; }

    /// <summary>A digest of the bundle's files: configuration management re-copies them when it changes.</summary>
    public string? BundleHash { get; set; }

    /// <summary>When the bundle's files last changed (a renewed certificate, a new token, new join addresses).</summary>
    public DateTime? BundleChangedAt { get; set; }

    /// <summary>When the machine's certificate expires; the operator renews it tls.rotateBefore ahead.</summary>
    public DateTime? CertificateNotAfter { get; set; }

    /// <summary>The AccessorID of the machine's agent token (not a secret).</summary>
    public string? TokenAccessorID { get; set; }

    /// <summary>The server addresses the bundle's config.json joins through.</summary>
    public List<string>? JoinAddresses { get; set; }

    /// <summary>The node's gossip status as the servers see it: alive, leaving, left, failed, or absent when it never joined.</summary>
    public string? Member { get; set; }
}
