using System.Text.Json.Nodes;

namespace ConsulOperator.Tests.Support;

/// <summary>
/// The strictest reading of the upstream key lists, written independently of the operator's own catalog: every path we
/// emit must be a current (not deprecated, not aliased) key of that version.
/// </summary>
public static class ReferenceConfigKeys
{
    private static readonly HashSet<string> Current = Keys("consul-config-keys.json");
    private static readonly HashSet<string> Legacy = Keys("consul-1.6-config-keys.json");

    // Maps whose keys are the user's (services[].meta, check headers): anything below them is a value, not a config key.
    private static readonly string[] CurrentFreeForm = FreeForm("consul-config-keys.json");
    private static readonly string[] LegacyFreeForm = FreeForm("consul-1.6-config-keys.json");

    public static IReadOnlyList<string> InvalidPaths(JsonObject config, bool legacy)
    {
        var keys = legacy ? Legacy : Current;
        var freeForm = legacy ? LegacyFreeForm : CurrentFreeForm;
        return [.. Paths(config, "").Where(p => !keys.Contains(p) && !freeForm.Any(f => p.StartsWith(f + ".", StringComparison.Ordinal)))];
    }

    public static IEnumerable<string> Paths(JsonObject obj, string prefix)
    {
        foreach (var (key, value) in obj)
        {
            var path = prefix + key;
            yield return path;
            var children = value switch
            {
                JsonObject child => Paths(child, path + "."),
                JsonArray array => array.OfType<JsonObject>().SelectMany(element => Paths(element, path + "[].")),
                _ => [],
            };
            foreach (var child in children)
            {
                yield return child;
            }
        }
    }

    private static string[] FreeForm(string file) => [.. Reference.Json(file)["free_form_values"]!.AsArray().Select(k => (string)k!)];

    private static HashSet<string> Keys(string file) => [.. Reference.Json(file)["keys"]!.AsArray().Select(k => (string)k!)];
}
