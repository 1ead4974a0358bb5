using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// What a ConsulExternalAgent becomes: the ConsulACLToken (and, before node identities, the ConsulACLPolicy) that gives
/// the machine its agent token, the machine's certificate request, and the bundle of files it starts from, laid out for
/// its config directory. The bundle's keys are the file names, so the Secret and <c>render --external-agent</c> write the
/// same tree.
/// </summary>
public static class ExternalAgents
{
    /// <summary>Where the bundle goes on the machine: Consul loads every .json of its -config-dir and ignores the other files there.</summary>
    public const string ConfigDirectory = "/etc/consul.d";
    public const string DataDirectory = "/opt/consul";
    public const string ConfigFile = "config.json";
    public const string CaFile = "ca.crt";
    public const string CertificateFile = "agent.crt";
    public const string KeyFile = "agent.key";
    public const string EnvironmentFile = "consul.env";
    public const string UnitFile = "consul.service";

    /// <summary>On the bundle Secret: the digest of its files, which status reports too.</summary>
    public const string BundleHashAnnotation = "consul.operator.dev/bundle-hash";

    public const string Component = "external-agent";

    public static string TokenName(V1Alpha1ConsulExternalAgent agent) => $"{agent.Metadata.Name}-agent-token";

    public static string NodePolicyName(V1Alpha1ConsulExternalAgent agent) => $"{agent.Metadata.Name}-node";

    /// <summary>
    /// What the spec asks that the cluster cannot give: a node name one of its pods has (the machine would take over the
    /// pod's node in the catalog), or a DNS name the CA's name constraints do not permit (every TLS peer that checks
    /// constraints, Go's crypto/x509 among them, would refuse the certificate).
    /// </summary>
    public static IEnumerable<ValidationProblem> Problems(V1Alpha1ConsulExternalAgent agent, Names names, CertificateAuthority? ca)
    {
        var node = ConsulExternalAgentValidator.NodeName(agent);
        if (names.ParsePod(node) is not null)
        {
            yield return new(agent.Spec.NodeName is null ? "metadata.name" : "spec.nodeName", $"\"{node}\" is the node name of the cluster's pod {node}; choose a name no agent pod has");
        }

        var permitted = ca?.PermittedDnsDomains ?? [];
        var addresses = agent.Spec.Addresses ?? [];
        for (var i = 0; i < addresses.Count; i++)
        {
            if (permitted.Count > 0 && !IPAddress.TryParse(addresses[i], out _) && !permitted.Any(d => addresses[i] == d || addresses[i].EndsWith("." + d, StringComparison.Ordinal)))
            {
                yield return new($"spec.addresses[{i}]", $"\"{addresses[i]}\" is outside the CA's name constraints ({string.Join(", ", permitted)}), so TLS peers would refuse the certificate; list the machine by IP address, or by a name under one of those");
            }
        }
    }

    /// <summary>
    /// The agent token: the node's identity (write on the node, read on every service), with a service identity for each
    /// of its services so that it can register them. Before node identities (1.8.1) a policy of the node's own grants the
    /// same, with the rules the pods' agent policies have (<see cref="AclPolicies.AgentPolicy"/>).
    /// </summary>
    public static V1Alpha1ConsulACLToken Token(V1Alpha1ConsulExternalAgent agent, V1Alpha1ConsulCluster cluster, ConsulVersion servers)
    {
        var node = ConsulExternalAgentValidator.NodeName(agent);
        return new V1Alpha1ConsulACLToken
        {
            Metadata = Owned(agent, TokenName(agent)),
            Spec = new ConsulACLTokenSpec
            {
                ClusterRef = new ClusterReference { Name = cluster.Metadata.Name },
                Description = $"agent token of the machine {node}",
                NodeIdentities = servers.HasNodeIdentities ? [new TokenNodeIdentity { NodeName = node, Datacenter = cluster.Spec.Datacenter }] : null,
                Policies = servers.HasNodeIdentities ? null : [new TokenPolicy { ConsulACLPolicy = NodePolicyName(agent) }],
                ServiceIdentities = agent.Spec.Services is { Count: > 0 } services ? [.. services.Select(s => new TokenServiceIdentity { ServiceName = s.Name })] : null,
                SecretName = TokenName(agent),
            },
        };
    }

