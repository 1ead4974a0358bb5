using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsulOperator.Api.Schema;
using k8s;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>Everything wrong with a ConsulExternalAgent, each problem with its field path.</summary>
public static class ConsulExternalAgentValidator
{
    /// <summary>The agent token's Secret is named &lt;name&gt;-agent-token, which must stay a valid object name.</summary>
    public const int MaxNameLength = 240;

    private static readonly Lazy<JsonObject> ResourceSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulExternalAgent)));

    /// <summary>The agent's Consul node name.</summary>
    public static string NodeName(V1Alpha1ConsulExternalAgent agent) => agent.Spec.NodeName ?? agent.Metadata.Name;

    /// <summary>The Secret the bundle goes into.</summary>
    public static string SecretName(V1Alpha1ConsulExternalAgent agent) => agent.Spec.SecretName ?? agent.Metadata.Name;

    public static IReadOnlyList<ValidationProblem> Validate(V1Alpha1ConsulExternalAgent agent)
    {
        var spec = agent.Spec;
        var problems = new List<ValidationProblem>(SchemaValidator.Validate(ResourceSchema.Value, JsonNode.Parse(KubernetesJson.Serialize(agent))));
        if (agent.Metadata?.Name is { Length: > MaxNameLength } name)
        {
            problems.Add(new("metadata.name", $"\"{name}\" is longer than {MaxNameLength} characters; the agent token's Secret is named after it"));
        }

        if (string.IsNullOrEmpty(spec.ClusterRef.Name))
        {
            problems.Add(new("spec.clusterRef.name", "is required"));
        }

        if (spec.NodeName is null && !Regex.IsMatch(agent.Metadata?.Name ?? "", Patterns.ConsulAclName))
        {
            problems.Add(new("spec.nodeName", $"is required because metadata.name \"{agent.Metadata?.Name}\" has characters a Consul node name for a token cannot (letters, digits, '-' and '_' only)"));
        }

        for (var i = 0; i < (spec.Addresses?.Count ?? 0); i++)
        {
            var address = spec.Addresses![i];
            if (!IPAddress.TryParse(address, out _) && !Regex.IsMatch(address, Patterns.DnsName))
            {
                problems.Add(new($"spec.addresses[{i}]", $"\"{address}\" is neither an IP address nor a lower-case DNS name"));
            }
            else if (spec.Addresses.IndexOf(address) < i)
            {
                problems.Add(new($"spec.addresses[{i}]", $"\"{address}\" is listed twice"));
            }
        }

        for (var i = 0; i < (spec.Services?.Count ?? 0); i++)
        {
            var service = spec.Services![i];
            if (spec.Services.FindIndex(s => s.Name == service.Name) < i)
            {
                problems.Add(new($"spec.services[{i}].name", $"\"{service.Name}\" is listed twice; a node registers a service name once"));
            }

            ConsulServiceValidator.CheckTagsAndChecks(service.Tags, service.Checks, $"spec.services[{i}]", problems);
        }

        return problems;
    }
}
