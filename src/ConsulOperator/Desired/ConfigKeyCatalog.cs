using System.Text.Json.Nodes;
using ConsulOperator.Api;

namespace ConsulOperator.Desired;

/// <summary>
/// Which agent configuration keys a Consul version accepts, from the key lists read out of Consul's source.
/// The agent refuses to start on an unknown key, so everything we write, and everything a user adds, is checked here first.
/// </summary>
public sealed class ConfigKeyCatalog
{
    private static readonly Lazy<ConfigKeyCatalog> Current = new(() => Load("consul-config-keys.json", "current"));
    private static readonly Lazy<ConfigKeyCatalog> Legacy = new(() => Load("consul-1.6-config-keys.json", "1.6"));

    private readonly HashSet<string> keys;
    private readonly HashSet<string> prefixes;
    private readonly HashSet<string> freeForm;
    private readonly HashSet<string> notUserConfigurable;
    private readonly HashSet<string> enterpriseOnly;
    private readonly Dictionary<string, string> deprecated;
    private readonly Dictionary<string, string> aliases;

    private ConfigKeyCatalog(string name, JsonObject document)
    {
        Name = name;
        keys = Strings(document["keys"]);
        freeForm = Strings(document["free_form_values"]);
        notUserConfigurable = Strings(document["non_user_configurable"]);
        enterpriseOnly = Strings(document["enterprise_only"]);
        deprecated = Map(document["deprecated"]);
        aliases = Map(document["aliases"]);
        prefixes = [.. keys.Concat(deprecated.Keys).Concat(aliases.Keys).SelectMany(PrefixesOf)];
    }

    /// <summary>Which key list this is: "current" or "1.6".</summary>
    public string Name { get; }

    /// <summary>The key list for a version: the 1.6 list for versions before the tls stanza, the current list from 1.12 on.</summary>
    public static ConfigKeyCatalog For(ConsulVersion version) => version.UsesTlsStanza ? Current.Value : Legacy.Value;

    /// <summary>Whether this version decodes the key (a dotted path), as a current, not deprecated, key.</summary>
    public bool Knows(string path) => keys.Contains(path);

    /// <summary>Every key of the configuration that this version would refuse, warn about or ignore, with its dotted path and the reason.</summary>
    public IReadOnlyList<(string Path, string Problem)> Check(JsonObject config)
    {
        var problems = new List<(string, string)>();
        Walk(config, "", "", problems);
        return problems;
    }

    private void Walk(JsonObject obj, string catalogPrefix, string displayPrefix, List<(string, string)> problems)
    {
        foreach (var (name, value) in obj)
        {
            var display = displayPrefix.Length == 0 ? name : $"{displayPrefix}.{name}";
            var path = catalogPrefix + name;
            if (!keys.Contains(path) && !deprecated.ContainsKey(path) && !aliases.ContainsKey(path) && !prefixes.Contains(path))
            {
                // A free map key (node_meta.<anything>, ...): the catalog spells the key as '*'.
                path = catalogPrefix + "*";
                if (!prefixes.Contains(path) && !keys.Contains(path))
                {
                    problems.Add((display, $"is not a Consul {Name} configuration key"));
                    continue;
                }
            }

            if (deprecated.TryGetValue(path, out var replacement))
            {
                problems.Add((display, $"is deprecated in Consul {Name}; use {replacement}"));
                continue;
            }

            if (notUserConfigurable.Contains(path))
            {
                problems.Add((display, "is not user-configurable"));
                continue;
            }

            if (enterpriseOnly.Contains(path))
            {
                problems.Add((display, "is a Consul Enterprise key, ignored by Consul CE"));
                continue;
            }

            if (freeForm.Contains(path))
            {
                continue;
            }

            switch (value)
            {
                case JsonObject child:
                    Walk(child, path + ".", display, problems);
                    break;
                case JsonArray array:
                    for (var i = 0; i < array.Count; i++)
                    {
                        if (array[i] is JsonObject element)
                        {
                            Walk(element, path + "[].", $"{display}[{i}]", problems);
                        }
                    }

                    break;
            }
        }
    }

    private static ConfigKeyCatalog Load(string file, string name)
    {
        using var stream = typeof(ConfigKeyCatalog).Assembly.GetManifestResourceStream($"ConfigKeys/{file}")
            ?? throw new InvalidOperationException($"embedded key list {file} is missing from the build");
        return new ConfigKeyCatalog(name, JsonNode.Parse(stream)!.AsObject());
    }

    private static IEnumerable<string> PrefixesOf(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] == '.')
            {
                yield return key[..i];
            }
            else if (key[i] == '[')
            {
                yield return key[..i];
            }
        }

        yield return key;
    }

    private static HashSet<string> Strings(JsonNode? node) => [.. node?.AsArray().Select(n => (string)n!) ?? []];

    private static Dictionary<string, string> Map(JsonNode? node) =>
        node?.AsObject().ToDictionary(p => p.Key, p => (string?)p.Value ?? "") ?? [];
}