    /// <summary>The node policy of a version without node identities; null when the token has the node's identity instead.</summary>
    public static V1Alpha1ConsulACLPolicy? NodePolicy(V1Alpha1ConsulExternalAgent agent, V1Alpha1ConsulCluster cluster, ConsulVersion servers)
    {
        if (servers.HasNodeIdentities)
        {
            return null;
        }

        var node = ConsulExternalAgentValidator.NodeName(agent);
        return new V1Alpha1ConsulACLPolicy
        {
            Metadata = Owned(agent, NodePolicyName(agent)),
            Spec = new ConsulACLPolicySpec
            {
                ClusterRef = new ClusterReference { Name = cluster.Metadata.Name },
                Description = $"what a node identity would grant the machine {node}",
                Rules = AclPolicies.AgentPolicy(node).Rules,
            },
        };
    }

    /// <summary>
    /// The machine's certificate: a client agent's (<c>client.&lt;dc&gt;.&lt;domain&gt;</c>, both TLS roles, as
    /// <c>consul tls cert create -client</c> gives), with the machine's names and addresses, and loopback for its own CLI.
    /// </summary>
    public static LeafRequest Certificate(V1Alpha1ConsulExternalAgent agent, ConsulClusterSpec cluster)
    {
        var addresses = agent.Spec.Addresses ?? [];
        var ips = addresses.Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().ToList();
        var request = LeafRequest.For(CertificateRole.Client, cluster.Datacenter, cluster.Domain, [.. addresses.Where(a => !IPAddress.TryParse(a, out _))]);
        return request with { IpAddresses = [.. ips, .. request.IpAddresses.Where(ip => !ips.Contains(ip))] };
    }

    /// <summary>What the bundle is made of besides the spec.</summary>
    /// <param name="Ca">The cluster's CA certificate (PEM).</param>
    /// <param name="Leaf">The machine's certificate.</param>
    /// <param name="GossipKey">The cluster's gossip key, when encryption is on.</param>
    /// <param name="Token">The agent token's secret, when ACLs are on.</param>
    /// <param name="Join">The server addresses to join through.</param>
    public sealed record BundleInput(string Ca, IssuedCertificate Leaf, string? GossipKey, string? Token, IReadOnlyList<string> Join);

    /// <summary>Every file of the bundle by name, in a stable order.</summary>
    public static SortedDictionary<string, string> Files(V1Alpha1ConsulExternalAgent agent, V1Alpha1ConsulCluster cluster, BundleInput input)
    {
        var node = ConsulExternalAgentValidator.NodeName(agent);
        var source = $"{agent.Metadata.NamespaceProperty ?? "default"}/{agent.Metadata.Name}";
        var config = AgentConfig.External(cluster.Spec, new ExternalAgentConfig(
            node,
            (agent.Spec.Addresses ?? []).FirstOrDefault(a => IPAddress.TryParse(a, out _)),
            input.Join,
            input.GossipKey,
            input.Token,
            [.. (agent.Spec.Services ?? []).Select(s => ServiceRegistration.ConfigFileDefinition(s, source, input.Token))],
            ConfigDirectory, DataDirectory, CaFile, CertificateFile, KeyFile));
        return new(StringComparer.Ordinal)
        {
            [ConfigFile] = config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n",
            [CaFile] = input.Ca,
            [CertificateFile] = input.Leaf.CertificatePem,
            [KeyFile] = input.Leaf.PrivateKeyPem,
            [EnvironmentFile] = Environment(),
            [UnitFile] = Unit(),
        };
    }

