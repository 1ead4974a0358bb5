using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Desired;

/// <summary>
/// The agents' configuration as Consul reads it (JSON), for the version at hand. Nothing secret goes in here:
/// the gossip key and certificates reach the agent as files written at start from Secrets (see <see cref="PodConfigTemplate"/>).
/// </summary>
public static class AgentConfig
{
    public const string ConfigFile = "config.json";
    public const string ConfigDirectory = "/consul/config";
    public const string DataDirectory = "/consul/data";
    public const string TlsDirectory = "/consul/tls";
    public const string RunDirectory = "/consul/run";
    public const string PodConfigFile = RunDirectory + "/pod.json";
    public const string CaFile = TlsDirectory + "/ca.crt";

    public const int ServerRpcPort = 8300;
    public const int SerfLanPort = 8301;
    public const int SerfWanPort = 8302;
    public const int HttpsPort = 8501;
    public const int GrpcTlsPort = 8503;
    public const int DnsPort = 8600;

    /// <summary>Environment variables the start script reads; set on the container from the Downward API and Secrets.</summary>
    public const string PodNameVariable = "POD_NAME";
    public const string PodIpVariable = "POD_IP";
    public const string GossipKeyVariable = "GOSSIP_KEY";

    /// <summary>Top-level keys (and subtrees) the operator decides; extraConfig may not set them, or the cluster would drift from its spec or leak secrets into a ConfigMap.</summary>
    public static readonly IReadOnlyDictionary<string, string> ManagedKeys = new Dictionary<string, string>
    {
        ["datacenter"] = "spec.datacenter",
        ["domain"] = "spec.domain",
        ["data_dir"] = "the operator's pod layout",
        ["server"] = "the StatefulSet the agent runs in",
        ["bootstrap"] = "spec.servers.replicas",
        ["bootstrap_expect"] = "spec.servers.replicas (pinned at first bootstrap; none with spec.join)",
        ["retry_join"] = "the headless server Service and spec.join",
        ["encrypt"] = "spec.gossip (the key lives in a Secret)",
        ["ports"] = "the operator's Services and probes",
        ["addresses"] = "the operator's Services and probes",
        ["client_addr"] = "the operator's Services and probes",
        ["bind_addr"] = "the pod network",
        ["advertise_addr"] = "the pod IP",
        ["node_name"] = "the pod name",
        ["tls"] = "spec.tls",
        ["ca_file"] = "spec.tls",
        ["ca_path"] = "spec.tls",
        ["cert_file"] = "spec.tls",
        ["key_file"] = "spec.tls",
        ["verify_incoming"] = "spec.tls.verifyIncoming",
        ["verify_incoming_rpc"] = "spec.tls.verifyIncoming",
        ["verify_incoming_https"] = "spec.tls.httpsVerifyIncoming",
        ["verify_outgoing"] = "spec.tls.verifyOutgoing",
        ["verify_server_hostname"] = "spec.tls.verifyServerHostname",
        ["auto_encrypt"] = "spec.clients.autoEncrypt",
        ["acl.enabled"] = "spec.acl.enabled",
        ["acl.default_policy"] = "spec.acl.defaultPolicy",
        ["acl.down_policy"] = "spec.acl.downPolicy",
        ["acl.tokens"] = "the operator's ACL bootstrap (tokens live in Secrets)",
        ["ui_config.enabled"] = "spec.ui.enabled",
        ["ui"] = "spec.ui.enabled",
        ["telemetry.prometheus_retention_time"] = "spec.telemetry.prometheusRetentionTime",
        ["telemetry.disable_hostname"] = "spec.telemetry.disableHostname",
    };

    public static JsonObject Server(ConsulClusterSpec spec, Names names, int bootstrapExpect)
    {
        var version = ConsulVersion.Parse(spec.Version);
        var config = Common(spec, names, version, server: true);
        config["server"] = true;

        // Servers that join a running datacenter must never bootstrap one of their own: a server without
        // bootstrap_expect never tries (agent/consul/server_serf.go lanNodeJoin calls maybeBootstrap only when it is set),
        // and waits for that datacenter's leader to add it to raft. With it, three pods that found each other before
        // they found the outside servers could bootstrap a second raft in the same gossip pool.
        if (spec.Join is not { Count: > 0 })
        {
            config["bootstrap_expect"] = bootstrapExpect;
        }

        // A restarted server must come back as the same raft voter; leaving on every rolling restart would shrink and
        // regrow raft each time. Servers that go for good are taken out of raft by the operator.
        config["leave_on_terminate"] = false;
        config["performance"] = new JsonObject { ["raft_multiplier"] = 1 };
        config["autopilot"] = new JsonObject { ["cleanup_dead_servers"] = true };

        // Autopilot's dead-server cleanup stops at min_quorum, so it can never prune raft below a quorum of the servers the
        // datacenter was bootstrapped with. From the pinned bootstrap_expect, so scaling changes no configuration.
        if (ConfigKeyCatalog.For(version).Knows("autopilot.min_quorum"))
        {
            config["autopilot"]!["min_quorum"] = (bootstrapExpect / 2) + 1;
        }
        if (spec.Clients.Replicas > 0 && spec.Clients.AutoEncrypt)
        {
            config["auto_encrypt"] = new JsonObject { ["allow_tls"] = true };
        }

        if (version.UsesTlsStanza)
        {
            config["ui_config"] = new JsonObject { ["enabled"] = spec.Ui.Enabled };
        }
        else
        {
            config["ui"] = spec.Ui.Enabled;
        }

        return WithExtraConfig(config, spec.ExtraConfig);
    }

