using System.Text.Json.Nodes;

namespace ConsulOperator.Runtime;

/// <summary>
/// How the operator compares what it wants with what is there, much as server-side apply does: only the fields the
/// operator sets count. Defaults the API server adds, and fields others add, are left alone and never cause a write.
/// </summary>
public static class DesiredComparison
{
    /// <summary>Whether every field of <paramref name="desired"/> is present in <paramref name="live"/> with the same value.</summary>
    public static bool IsSatisfiedBy(JsonNode? desired, JsonNode? live) => (desired, live) switch
    {
        (null, _) => true,
        (JsonObject d, JsonObject l) => d.All(p => IsSatisfiedBy(p.Value, l[p.Key])),
        (JsonArray d, JsonArray l) => d.Count == l.Count && d.Zip(l).All(pair => IsSatisfiedBy(pair.First, pair.Second)),
        (JsonValue d, JsonValue l) => d.ToJsonString() == l.ToJsonString(),
        _ => false,
    };

    /// <summary>The live object with every field the operator sets put back: objects merge key by key, lists are replaced whole.</summary>
    public static JsonObject Merge(JsonObject live, JsonObject desired)
    {
        var result = (JsonObject)live.DeepClone();
        foreach (var (key, value) in desired)
        {
            result[key] = value is JsonObject d && result[key] is JsonObject l ? Merge(l, d) : value?.DeepClone();
        }

        return result;
    }
}
