using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// A machine whose tooling copied a bundle (a ConsulExternalAgent's Secret, or what <c>render --external-agent</c>
/// wrote) into one directory and installed its systemd unit: what its Consul agent starts from. Nothing comes from the
/// ConsulExternalAgent: the unit's <c>ExecStart</c> says where the configuration is, Consul loads every <c>.json</c> of
/// that directory in lexical order (C1), and the files the configuration names are read from the copied tree.
/// </summary>
public static partial class BundleMachine
{
    public const string UnitFile = "consul.service";

    /// <summary>What the agent starts from, or why systemd would not start it.</summary>
    /// <param name="version">The consul binary installed on the machine.</param>
    /// <param name="bundle">The bundle's files by name.</param>
    /// <param name="copiedTo">The directory the files were copied into.</param>
    /// <param name="dnsNames">The names the machine's DNS gives it.</param>
    public static (AgentStart? Start, string? Problem) Read(string version, IReadOnlyDictionary<string, string> bundle, string copiedTo, IReadOnlyList<string> dnsNames)
    {
        var files = bundle.ToDictionary(f => $"{copiedTo.TrimEnd('/')}/{f.Key}", f => f.Value);
        if (!bundle.TryGetValue(UnitFile, out var unit) || ExecStart().Match(unit) is not { Success: true } exec)
        {
            return (null, $"{UnitFile}: no ExecStart running 'consul agent'");
        }

        var configDirectory = exec.Groups["dir"].Value.TrimEnd('/');
        var config = new JsonObject();
        var sources = files.Keys.Where(p => p.StartsWith(configDirectory + "/", StringComparison.Ordinal) && p.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (sources.Count == 0)
        {
            return (null, $"==> config: no configuration files in {configDirectory} (the bundle was copied to {copiedTo})");
        }

        foreach (var source in sources)
        {
            AgentStart.Merge(config, JsonNode.Parse(files[source])!.AsObject());
        }

        return (AgentStart.OnMachine(version, config, files, dnsNames), null);
    }

    [GeneratedRegex(@"^ExecStart=\S*/consul agent (?:.* )?-config-dir=(?<dir>\S+)", RegexOptions.Multiline)]
    private static partial Regex ExecStart();
}
