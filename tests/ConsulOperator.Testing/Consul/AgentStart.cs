using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsulOperator.Testing.KubeApi;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// What an agent reads when its pod starts, taken from the pod as Kubernetes runs it: the version from its image, the
/// configuration files its start command names (every <c>.json</c> of <c>-config-dir</c>, then each <c>-config-file</c>),
/// the environment its variables resolve to, and the files behind its volume mounts (ConfigMaps, Secrets, projections).
/// Nothing comes from the ConsulCluster: a wrong value in what the operator rendered reaches the simulated agent as it
/// would reach Consul.
/// </summary>
public sealed partial record AgentStart(string Version, JsonObject Config, IReadOnlyList<string> Problems, Func<string, string?> ReadFile)
{
    public bool Server => (bool?)Config["server"] == true;

    public string? Datacenter => (string?)Config["datacenter"];

    /// <summary>0 when unset: such a server never bootstraps a new datacenter by itself.</summary>
    public int BootstrapExpect => (int?)Config["bootstrap_expect"] ?? 0;

    public bool AclEnabled => (bool?)Config["acl"]?["enabled"] == true;

    /// <summary>[C2] <c>acl.default_policy</c> defaults to "allow" (docs: agent configuration reference, ACL parameters).</summary>
    public bool AclDefaultDeny => ((string?)Config["acl"]?["default_policy"] ?? "allow") == "deny";

    /// <summary>[C3] <c>leave_on_terminate</c> defaults to false on servers and true on clients (docs: agent configuration reference).</summary>
    public bool LeaveOnTerminate => (bool?)Config["leave_on_terminate"] ?? !Server;

    public string? GossipKey => (string?)Config["encrypt"];

    /// <summary>
    /// Which volume holds <c>data_dir</c> (raft, the node ID, the keyring): a PersistentVolumeClaim by UID, an emptyDir
    /// by its pod's UID. A server that finds a different volume than last time starts with empty state.
    /// </summary>
    public string? DataVolume { get; init; }

    /// <summary>Where <c>data_dir</c> is on this machine, when the pod runs with a <see cref="PodRuntime"/>: the files Consul reads at start (raft/peers.json).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Runs the pod's init containers with the pod's IP (once per pod); null when none failed. Absent without a <see cref="PodRuntime"/>.</summary>
    public Func<string, string?>? RunInitContainers { get; init; }

    /// <summary>
    /// The pod's DNS names, <c>&lt;hostname&gt;.&lt;subdomain&gt;.&lt;namespace&gt;.svc[.cluster.local]</c>, which exist
    /// when the pod sets both (docs: kubernetes.io "DNS for Services and Pods", "A/AAAA records" of pods with hostname and subdomain).
    /// </summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];

    /// <summary>hashicorp/raft's protocol, <c>raft_protocol</c>: 3 unless set (docs: agent configuration, raft_protocol).</summary>
    public int RaftProtocol => (int?)Config["raft_protocol"] ?? 3;

    /// <summary>The server RPC port, which raft shares: <c>ports.server</c>, 8300 unless set.</summary>
    public int ServerPort => (int?)Config["ports"]?["server"] ?? 8300;

    /// <summary>The agent token from <c>acl.tokens.agent</c> (or the pre-1.4 <c>acl_agent_token</c>), as the agent starts with it.</summary>
    public string? AgentToken => (string?)Config["acl"]?["tokens"]?["agent"] ?? (string?)Config["acl_agent_token"];

    /// <summary>
    /// [C4] Whether HTTPS requires a client certificate: <c>tls.https.verify_incoming</c>, else <c>tls.defaults.verify_incoming</c>
    /// (1.12+, agent/config/builder.go), or <c>verify_incoming_https</c>, else <c>verify_incoming</c> (before 1.12).
    /// </summary>
    public bool HttpsVerifyIncoming =>
        (bool?)Config["tls"]?["https"]?["verify_incoming"] ?? (bool?)Config["tls"]?["defaults"]?["verify_incoming"]
        ?? (bool?)Config["verify_incoming_https"] ?? (bool?)Config["verify_incoming"] ?? false;

    public string? CertFile => (string?)Config["tls"]?["https"]?["cert_file"] ?? (string?)Config["tls"]?["defaults"]?["cert_file"] ?? (string?)Config["cert_file"];

