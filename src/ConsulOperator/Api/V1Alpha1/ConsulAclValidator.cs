using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsulOperator.Api.Schema;
using k8s;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>Everything wrong with a ConsulACLPolicy or ConsulACLToken, each problem with its field path.</summary>
public static partial class ConsulAclValidator
{
    /// <summary>ACL policies with <c>Datacenters</c> came with the ACL system of 1.4.0 (docs: ACL Policy HTTP API, "1.4.0+").</summary>
    public static readonly ConsulVersion PolicyDatacenters = new(1, 4, 0);

    /// <summary>Tokens take <c>ServiceIdentities</c> from 1.5.0 (docs: ACL Token HTTP API, "Added in Consul 1.5.0").</summary>
    public static readonly ConsulVersion ServiceIdentities = new(1, 5, 0);

    private static readonly Lazy<JsonObject> PolicySchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulACLPolicy)));
    private static readonly Lazy<JsonObject> TokenSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulACLToken)));

    /// <summary>The policy's name in Consul.</summary>
    public static string PolicyName(V1Alpha1ConsulACLPolicy policy) => policy.Spec.Name ?? policy.Metadata.Name;

    /// <summary>The Secret the token goes into.</summary>
    public static string SecretName(V1Alpha1ConsulACLToken token) => token.Spec.SecretName ?? token.Metadata.Name;

    /// <summary>What the spec says on its own; <paramref name="servers"/> (the oldest running server version) refuses what that version lacks.</summary>
    public static IReadOnlyList<ValidationProblem> Validate(V1Alpha1ConsulACLPolicy policy, ConsulVersion? servers)
    {
        var problems = new List<ValidationProblem>(SchemaValidator.Validate(PolicySchema.Value, JsonNode.Parse(KubernetesJson.Serialize(policy))));
        if (policy.Spec.Name is null && !AclName().IsMatch(policy.Metadata.Name ?? ""))
        {
            problems.Add(new("spec.name", $"is required because metadata.name \"{policy.Metadata.Name}\" has characters a Consul policy name cannot (letters, digits, '-' and '_' only)"));
        }

        if (string.IsNullOrWhiteSpace(policy.Spec.Rules))
        {
            problems.Add(new("spec.rules", "is required: a policy without rules grants nothing"));
        }

        if (policy.Spec.Datacenters is { Count: > 0 } && servers is not null && servers < PolicyDatacenters)
        {
            problems.Add(new("spec.datacenters", $"needs Consul {PolicyDatacenters} or later; the cluster's servers run {servers}"));
        }

        return problems;
    }

    public static IReadOnlyList<ValidationProblem> Validate(V1Alpha1ConsulACLToken token, ConsulVersion? servers)
    {
        var spec = token.Spec;
        var problems = new List<ValidationProblem>(SchemaValidator.Validate(TokenSchema.Value, JsonNode.Parse(KubernetesJson.Serialize(token))));
        if (spec.SecretName is null && !Regex.IsMatch(token.Metadata.Name ?? "", Patterns.DnsName))
        {
            problems.Add(new("spec.secretName", $"is required because metadata.name \"{token.Metadata.Name}\" cannot name a Secret"));
        }

        if (spec.Policies is not { Count: > 0 } && spec.ServiceIdentities is not { Count: > 0 } && spec.NodeIdentities is not { Count: > 0 })
        {
            problems.Add(new("spec", "a token needs at least one of policies, serviceIdentities and nodeIdentities; one without grants only what the anonymous token does"));
        }

        for (var i = 0; i < (spec.Policies?.Count ?? 0); i++)
        {
            if ((spec.Policies![i].ConsulACLPolicy is null) == (spec.Policies[i].ConsulName is null))
            {
                problems.Add(new($"spec.policies[{i}]", "exactly one of consulACLPolicy and consulName must be set"));
            }
        }

        if (!GoDuration.TryParse(spec.RotationGracePeriod, out _))
        {
            problems.Add(new("spec.rotationGracePeriod", $"\"{spec.RotationGracePeriod}\" is not a duration such as 30m or 1h"));
        }

        if (servers is not null)
        {
            if (spec.NodeIdentities is { Count: > 0 } && !servers.HasNodeIdentities)
            {
                problems.Add(new("spec.nodeIdentities", $"needs Consul {ConsulVersion.NodeIdentities} or later; the cluster's servers run {servers}, which would ignore them"));
            }

            if (spec.ServiceIdentities is { Count: > 0 } && servers < ServiceIdentities)
            {
                problems.Add(new("spec.serviceIdentities", $"needs Consul {ServiceIdentities} or later; the cluster's servers run {servers}"));
            }
        }

        return problems;
    }

    [GeneratedRegex(Patterns.ConsulAclName)]
    private static partial Regex AclName();
}
