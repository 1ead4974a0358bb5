using System.ComponentModel.DataAnnotations;
using k8s;
using k8s.Models;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>An ACL policy kept in a ConsulCluster: created, repaired when it drifts in Consul, deleted with this object.</summary>
[KubernetesEntity(Group = ApiGroup.Name, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
public sealed class V1Alpha1ConsulACLPolicy : IKubernetesObject<V1ObjectMeta>, ISpec<ConsulACLPolicySpec>, IStatus<ConsulACLPolicyStatus?>
{
    public const string KindName = "ConsulACLPolicy";
    public const string Plural = "consulaclpolicies";

    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The policy to keep.</summary>
    public ConsulACLPolicySpec Spec { get; set; } = new();

    /// <summary>What the operator last observed.</summary>
    public ConsulACLPolicyStatus? Status { get; set; }
}

/// <summary>The policy to keep.</summary>
public sealed class ConsulACLPolicySpec
{
    /// <summary>The ConsulCluster in this namespace to keep the policy in.</summary>
    [Required]
    public ClusterReference ClusterRef { get; set; } = new();

    /// <summary>The policy's name in Consul (letters, digits, '-' and '_'); defaults to metadata.name.</summary>
    [RegularExpression(Patterns.ConsulAclName), AtMost(128)]
    public string? Name { get; set; }

    /// <summary>A description for people reading the policy in Consul.</summary>
    [AtMost(256)]
    public string? Description { get; set; }

    /// <summary>The rules, in Consul's rule language (HCL), e.g. key_prefix "vault/" { policy = "write" }.</summary>
    [Required, AtMost(65536)]
    public string Rules { get; set; } = "";

    /// <summary>The datacenters the policy applies in; all when empty.</summary>
    [AtMost(32)]
    public List<string>? Datacenters { get; set; }
}

/// <summary>What the operator last observed of the policy.</summary>
public sealed class ConsulACLPolicyStatus
{
    /// <summary>The metadata.generation the status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready, Degraded.</summary>
    public List<V1Condition>? Conditions { get; set; }

    /// <summary>The policy's ID in Consul.</summary>
    public string? PolicyID { get; set; }

    /// <summary>The policy's name in Consul, which tokens link to.</summary>
    public string? PolicyName { get; set; }
}
