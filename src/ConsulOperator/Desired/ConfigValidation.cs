using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Desired;

/// <summary>
/// The full check of a ConsulCluster before anything is built: the API rules, plus what only the Consul side knows:
/// whether extraConfig's keys exist in this Consul version and whether they step on what the operator manages.
/// </summary>
public static class ConfigValidation
{
    public static IReadOnlyList<ValidationProblem> Validate(V1Alpha1ConsulCluster cluster)
    {
        var problems = new List<ValidationProblem>(ConsulClusterValidator.Validate(cluster));
        if (cluster.Spec.ExtraConfig is { } extra && ConsulVersion.TryParse(cluster.Spec.Version, out var version))
        {
            problems.AddRange(ExtraConfigProblems(extra, version));
        }

        return problems;
    }

    private static IEnumerable<ValidationProblem> ExtraConfigProblems(JsonObject extra, ConsulVersion version)
    {
        foreach (var (key, owner) in AgentConfig.ManagedKeys)
        {
            if (Lookup(extra, key) is not null)
            {
                yield return new ValidationProblem($"spec.extraConfig.{key}", $"is managed by the operator through {owner}");
            }
        }

        foreach (var (path, problem) in ConfigKeyCatalog.For(version).Check(extra))
        {
            yield return new ValidationProblem($"spec.extraConfig.{path}", $"{problem} (Consul {version})");
        }
    }

    private static JsonNode? Lookup(JsonObject obj, string dottedKey)
    {
        JsonNode? node = obj;
        foreach (var part in dottedKey.Split('.'))
        {
            node = node is JsonObject o && o.TryGetPropertyValue(part, out var child) ? child ?? JsonValue.Create("null") : null;
        }

        return node;
    }
}