    public string? KeyFile => (string?)Config["tls"]?["https"]?["key_file"] ?? (string?)Config["tls"]?["defaults"]?["key_file"] ?? (string?)Config["key_file"];

    public string? CaFile => (string?)Config["tls"]?["https"]?["ca_file"] ?? (string?)Config["tls"]?["defaults"]?["ca_file"] ?? (string?)Config["ca_file"];

    /// <summary>The agent's name in gossip and raft: <c>node_name</c>, else (as Consul does) the host name, which for a pod is its name.</summary>
    public string? NodeName => (string?)Config["node_name"];

    /// <summary>The addresses the agent joins through (<c>retry_join</c>, and the older <c>start_join</c>).</summary>
    public IReadOnlyList<string> JoinAddresses =>
        [.. (Config["retry_join"] as JsonArray ?? []).Concat(Config["start_join"] as JsonArray ?? []).Select(a => (string?)a).OfType<string>()];

    /// <summary>The address the agent advertises when its configuration names one (<c>advertise_addr</c>, else a <c>bind_addr</c> that is not 0.0.0.0); a pod's is its pod IP.</summary>
    public string? AdvertiseAddress => (string?)Config["advertise_addr"] ?? ((string?)Config["bind_addr"] is { } bind && bind != "0.0.0.0" ? bind : null);

    /// <summary>The LAN gossip port: <c>ports.serf_lan</c>, 8301 unless set.</summary>
    public int SerfLanPort => (int?)Config["ports"]?["serf_lan"] ?? 8301;

    public string Domain => ((string?)Config["domain"] ?? "consul").TrimEnd('.');

    /// <summary>
    /// [R10] How the agent's internal RPC (raft included) uses TLS: <c>tls.internal_rpc</c> over <c>tls.defaults</c>
    /// (1.12+), else the top-level keys; incoming verification is on with either <c>verify_incoming</c> or
    /// <c>verify_incoming_rpc</c> (tlsutil/config.go <c>VerifyIncomingRPC</c>).
    /// </summary>
    public bool RpcVerifyOutgoing => Rpc("verify_outgoing") ?? (bool?)Config["verify_outgoing"] ?? false;

    public bool RpcVerifyServerHostname => Rpc("verify_server_hostname") ?? (bool?)Config["verify_server_hostname"] ?? false;

    public bool RpcVerifyIncoming => Rpc("verify_incoming") ?? ((bool?)Config["verify_incoming"] == true || (bool?)Config["verify_incoming_rpc"] == true);

    private bool? Rpc(string key) => (bool?)Config["tls"]?["internal_rpc"]?[key] ?? (bool?)Config["tls"]?["defaults"]?[key];

    /// <summary>
    /// What an agent on a machine outside Kubernetes starts with: its configuration file as written there, and the files
    /// it names (certificates), checked against its version's key list as a pod's are. Its data directory lives on the
    /// machine, so its raft state and keyring outlive every restart.
    /// </summary>
    public static AgentStart OnMachine(string version, JsonObject config, IReadOnlyDictionary<string, string> files, IReadOnlyList<string> dnsNames)
    {
        var name = (string?)config["node_name"] ?? throw new ArgumentException("a machine's configuration names its node_name", nameof(config));
        return new AgentStart(version, (JsonObject)config.DeepClone(), [.. KeyProblems(version, config)], path => files.GetValueOrDefault(path))
        {
            DataVolume = $"machine:{name}",
            DnsNames = dnsNames,
        };
    }