    public static JsonObject Client(ConsulClusterSpec spec, Names names)
    {
        var version = ConsulVersion.Parse(spec.Version);
        var config = Common(spec, names, version, server: false);
        config["server"] = false;
        config["leave_on_terminate"] = true;
        if (spec.Clients.AutoEncrypt)
        {
            config["auto_encrypt"] = new JsonObject { ["tls"] = true };
        }

        return WithExtraConfig(config, spec.ExtraConfig);
    }

    /// <summary>
    /// The per-pod configuration file the start script writes before Consul starts: the pod's own certificate (picked by
    /// pod name from the projected volume, so every pod can share one template) and the gossip key from its Secret.
    /// Shell variables in it are expanded by the script.
    /// </summary>
    public static JsonObject PodConfigTemplate(ConsulVersion version, bool ownCertificate, bool gossipEncryption)
    {
        var config = new JsonObject();
        if (ownCertificate)
        {
            SetCertificate(config, version, $"{TlsDirectory}/${{{PodNameVariable}}}.crt", $"{TlsDirectory}/${{{PodNameVariable}}}.key");
        }

        if (gossipEncryption)
        {
            config["encrypt"] = $"${{{GossipKeyVariable}}}";
        }

        return config;
    }

    /// <summary>
    /// The whole configuration of a client agent on a machine outside Kubernetes (a ConsulExternalAgent), from the same
    /// pieces as the pods': its own certificate and the CA from the machine's config directory, the server addresses to
    /// join, and (unlike a pod's, which gets them from Secrets at start) the gossip key and agent token, since the file
    /// itself lives in a Secret and on the machine, readable by Consul only. Its API listens on the machine's loopback.
    /// </summary>
    public static JsonObject External(ConsulClusterSpec spec, ExternalAgentConfig agent)
    {
        var version = ConsulVersion.Parse(spec.Version);
        var config = Common(spec, agent.Join, version, Tls(spec, version, $"{agent.ConfigDirectory}/{agent.CaFile}", ownCertificate: true, server: false));
        SetCertificate(config, version, $"{agent.ConfigDirectory}/{agent.CertificateFile}", $"{agent.ConfigDirectory}/{agent.KeyFile}");
        config["server"] = false;
        config["leave_on_terminate"] = true;
        config["node_name"] = agent.NodeName;
        config["data_dir"] = agent.DataDirectory;
        config["client_addr"] = "127.0.0.1";
        if (agent.AdvertiseAddress is { } advertise)
        {
            config["advertise_addr"] = advertise;
        }

        if (agent.GossipKey is { } key)
        {
            config["encrypt"] = key;
        }

        if (agent.Token is { } token && config["acl"] is JsonObject acl)
        {
            acl["tokens"] = new JsonObject { ["agent"] = token };
        }

        if (agent.Services.Count > 0)
        {
            config["services"] = new JsonArray([.. agent.Services.Select(s => s.DeepClone())]);
        }

        return WithExtraConfig(config, spec.ExtraConfig);
    }

    // The agent's own certificate: tls.defaults from 1.12, the top-level keys before.
    private static void SetCertificate(JsonObject config, ConsulVersion version, string certFile, string keyFile)
    {
        if (version.UsesTlsStanza)
        {
            var tls = config["tls"] as JsonObject ?? [];
            config["tls"] = tls;
            var defaults = tls["defaults"] as JsonObject ?? [];
            tls["defaults"] = defaults;
            defaults["cert_file"] = certFile;
            defaults["key_file"] = keyFile;
        }
        else
        {
            config["cert_file"] = certFile;
            config["key_file"] = keyFile;
        }
    }

    private static JsonObject Common(ConsulClusterSpec spec, Names names, ConsulVersion version, bool server) =>
        Common(spec, [names.ServerJoinAddress, .. spec.Join ?? []], version, Tls(spec, version, CaFile, OwnCertificate(spec, server), server));