    /// <summary>A short digest of the files, so that configuration management can tell a changed bundle from the one it copied.</summary>
    public static string Hash(IReadOnlyDictionary<string, string> files)
    {
        var text = string.Concat(files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}\0{f.Value}\0"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>The bundle Secret, owned by the ConsulExternalAgent so that it goes with it.</summary>
    public static V1Secret Bundle(V1Alpha1ConsulExternalAgent agent, V1Alpha1ConsulCluster cluster, IReadOnlyDictionary<string, string> files)
    {
        var metadata = ObjectMetadata.For(cluster, ConsulExternalAgentValidator.SecretName(agent), Component);
        metadata.NamespaceProperty = agent.Metadata.NamespaceProperty;
        metadata.OwnerReferences = [ObjectMetadata.ControllerReference(V1Alpha1ConsulExternalAgent.KindName, agent.Metadata)];
        metadata.Annotations = new Dictionary<string, string> { [BundleHashAnnotation] = Hash(files) };
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = metadata,
            Type = "Opaque",
            Data = files.ToDictionary(f => f.Key, f => Encoding.UTF8.GetBytes(f.Value)),
        };
    }

    /// <summary>Whether a Secret is this agent's bundle (we never write into a Secret someone else made).</summary>
    public static bool IsOwnedBy(V1Secret secret, V1Alpha1ConsulExternalAgent agent) =>
        secret.Metadata.OwnerReferences?.Any(o => o.Kind == V1Alpha1ConsulExternalAgent.KindName && o.Uid == agent.Metadata.Uid) == true;

    /// <summary>The files of a bundle Secret by name.</summary>
    public static SortedDictionary<string, string> Read(V1Secret secret) =>
        new((secret.Data ?? new Dictionary<string, byte[]>()).ToDictionary(d => d.Key, d => Encoding.UTF8.GetString(d.Value)), StringComparer.Ordinal);

    // The consul CLI on the machine talks to its own agent over HTTPS on loopback, which the agent's certificate names.
    private static string Environment() =>
        $"CONSUL_HTTP_ADDR=https://127.0.0.1:{AgentConfig.HttpsPort}\n" +
        $"CONSUL_CACERT={ConfigDirectory}/{CaFile}\n" +
        $"CONSUL_CLIENT_CERT={ConfigDirectory}/{CertificateFile}\n" +
        $"CONSUL_CLIENT_KEY={ConfigDirectory}/{KeyFile}\n";

    // Consul tells systemd it is ready once it has joined the LAN pool (agent/agent.go JoinLAN notifies systemd.Ready),
    // hence Type=notify. Reload (SIGHUP) re-reads certificates and services; a new gossip key or join list needs no
    // reload, since a running agent keeps its keyring and membership. The process runs as the consul user that the
    // distribution packages create; consul.env is for the CLI, not for the agent.
    private static string Unit() =>
        $"""
        [Unit]
        Description=Consul agent (consul-operator bundle)
        Wants=network-online.target
        After=network-online.target
        ConditionFileNotEmpty={ConfigDirectory}/{ConfigFile}

        [Service]
        Type=notify
        User=consul
        Group=consul
        ExecStart=/usr/bin/consul agent -config-dir={ConfigDirectory}
        ExecReload=/bin/kill -HUP $MAINPID
        KillMode=process
        KillSignal=SIGTERM
        Restart=on-failure
        LimitNOFILE=65536

        [Install]
        WantedBy=multi-user.target

        """;

    private static V1ObjectMeta Owned(V1Alpha1ConsulExternalAgent agent, string name) => new()
    {
        Name = name,
        NamespaceProperty = agent.Metadata.NamespaceProperty,
        Labels = new Dictionary<string, string> { [Labels.ManagedBy] = Labels.OperatorName, [Labels.PartOf] = Labels.AppName },
        OwnerReferences = string.IsNullOrEmpty(agent.Metadata.Uid) ? null : [ObjectMetadata.ControllerReference(V1Alpha1ConsulExternalAgent.KindName, agent.Metadata)],
    };
}
