using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// The Job of a ConsulSnapshotRestore. Its init container finds the file ("latest": the newest the CronJob saved),
/// refuses one whose <c>&lt;file&gt;.json</c> names another datacenter (or that has none), and reads it with
/// <c>consul snapshot inspect</c>; its container runs <c>consul snapshot restore</c>. Each reports through its
/// termination message (key, space, value per line), which the operator reads from the pod's status. Never retried:
/// a restore runs once.
/// </summary>
public static class SnapshotRestores
{
    /// <summary>Carried by the Job and its pod: which restore they run.</summary>
    public const string RestoreLabel = "consul.operator.dev/restore";

    public const string Component = "snapshot-restore";
    public const string InspectContainer = "inspect";
    public const string RestoreContainer = "restore";

    public static string JobName(V1Alpha1ConsulSnapshotRestore restore) => $"{restore.Metadata.Name}-restore";

    public static V1Job Job(V1Alpha1ConsulSnapshotRestore restore, V1Alpha1ConsulCluster cluster)
    {
        var metadata = ObjectMetadata.For(cluster, JobName(restore), Component);
        metadata.Labels[RestoreLabel] = restore.Metadata.Name;
        metadata.OwnerReferences = [ObjectMetadata.ControllerReference(V1Alpha1ConsulSnapshotRestore.KindName, restore.Metadata)];
        var snapshot = new V1EnvVar { Name = "SNAPSHOT", Value = restore.Spec.Snapshot };
        var podLabels = new Dictionary<string, string>(ObjectMetadata.SelectorLabels(cluster, Component))
        {
            [Labels.ManagedBy] = Labels.OperatorName,
            [RestoreLabel] = restore.Metadata.Name,
        };
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = metadata,
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = podLabels },
                    Spec = Snapshots.CliPod(cluster, "Never", [Snapshots.CliContainer(cluster, InspectContainer, InspectScript, snapshot)], Snapshots.CliContainer(cluster, RestoreContainer, RestoreScript)),
                },
            },
        };
    }

    // The file, its origin and its raft metadata, or why not; the answer goes to the termination message and the log.
    private const string InspectScript = """
        report() { printf '%s\n' "$1" > /dev/termination-log; printf '%s\n' "$1"; }
        if [ "$SNAPSHOT" = latest ]; then
          file=$(ls -1 /snapshots | grep -E '^consul-[0-9TZ]+\.snap$' | sort -r | head -n 1 || true)
          [ -n "$file" ] || { report "Refused no snapshot on the volume yet"; exit 1; }
        else
          file=$SNAPSHOT
        fi
        [ -f "/snapshots/$file" ] || { report "Refused no file $file on the snapshot volume"; exit 1; }
        [ -f "/snapshots/$file.json" ] || { report "Refused $file has no $file.json saying which datacenter it was taken in (the CronJob writes one); to restore a file from elsewhere, write {\"datacenter\":\"$DATACENTER\"} there"; exit 1; }
        origin=$(tr -d ' \n' < "/snapshots/$file.json")
        case "$origin" in
          *"\"datacenter\":\"$DATACENTER\""*) ;;
          *) report "Refused $file was taken in another datacenter ($origin), not $DATACENTER"; exit 1 ;;
        esac
        inspected=$(consul snapshot inspect "/snapshots/$file")
        printf '%s\n' "$file" > /work/file
        report "File $file
        Origin $origin
        $inspected"
        """;

    private const string RestoreScript = """
        file=$(cat /work/file)
        if said=$(consul snapshot restore "/snapshots/$file" 2>&1); then
          printf '%s\n' "$said" | tee /dev/termination-log
        else
          printf '%s\n' "$said" | tee /dev/termination-log
          exit 1
        fi
        """;
}