    private static JsonObject Common(ConsulClusterSpec spec, IReadOnlyList<string> join, ConsulVersion version, JsonObject tls)
    {
        var config = new JsonObject
        {
            ["datacenter"] = spec.Datacenter,
            ["domain"] = spec.Domain,
            ["data_dir"] = DataDirectory,
            ["bind_addr"] = "0.0.0.0",

            // DNS and HTTPS must answer on the pod IP, for the DNS Service and the operator.
            ["client_addr"] = "0.0.0.0",
            ["retry_join"] = new JsonArray([.. join.Select(a => JsonValue.Create(a))]),
            ["disable_update_check"] = true,
            ["ports"] = Ports(version),
        };
        foreach (var (key, value) in tls)
        {
            config[key] = value!.DeepClone();
        }

        if (spec.Acl.Enabled)
        {
            config["acl"] = new JsonObject
            {
                ["enabled"] = true,
                ["default_policy"] = spec.Acl.DefaultPolicy == AclPolicy.Deny ? "deny" : "allow",
                ["down_policy"] = spec.Acl.DownPolicy switch
                {
                    AclDownPolicy.Allow => "allow",
                    AclDownPolicy.Deny => "deny",
                    AclDownPolicy.AsyncCache => "async-cache",
                    _ => "extend-cache",
                },
                ["enable_token_persistence"] = spec.Acl.EnableTokenPersistence,
            };
        }

        // Both keys are in every supported version's list (v1.6.1 and ~1.16 agent/config/config.go).
        if (spec.Telemetry.Enabled)
        {
            config["telemetry"] = new JsonObject
            {
                ["prometheus_retention_time"] = spec.Telemetry.PrometheusRetentionTime,
                ["disable_hostname"] = spec.Telemetry.DisableHostname,
            };
        }

        return config;
    }

    private static JsonObject Ports(ConsulVersion version)
    {
        var ports = new JsonObject
        {
            // Plain HTTP is off: every API call goes through HTTPS with a certificate from the cluster CA.
            ["http"] = -1,
            ["https"] = HttpsPort,
            ["dns"] = DnsPort,
            ["server"] = ServerRpcPort,
            ["serf_lan"] = SerfLanPort,
            ["serf_wan"] = SerfWanPort,
        };
        if (version.HasGrpcTlsPort)
        {
            ports["grpc_tls"] = GrpcTlsPort;
        }

        return ports;
    }

    // An auto-encrypt client has no certificate from our CA for its listeners, so nothing could present one to it.
    private static bool OwnCertificate(ConsulClusterSpec spec, bool server) => server || !spec.Clients.AutoEncrypt;

    private static JsonObject Tls(ConsulClusterSpec spec, ConsulVersion version, string caFile, bool ownCertificate, bool server)
    {
        var tls = spec.Tls;
        var verifyIncomingRpc = tls.VerifyIncoming && ownCertificate;
        // Browsers cannot present a client certificate to the UI the servers serve; ACL login stands in (validated: ACLs deny by default).
        var verifyIncomingHttps = tls.HttpsVerifyIncoming && ownCertificate && !(server && spec.Ui.BrowserAccess);

        if (version.UsesTlsStanza)
        {
            return new JsonObject
            {
                ["tls"] = new JsonObject
                {
                    ["defaults"] = new JsonObject
                    {
                        ["ca_file"] = caFile,
                        ["verify_incoming"] = verifyIncomingRpc,
                        ["verify_outgoing"] = tls.VerifyOutgoing,
                        ["tls_min_version"] = "TLSv1_2",
                    },
                    ["internal_rpc"] = new JsonObject { ["verify_server_hostname"] = tls.VerifyServerHostname },
                    ["https"] = new JsonObject { ["verify_incoming"] = verifyIncomingHttps },
                },
            };
        }

        return new JsonObject
        {
            ["ca_file"] = caFile,
            ["verify_incoming_rpc"] = verifyIncomingRpc,
            ["verify_incoming_https"] = verifyIncomingHttps,
            ["verify_outgoing"] = tls.VerifyOutgoing,
            ["verify_server_hostname"] = tls.VerifyServerHostname,
            ["tls_min_version"] = "tls12",
        };
    }

    private static JsonObject WithExtraConfig(JsonObject config, JsonObject? extra)
    {
        if (extra is not null)
        {
            Merge(config, extra);
        }

        return config;
    }

    // Objects merge key by key; anything else in extraConfig replaces what was there, as a later config file does in Consul.
    private static void Merge(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source)
        {
            if (value is JsonObject sourceChild && target[key] is JsonObject targetChild)
            {
                Merge(targetChild, sourceChild);
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
    }
}

/// <summary>What a machine's agent configuration holds beyond the cluster's spec (see <see cref="AgentConfig.External"/>).</summary>
public sealed record ExternalAgentConfig(
    string NodeName, string? AdvertiseAddress, IReadOnlyList<string> Join, string? GossipKey, string? Token, IReadOnlyList<JsonObject> Services,
    string ConfigDirectory, string DataDirectory, string CaFile, string CertificateFile, string KeyFile);
