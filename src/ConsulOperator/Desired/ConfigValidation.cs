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

        if (cluster.Spec.Recovery is { } recovery)
        {
            problems.AddRange(RecoveryProblems(recovery, KeyMaterialSecrets.NamesOf(cluster), cluster.Spec.Servers.Replicas));
        }

        return problems;
    }

    // Which servers can be survivors is only known from Consul (Controllers/OutageRecovery); what a name can be is known here.
    private static IEnumerable<ValidationProblem> RecoveryProblems(RecoverySpec recovery, Names names, int replicas)
    {
        if (string.IsNullOrWhiteSpace(recovery.Request))
        {
            yield return new ValidationProblem("spec.recovery.request", "is empty; set any new value (a date, a ticket number) to ask for a recovery");
        }

        var allowed = Enumerable.Range(0, replicas).Select(i => names.Pod(Components.Server, i)).ToList();
        if (recovery.Servers.Count == 0)
        {
            yield return new ValidationProblem("spec.recovery.servers", $"is empty; list the surviving server pods to make the only voters, from {string.Join(", ", allowed)}");
        }

        foreach (var server in recovery.Servers.Where(s => !allowed.Contains(s)).Distinct())
        {
            yield return new ValidationProblem("spec.recovery.servers", $"\"{server}\" is not a server pod of this cluster; allowed: {string.Join(", ", allowed)}");
        }

        foreach (var twice in recovery.Servers.GroupBy(s => s).Where(g => g.Count() > 1))
        {
            yield return new ValidationProblem("spec.recovery.servers", $"lists \"{twice.Key}\" {twice.Count()} times; each server once");
        }
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
