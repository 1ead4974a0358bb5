using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// [C5] The configuration keys a Consul version decodes, from the key lists read out of its agent/config/config.go
/// (shared/reference, embedded): mapstructure refuses any other key, so the agent does not start. The 1.6.1 list stands for
/// every version before 1.12 and the ~1.16 list for 1.12 on, the only two lists read from source (UPSTREAM.md).
/// </summary>
public sealed class ConfigKeys
{
    private static readonly Lazy<ConfigKeys> Legacy = new(() => Load("consul-1.6-config-keys.json"));
    private static readonly Lazy<ConfigKeys> Current = new(() => Load("consul-config-keys.json"));

    private readonly HashSet<string> known;
    private readonly HashSet<string> freeForm;

    private ConfigKeys(JsonObject list)
    {
        known = [.. Strings(list["keys"]), .. ((JsonObject?)list["deprecated"] ?? []).Select(p => p.Key), .. ((JsonObject?)list["aliases"] ?? []).Select(p => p.Key)];
        freeForm = [.. Strings(list["free_form_values"])];
    }

    public static ConfigKeys For(string version) =>
        ConsulOperator.Api.ConsulVersion.TryParse(version, out var parsed) && parsed < new ConsulOperator.Api.ConsulVersion(1, 12, 0) ? Legacy.Value : Current.Value;

    /// <summary>Every dotted path of <paramref name="config"/> this version would refuse.</summary>
    public IEnumerable<string> InvalidKeys(JsonObject config) => Walk(config, "");

    private IEnumerable<string> Walk(JsonObject obj, string prefix)
    {
        foreach (var (key, value) in obj)
        {
            var path = prefix + key;
            if (!known.Contains(path))
            {
                path = prefix + "*";
                if (!known.Contains(path) && !known.Any(k => k.StartsWith(path + ".", StringComparison.Ordinal)))
                {
                    yield return prefix + key;
                    continue;
                }
            }

            if (freeForm.Contains(path))
            {
                continue;
            }

            var children = value switch
            {
                JsonObject child => Walk(child, path + "."),
                JsonArray array => array.OfType<JsonObject>().SelectMany(element => Walk(element, path + "[].")),
                _ => [],
            };
            foreach (var invalid in children)
            {
                yield return invalid;
            }
        }
    }

    private static ConfigKeys Load(string file)
    {
        using var stream = typeof(ConfigKeys).Assembly.GetManifestResourceStream($"ConfigKeys/{file}") ?? throw new FileNotFoundException($"embedded key list {file}");
        return new ConfigKeys(JsonNode.Parse(stream)!.AsObject());
    }

    private static IEnumerable<string> Strings(JsonNode? node) => (node as JsonArray ?? []).Select(k => (string)k!);
}
