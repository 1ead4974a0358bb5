using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>The agents' StatefulSets and their configuration ConfigMaps.</summary>
public static class StatefulSets
{
    // The user and group of the hashicorp/consul image.
    private const long ConsulUserId = 100;
    private const long ConsulGroupId = 1000;

    private const string ConfigVolume = "config";
    private const string TlsVolume = "tls";
    private const string RunVolume = "run";
    private const string DataVolume = "data";

    public static V1ConfigMap ConfigMap(V1Alpha1ConsulCluster cluster, string component, JsonObject config) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = ObjectMetadata.For(cluster, component == Components.Server
            ? KeyMaterialSecrets.NamesOf(cluster).ServerConfigMap
            : KeyMaterialSecrets.NamesOf(cluster).ClientConfigMap, component),
        Data = new Dictionary<string, string> { [AgentConfig.ConfigFile] = Render(config) },
    };

    public static V1StatefulSet Servers(V1Alpha1ConsulCluster cluster, JsonObject config, int replicas)
    {
        var spec = cluster.Spec;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var set = Build(cluster, Components.Server, spec.Servers, replicas, spec.Servers.AntiAffinity, config,
            names.ServerConfigMap, KeyMaterialSecrets.ServerSlots, ownCertificates: true);

        // All servers start at once: bootstrap_expect waits for them all, and one at a time would wait forever for the second.
        set.Spec.PodManagementPolicy = "Parallel";
        var pod = set.Spec.Template.Spec;
        pod.InitContainers = [RecoveryInput.InitContainer(pod.Containers[0])];
        pod.Volumes.Add(RecoveryInput.Volume(names));
        set.Spec.PersistentVolumeClaimRetentionPolicy = new V1StatefulSetPersistentVolumeClaimRetentionPolicy
        {
            WhenDeleted = spec.Servers.Storage.WhenDeleted.ToString(),
            WhenScaled = spec.Servers.Storage.WhenScaled.ToString(),
        };
        set.Spec.VolumeClaimTemplates =
        [
            new V1PersistentVolumeClaim
            {
                ApiVersion = "v1",
                Kind = "PersistentVolumeClaim",
                Metadata = new V1ObjectMeta { Name = DataVolume, Labels = ObjectMetadata.SelectorLabels(cluster, Components.Server) },
                Spec = new V1PersistentVolumeClaimSpec
                {
                    AccessModes = ["ReadWriteOnce"],
                    StorageClassName = spec.Servers.Storage.StorageClassName,
                    Resources = new V1VolumeResourceRequirements
                    {
                        Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(spec.Servers.Storage.Size) },
                    },
                },
            },
        ];
        return set;
    }

    public static V1StatefulSet Clients(V1Alpha1ConsulCluster cluster, JsonObject config)
    {
        var spec = cluster.Spec;
        var ownCertificates = KeyMaterialSecrets.ClientsHaveOwnCertificates(spec);
        var set = Build(cluster, Components.Client, spec.Clients, spec.Clients.Replicas, spec.Clients.AntiAffinity, config,
            KeyMaterialSecrets.NamesOf(cluster).ClientConfigMap, ownCertificates ? KeyMaterialSecrets.ClientSlots(spec.Clients.Replicas) : 0, ownCertificates);
        set.Spec.PodManagementPolicy = "Parallel";
        set.Spec.Template.Spec.Volumes.Add(new V1Volume { Name = DataVolume, EmptyDir = new V1EmptyDirVolumeSource() });
        return set;
    }

    /// <summary>Consul's JSON exactly as it lands in the ConfigMap; its hash rolls the pods when it changes.</summary>
    public static string Render(JsonObject config) =>
        config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static V1StatefulSet Build(
        V1Alpha1ConsulCluster cluster, string component, AgentPodSpec pods, int replicas, AntiAffinity antiAffinity,
        JsonObject config, string configMapName, int certificateSlots, bool ownCertificates)
    {
        var spec = cluster.Spec;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var version = ConsulVersion.Parse(spec.Version);
        var selector = ObjectMetadata.SelectorLabels(cluster, component);
        var podLabels = new Dictionary<string, string>(selector) { [Labels.Version] = spec.Version, [Labels.ManagedBy] = Labels.OperatorName, [Labels.Agent] = "true" };
        var podConfig = AgentConfig.PodConfigTemplate(version, ownCertificates, spec.Gossip.Encryption);

        return new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = ObjectMetadata.For(cluster, names.StatefulSet(component), component),
            Spec = new V1StatefulSetSpec
            {
                Replicas = replicas,
                ServiceName = names.StatefulSet(component),
                Selector = new V1LabelSelector { MatchLabels = selector },
                // The operator replaces pods itself, one at a time and only while Consul is healthy (servers: leader last).
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "OnDelete" },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta
                    {
                        Labels = podLabels,
                        Annotations = new Dictionary<string, string>
                        {
                            [Labels.ConfigHashAnnotation] = Hash(Render(config) + Render(podConfig)),
                        },
                    },
                    Spec = new V1PodSpec
                    {
                        AutomountServiceAccountToken = false,
                        EnableServiceLinks = false,
                        TerminationGracePeriodSeconds = 30,
                        PriorityClassName = pods.PriorityClassName,
                        NodeSelector = pods.NodeSelector,
                        Tolerations = pods.Tolerations,
                        Affinity = Affinity(antiAffinity, selector),
                        SecurityContext = PodSecurity(),
                        Containers = [Container(cluster, component, pods, podConfig, ownCertificates)],
                        Volumes =
                        [
                            new V1Volume { Name = ConfigVolume, ConfigMap = new V1ConfigMapVolumeSource { Name = configMapName } },
                            new V1Volume { Name = TlsVolume, Projected = CertificateProjection(names, component, certificateSlots) },
                            new V1Volume { Name = RunVolume, EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity("1Mi") } },
                        ],
                    },
                },
            },
        };
    }

    private static V1Container Container(V1Alpha1ConsulCluster cluster, string component, AgentPodSpec pods, JsonObject podConfig, bool ownCertificates)
    {
        var spec = cluster.Spec;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var version = ConsulVersion.Parse(spec.Version);
        var env = new List<V1EnvVar>
        {
            new() { Name = AgentConfig.PodNameVariable, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
            new() { Name = AgentConfig.PodIpVariable, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },

            // For `kubectl exec ... consul members`: the CLI in the pod talks HTTPS with the pod's own certificate.
            new() { Name = "CONSUL_HTTP_ADDR", Value = $"https://127.0.0.1:{AgentConfig.HttpsPort}" },
            new() { Name = "CONSUL_CACERT", Value = AgentConfig.CaFile },
        };
        if (ownCertificates)
        {
            env.Add(new V1EnvVar { Name = "CONSUL_CLIENT_CERT", Value = $"{AgentConfig.TlsDirectory}/$({AgentConfig.PodNameVariable}).crt" });
            env.Add(new V1EnvVar { Name = "CONSUL_CLIENT_KEY", Value = $"{AgentConfig.TlsDirectory}/$({AgentConfig.PodNameVariable}).key" });
        }

        if (spec.Gossip.Encryption)
        {
            var gossipKey = AdoptedSecrets.GossipKey(cluster);
            env.Add(new V1EnvVar
            {
                Name = AgentConfig.GossipKeyVariable,
                ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = gossipKey.Secret, Key = gossipKey.Key } },
            });
        }

        var mounts = new List<V1VolumeMount>
        {
            new() { Name = ConfigVolume, MountPath = AgentConfig.ConfigDirectory, ReadOnlyProperty = true },
            new() { Name = TlsVolume, MountPath = AgentConfig.TlsDirectory, ReadOnlyProperty = true },
            new() { Name = RunVolume, MountPath = AgentConfig.RunDirectory },
            new() { Name = DataVolume, MountPath = AgentConfig.DataDirectory },
        };
        return new V1Container
        {
            Name = "consul",
            Image = spec.Image ?? $"hashicorp/consul:{spec.Version}",
            ImagePullPolicy = spec.ImagePullPolicy.ToString(),
            Command = ["/bin/sh", "-ec", StartScript(podConfig)],
            Env = env,
            Ports = [.. Services.AgentPorts(component == Components.Server, version)
                .Select(p => new V1ContainerPort { Name = p.Name, ContainerPort = p.Port, Protocol = p.Protocol })],
            Resources = pods.Resources,
            VolumeMounts = mounts,
            ReadinessProbe = new V1Probe
            {
                Exec = new V1ExecAction { Command = ["/bin/sh", "-ec", ReadinessScript(ownCertificates)] },
                InitialDelaySeconds = 5,
                PeriodSeconds = 5,
                TimeoutSeconds = 5,
                FailureThreshold = 2,
            },
            SecurityContext = ContainerSecurity(),
        };
    }

    /// <summary>Consul's own user and group, never root, with the runtime's default seccomp profile.</summary>
    internal static V1PodSecurityContext PodSecurity() => new()
    {
        RunAsNonRoot = true,
        RunAsUser = ConsulUserId,
        RunAsGroup = ConsulGroupId,
        FsGroup = ConsulGroupId,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    /// <summary>A read-only root filesystem, no privilege escalation, no capabilities.</summary>
    internal static V1SecurityContext ContainerSecurity() => new()
    {
        AllowPrivilegeEscalation = false,
        ReadOnlyRootFilesystem = true,
        RunAsNonRoot = true,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
    };

    // The image's entrypoint switches users and so needs root; starting consul directly lets the pod run as non-root.
    // No agent token is mounted: a StatefulSet's pods share one template, so any Secret one pod mounts, all of them do.
    // The operator hands each agent its own token through the agent API instead (acl.enable_token_persistence keeps it).
    private static string StartScript(JsonObject podConfig) =>
        $"""
        cat > {AgentConfig.PodConfigFile} <<EOF
        {podConfig.ToJsonString()}
        EOF
        exec consul agent -config-dir={AgentConfig.ConfigDirectory} -config-file={AgentConfig.PodConfigFile} -node="${AgentConfig.PodNameVariable}" -advertise="${AgentConfig.PodIpVariable}"
        """;

    // Ready only once the agent knows a leader: a server without one cannot serve, and a rolling update must not move on.
    // An auto-encrypt client serves HTTPS with a certificate from Consul's Connect CA, which our CA bundle cannot verify;
    // the probe talks to its own loopback only, so skipping verification there gives nothing away.
    private static string ReadinessScript(bool ownCertificates) => ownCertificates
        ? """curl -sf --cacert "$CONSUL_CACERT" --cert "$CONSUL_CLIENT_CERT" --key "$CONSUL_CLIENT_KEY" "$CONSUL_HTTP_ADDR/v1/status/leader" | grep -E '".+"'"""
        : """curl -sfk "$CONSUL_HTTP_ADDR/v1/status/leader" | grep -E '".+"'""";

    private static V1ProjectedVolumeSource CertificateProjection(Names names, string component, int slots)
    {
        var sources = new List<V1VolumeProjection>
        {
            new()
            {
                ConfigMap = new V1ConfigMapProjection
                {
                    Name = names.CaCertificateConfigMap,
                    Items = [new V1KeyToPath { Key = KeyMaterialSecrets.CaCertificateKey, Path = "ca.crt" }],
                },
            },
        };

        // Every ordinal's Secret is listed, optional, so a pod finds its own by name and scaling leaves the template alone.
        for (var i = 0; i < slots; i++)
        {
            var pod = names.Pod(component, i);
            sources.Add(new V1VolumeProjection
            {
                Secret = new V1SecretProjection
                {
                    Name = names.PodSecret(component, i),
                    Optional = true,
                    Items =
                    [
                        new V1KeyToPath { Key = KeyMaterialSecrets.CertificateKey, Path = $"{pod}.crt" },
                        new V1KeyToPath { Key = KeyMaterialSecrets.PrivateKeyKey, Path = $"{pod}.key" },
                    ],
                },
            });
        }

        // Group-readable: the files belong to root and the pod's fsGroup, and Consul runs in that group.
        return new V1ProjectedVolumeSource { DefaultMode = Convert.ToInt32("440", 8), Sources = sources };
    }

    private static V1Affinity? Affinity(AntiAffinity antiAffinity, Dictionary<string, string> selector)
    {
        var term = new V1PodAffinityTerm { LabelSelector = new V1LabelSelector { MatchLabels = selector }, TopologyKey = "kubernetes.io/hostname" };
        return antiAffinity switch
        {
            AntiAffinity.Required => new V1Affinity { PodAntiAffinity = new V1PodAntiAffinity { RequiredDuringSchedulingIgnoredDuringExecution = [term] } },
            AntiAffinity.Preferred => new V1Affinity
            {
                PodAntiAffinity = new V1PodAntiAffinity
                {
                    PreferredDuringSchedulingIgnoredDuringExecution = [new V1WeightedPodAffinityTerm { Weight = 100, PodAffinityTerm = term }],
                },
            },
            _ => null,
        };
    }
}
