using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using k8s;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// Scheduled snapshots: a CronJob that runs <c>consul snapshot save</c> against the servers over HTTPS with the CLI
/// certificate, writes the file under a temporary name and renames it when complete, then keeps only the newest ones.
/// </summary>
public static class Snapshots
{
    private const string TlsDirectory = "/consul/tls";

    public static IEnumerable<IKubernetesObject<V1ObjectMeta>> Build(V1Alpha1ConsulCluster cluster) =>
        cluster.Spec.Snapshots.Enabled ? [Claim(cluster), CronJob(cluster)] : [];

    /// <summary>The volume the snapshots live on. No owner reference: deleting the cluster must not delete its backups.</summary>
    public static V1PersistentVolumeClaim Claim(V1Alpha1ConsulCluster cluster)
    {
        var metadata = ObjectMetadata.For(cluster, KeyMaterialSecrets.NamesOf(cluster).SnapshotClaim, Components.Snapshot);
        metadata.OwnerReferences = null;
        return new V1PersistentVolumeClaim
        {
            ApiVersion = "v1",
            Kind = "PersistentVolumeClaim",
            Metadata = metadata,
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                StorageClassName = cluster.Spec.Snapshots.StorageClassName,
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(cluster.Spec.Snapshots.Size) } },
            },
        };
    }

    public static V1CronJob CronJob(V1Alpha1ConsulCluster cluster)
    {
        var spec = cluster.Spec;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var podSpec = CliPod(cluster, "OnFailure", [], CliContainer(cluster, "snapshot", Script, new V1EnvVar { Name = "RETAIN", Value = spec.Snapshots.Retain.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        return new V1CronJob
        {
            ApiVersion = "batch/v1",
            Kind = "CronJob",
            Metadata = ObjectMetadata.For(cluster, names.SnapshotCronJob, Components.Snapshot),
            Spec = new V1CronJobSpec
            {
                Schedule = spec.Snapshots.Schedule,
                TimeZone = "Etc/UTC",
                ConcurrencyPolicy = "Forbid",
                SuccessfulJobsHistoryLimit = 3,
                FailedJobsHistoryLimit = 3,
                JobTemplate = new V1JobTemplateSpec
                {
                    Spec = new V1JobSpec
                    {
                        BackoffLimit = 2,
                        Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = ObjectMetadata.SelectorLabels(cluster, Components.Snapshot) }, Spec = podSpec },
                    },
                },
            },
        };
    }

    /// <summary>
    /// A consul CLI container toward the servers: HTTPS with the CLI certificate, the management token (Consul lets only
    /// it take or restore a snapshot), the snapshot volume at /snapshots, and the cluster's datacenter and UID, which
    /// the CronJob writes beside each snapshot and a restore checks.
    /// </summary>
    internal static V1Container CliContainer(V1Alpha1ConsulCluster cluster, string name, string script, params V1EnvVar[] extra)
    {
        var spec = cluster.Spec;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var env = new List<V1EnvVar>
        {
            new() { Name = "CONSUL_HTTP_ADDR", Value = $"https://{names.Servers}.{names.Namespace}.svc.{names.ClusterDomain}:{AgentConfig.HttpsPort}" },
            new() { Name = "CONSUL_TLS_SERVER_NAME", Value = LeafRequest.NameFor(CertificateRole.Server, spec.Datacenter, spec.Domain) },
            new() { Name = "CONSUL_CACERT", Value = $"{TlsDirectory}/{KeyMaterialSecrets.CaCertificateKey}" },
            new() { Name = "CONSUL_CLIENT_CERT", Value = $"{TlsDirectory}/{KeyMaterialSecrets.CertificateKey}" },
            new() { Name = "CONSUL_CLIENT_KEY", Value = $"{TlsDirectory}/{KeyMaterialSecrets.PrivateKeyKey}" },
            new() { Name = "DATACENTER", Value = spec.Datacenter },
            new() { Name = "CLUSTER_UID", Value = cluster.Metadata.Uid ?? "" },
        };
        if (spec.Acl.Enabled)
        {
            var token = AdoptedSecrets.ManagementToken(cluster);
            env.Add(new V1EnvVar
            {
                Name = "CONSUL_HTTP_TOKEN",
                ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = token.Secret, Key = token.Key } },
            });
        }

        return new V1Container
        {
            Name = name,
            Image = spec.Image ?? $"hashicorp/consul:{spec.Version}",
            ImagePullPolicy = spec.ImagePullPolicy.ToString(),
            Command = ["/bin/sh", "-ec", script],
            Env = [.. env, .. extra],
            VolumeMounts =
            [
                new V1VolumeMount { Name = "tls", MountPath = TlsDirectory, ReadOnlyProperty = true },
                new V1VolumeMount { Name = "snapshots", MountPath = SnapshotDirectory },
                new V1VolumeMount { Name = "work", MountPath = WorkDirectory },
            ],
            SecurityContext = StatefulSets.ContainerSecurity(),

            // A failure that set -e ends before the script wrote its own message still reports what the CLI said.
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }

    /// <summary>The pod for CLI containers: the CLI certificate, the snapshot volume, and a scratch directory (the root file system is read-only).</summary>
    internal static V1PodSpec CliPod(V1Alpha1ConsulCluster cluster, string restartPolicy, List<V1Container> init, V1Container main)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        return new V1PodSpec
        {
            RestartPolicy = restartPolicy,
            AutomountServiceAccountToken = false,
            EnableServiceLinks = false,
            SecurityContext = StatefulSets.PodSecurity(),
            InitContainers = init.Count == 0 ? null : init,
            Containers = [main],
            Volumes =
            [
                new V1Volume { Name = "tls", Secret = new V1SecretVolumeSource { SecretName = names.CliSecret, DefaultMode = Convert.ToInt32("440", 8) } },
                new V1Volume { Name = "snapshots", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = names.SnapshotClaim } },
                new V1Volume { Name = "work", EmptyDir = new V1EmptyDirVolumeSource() },
            ],
        };
    }

    internal const string SnapshotDirectory = "/snapshots";
    internal const string WorkDirectory = "/work";

    /// <summary>What each snapshot's <c>&lt;file&gt;.json</c> holds: where it was taken, which a restore checks.</summary>
    public const string OriginSuffix = ".json";

    // A half-written file never counts as a snapshot: it is saved under .partial and renamed when complete. Beside it
    // goes <file>.json with the datacenter and cluster it was taken in (consul snapshot inspect cannot tell), written
    // first so that no snapshot is ever without one. Names sort by time, so the newest RETAIN files are the first RETAIN
    // in reverse order.
    private const string Script = """
        name="consul-$(date -u +%Y%m%dT%H%M%SZ).snap"
        printf '{"datacenter":"%s","cluster":"%s"}\n' "$DATACENTER" "$CLUSTER_UID" > "/snapshots/$name.json"
        consul snapshot save "/snapshots/$name.partial" || { rm -f "/snapshots/$name.json" "/snapshots/$name.partial"; exit 1; }
        mv "/snapshots/$name.partial" "/snapshots/$name"
        ls -1 /snapshots | grep -E '^consul-[0-9TZ]+\.snap$' | sort -r | tail -n +"$((RETAIN + 1))" | while read -r old; do rm -f -- "/snapshots/$old" "/snapshots/$old.json"; done
        echo "saved /snapshots/$name; kept the newest $RETAIN"
        """;
}
