using System.ComponentModel.DataAnnotations;
using k8s;
using k8s.Models;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>
/// A restore of a ConsulCluster's raft state from one of its snapshots: a Job inspects the file, checks that it comes from
/// the cluster's datacenter, and restores it through the servers' HTTPS API. It runs once: a finished restore is never
/// run again, and one cluster restores one snapshot at a time.
/// </summary>
[KubernetesEntity(Group = ApiGroup.Name, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
public sealed class V1Alpha1ConsulSnapshotRestore : IKubernetesObject<V1ObjectMeta>, ISpec<ConsulSnapshotRestoreSpec>, IStatus<ConsulSnapshotRestoreStatus?>
{
    public const string KindName = "ConsulSnapshotRestore";
    public const string Plural = "consulsnapshotrestores";

    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The snapshot to restore, and into which cluster.</summary>
    public ConsulSnapshotRestoreSpec Spec { get; set; } = new();

    /// <summary>Where the restore stands.</summary>
    public ConsulSnapshotRestoreStatus? Status { get; set; }
}

/// <summary>The snapshot to restore, and into which cluster. Neither changes after creation: a new restore is a new object.</summary>
public sealed class ConsulSnapshotRestoreSpec
{
    /// <summary>The ConsulCluster in this namespace to restore into; its snapshot volume holds the file.</summary>
    [Required, Immutable]
    public ClusterReference ClusterRef { get; set; } = new();

    /// <summary>A file name on the cluster's snapshot volume (consul-20261203T060000Z.snap), or "latest" for the newest the CronJob saved.</summary>
    [Required, Immutable, RegularExpression(Patterns.SnapshotFile), AtMost(253)]
    public string Snapshot { get; set; } = "";
}

public enum RestorePhase
{
    /// <summary>Not started: waiting for the cluster, a leader, or another restore of the same cluster.</summary>
    Pending,

    /// <summary>The Job reads the file and checks where it comes from.</summary>
    Inspecting,

    /// <summary>The file passed; the Job restores it.</summary>
    Restoring,

    Succeeded,

    /// <summary>Refused or failed; never run again.</summary>
    Failed,
}

/// <summary>Where the restore stands, and what the snapshot held.</summary>
public sealed class ConsulSnapshotRestoreStatus
{
    public long? ObservedGeneration { get; set; }

    public RestorePhase Phase { get; set; }

    /// <summary>What is happening, or what went wrong and what the human may do.</summary>
    public string? Message { get; set; }

    /// <summary>The Job that runs the restore, once created.</summary>
    public string? JobName { get; set; }

    /// <summary>The file restored (what "latest" resolved to).</summary>
    public string? Snapshot { get; set; }

    /// <summary>The snapshot's raft ID (term-index-milliseconds), index and term, as consul snapshot inspect reads them.</summary>
    public string? SnapshotId { get; set; }

    public long? Index { get; set; }

    public long? Term { get; set; }

    /// <summary>What the restore will change beyond the data: ACL tokens the operator's Secrets hold that the snapshot predates or lacks.</summary>
    public List<string>? Warnings { get; set; }

    public DateTime? StartTime { get; set; }

    public DateTime? CompletionTime { get; set; }
}