    /// <summary>Reads what the agent in <paramref name="pod"/> would start with; <paramref name="store"/> holds the ConfigMaps and Secrets it mounts.</summary>
    public static AgentStart Read(JsonObject pod, ObjectStore store, PodRuntime? runtime = null)
    {
        var ns = (string)pod["metadata"]!["namespace"]!;
        var podName = (string)pod["metadata"]!["name"]!;
        var container = pod["spec"]!["containers"]!.AsArray()[0]!.AsObject();
        var image = (string?)container["image"] ?? "";
        var version = image[(image.LastIndexOf(':') + 1)..];
        var env = Environment(container, pod, podName, ns, store);
        var script = string.Join("\n", (container["command"] as JsonArray ?? []).Select(c => (string?)c).Concat((container["args"] as JsonArray ?? []).Select(c => (string?)c)));
        var files = new PodFiles(pod, container, store, ns);

        // What the start script writes before exec'ing consul: a here-document per file, with shell variables expanded.
        foreach (Match written in HereDocument().Matches(script))
        {
            files.Written[Expand(written.Groups["path"].Value, env)] = Expand(written.Groups["body"].Value, env);
        }

        var exec = AgentCommand().Match(script);
        var config = new JsonObject();
        var problems = new List<string>();
        if (!exec.Success)
        {
            problems.Add("the container does not exec 'consul agent'");
            return new AgentStart(version, config, problems, files.Read);
        }

        var sources = new List<(string Name, string? Text)>();
        foreach (Match flag in ConfigFlag().Matches(exec.Value))
        {
            var path = Expand(flag.Groups["path"].Value, env);
            if (flag.Groups["kind"].Value == "dir")
            {
                sources.AddRange(files.List(path).Where(f => f.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(f => (f, files.Read(f))));
            }
            else
            {
                sources.Add((path, files.Read(path)));
            }
        }


        foreach (var (name, text) in sources)
        {
            if (text is null)
            {
                problems.Add($"{name}: no such file");
                continue;
            }

            try
            {
                Merge(config, JsonNode.Parse(text)!.AsObject());
            }
            catch (System.Text.Json.JsonException e)
            {
                problems.Add($"{name}: {e.Message}");
            }
        }

        problems.AddRange(KeyProblems(version, config));
        var dataVolume = (string?)config["data_dir"] is { } dataDir ? files.VolumeIdentity(dataDir) : null;
        var hostname = (string?)pod["spec"]?["hostname"];
        var subdomain = (string?)pod["spec"]?["subdomain"];
        return new AgentStart(version, config, problems, files.Read)
        {
            DataVolume = dataVolume,
            DataDirectory = runtime is not null && dataVolume is not null ? Path.Combine(runtime.VolumeDirectory(dataVolume), files.VolumePath((string)config["data_dir"]!)) : null,
            RunInitContainers = runtime is null ? null : ip => runtime.RunInitContainers(pod, store, ip),
            DnsNames = hostname is null || subdomain is null ? [] : [$"{hostname}.{subdomain}.{ns}.svc", $"{hostname}.{subdomain}.{ns}.svc.cluster.local"],
        };
    }

    // [C5] The keys the agent's version does not decode, each of which stops it.
    private static IEnumerable<string> KeyProblems(string version, JsonObject config) =>
        ConfigKeys.For(version).InvalidKeys(config).Select(k => $"invalid config key {k}");

    // [C1] Later files override earlier ones key by key; objects merge (agent/config/builder.go Merge).
    internal static void Merge(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source)
        {
            if (value is JsonObject child && target[key] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
    }

    private static Dictionary<string, string> Environment(JsonObject container, JsonObject pod, string podName, string ns, ObjectStore store)
    {
        var env = new Dictionary<string, string>();
        foreach (var variable in (container["env"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = (string)variable["name"]!;
            var value = (string?)variable["value"]
                ?? ((string?)variable["valueFrom"]?["fieldRef"]?["fieldPath"] switch
                {
                    "metadata.name" => podName,
                    "status.podIP" => (string?)pod["status"]?["podIP"] ?? "10.0.0.1",
                    _ => null,
                })
                ?? (variable["valueFrom"]?["secretKeyRef"] is { } reference ? PodFiles.SecretValue(store, ns, (string)reference["name"]!, (string)reference["key"]!) : null);
            if (value is not null)
            {
                env[name] = value;
            }
        }

        return env;
    }

    private static string Expand(string text, IReadOnlyDictionary<string, string> env) =>
        Variable().Replace(text, m => env.GetValueOrDefault(m.Groups["name"].Value) ?? "");

    [GeneratedRegex(@"cat > (?<path>\S+) <<EOF\n(?<body>.*?)\nEOF", RegexOptions.Singleline)]
    private static partial Regex HereDocument();

    [GeneratedRegex(@"exec consul agent [^\n]*")]
    private static partial Regex AgentCommand();

    [GeneratedRegex(@"-config-(?<kind>dir|file)=(?<path>[^\s""]+)")]
    private static partial Regex ConfigFlag();

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)\}|\$\((?<name>[A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Variable();

    /// <summary>The pod's file system as its volume mounts make it: each path resolves to a key of a ConfigMap or Secret.</summary>
    private sealed class PodFiles(JsonObject pod, JsonObject container, ObjectStore store, string ns)
    {
        private static readonly ResourceInfo Secrets = ResourceCatalog.ForKind("v1", "Secret");
        private static readonly ResourceInfo ConfigMaps = ResourceCatalog.ForKind("v1", "ConfigMap");

        public Dictionary<string, string> Written { get; } = [];

        public static string? SecretValue(ObjectStore store, string ns, string name, string key) =>
            Data(store.Get(Secrets, ns, name), key, base64: true);

        public string? Read(string path)
        {
            if (Written.TryGetValue(path, out var written))
            {
                return written;
            }

            return Mounted(path) is var (volume, relative) ? Entries(volume).FirstOrDefault(e => e.Path == relative).Read?.Invoke() : null;
        }

        public IEnumerable<string> List(string directory) =>
            Mounted(directory.TrimEnd('/') + "/x") is var (volume, _) ? Entries(volume).Where(e => e.Read() is not null).Select(e => $"{directory.TrimEnd('/')}/{e.Path}") : [];

        /// <summary>Where the directory is inside the volume mounted over it.</summary>
        public string VolumePath(string directory) => Mounted(directory.TrimEnd('/') + "/x") is var (_, relative) ? relative[..^1].TrimEnd('/') : "";

        public string? VolumeIdentity(string directory) => Mounted(directory.TrimEnd('/') + "/x") is var (volume, _) ? PodRuntime.VolumeIdentity(pod, volume, store) : null;

        private (JsonObject Volume, string Relative)? Mounted(string path)
        {
            var mount = (container["volumeMounts"] as JsonArray ?? []).OfType<JsonObject>()
                .Where(m => path.StartsWith(((string)m["mountPath"]!).TrimEnd('/') + "/", StringComparison.Ordinal))
                .MaxBy(m => ((string)m["mountPath"]!).Length);
            var volume = (pod["spec"]!["volumes"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(v => (string?)v["name"] == (string?)mount?["name"]);
            return mount is null || volume is null ? null : (volume, path[(((string)mount["mountPath"]!).TrimEnd('/').Length + 1)..]);
        }

        // Each file a volume shows: with items, the keys they name at their paths; without, every key of the object.
        private IEnumerable<(string Path, Func<string?> Read)> Entries(JsonObject volume)
        {
            if (volume["configMap"] is JsonObject configMap)
            {
                return Source(ConfigMaps, (string)configMap["name"]!, configMap["items"] as JsonArray, base64: false);
            }

            if (volume["secret"] is JsonObject secret)
            {
                return Source(Secrets, (string)secret["secretName"]!, secret["items"] as JsonArray, base64: true);
            }

            return (volume["projected"]?["sources"] as JsonArray ?? []).OfType<JsonObject>().SelectMany(source =>
                source["configMap"] is JsonObject c ? Source(ConfigMaps, (string)c["name"]!, c["items"] as JsonArray, base64: false)
                : source["secret"] is JsonObject s ? Source(Secrets, (string)s["name"]!, s["items"] as JsonArray, base64: true)
                : []);
        }

        private IEnumerable<(string Path, Func<string?> Read)> Source(ResourceInfo kind, string name, JsonArray? items, bool base64)
        {
            if (items is not null)
            {
                return items.OfType<JsonObject>().Select(i => ((string)i["path"]!, (Func<string?>)(() => Data(store.Get(kind, ns, name), (string)i["key"]!, base64))));
            }

            var keys = (store.Get(kind, ns, name)?["data"] as JsonObject)?.Select(p => p.Key).ToList() ?? [];
            return keys.Select(k => (k, (Func<string?>)(() => Data(store.Get(kind, ns, name), k, base64))));
        }

        private static string? Data(JsonObject? item, string key, bool base64) =>
            item?["data"]?[key] is { } value
                ? base64 ? Encoding.UTF8.GetString(Convert.FromBase64String((string)value!)) : (string?)value
                : (string?)item?["stringData"]?[key];
    }
}
