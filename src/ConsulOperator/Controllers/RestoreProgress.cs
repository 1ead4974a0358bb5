using System.Globalization;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using k8s.Models;

namespace ConsulOperator.Controllers;

/// <summary>What a ConsulSnapshotRestore should show, and whether its Job is to be created now.</summary>
public sealed record RestoreStep(ConsulSnapshotRestoreStatus Status, bool CreateJob);

/// <summary>
/// Where a restore stands, decided from what Kubernetes shows: the restore, its cluster, its Job and the Job's pod (whose
/// containers report through their termination messages), and the cluster's other restores. Pure, so that every branch
/// is tested without a server; resumable, since everything it reads outlives an operator restart. A restore that
/// finished stays finished, and a Job is created only under a name nothing else uses, once.
/// </summary>
public static class RestoreProgress
{
    public static RestoreStep Decide(
        V1Alpha1ConsulSnapshotRestore restore, V1Alpha1ConsulCluster? cluster, V1Job? job, V1Pod? pod,
        IEnumerable<V1Alpha1ConsulSnapshotRestore> others, IEnumerable<V1Secret> aclSecrets, DateTimeOffset now)
    {
        var status = ObjectWrites.DeepCopy(restore.Status ?? new ConsulSnapshotRestoreStatus());
        status.ObservedGeneration = restore.Metadata.Generation;
        if (status.Phase is RestorePhase.Succeeded or RestorePhase.Failed)
        {
            return new RestoreStep(status, false);
        }

        RestoreStep Step(RestorePhase phase, string message, bool create = false)
        {
            status.Phase = phase;
            status.Message = message;
            if (phase is RestorePhase.Succeeded or RestorePhase.Failed)
            {
                status.CompletionTime ??= now.UtcDateTime;
            }

            return new RestoreStep(status, create);
        }

        if (ConsulSnapshotRestoreValidator.Validate(restore) is { Count: > 0 } problems)
        {
            return Step(RestorePhase.Failed, $"invalid: {string.Join("; ", problems)}");
        }

        var clusterName = restore.Spec.ClusterRef.Name;
        if (job is null)
        {
            if (status.JobName is { } gone)
            {
                return Step(RestorePhase.Failed, $"Job {gone} is gone before it finished, so whether the snapshot was restored is unknown; check the data, and create a new ConsulSnapshotRestore to try again");
            }

            if (cluster is null)
            {
                return Step(RestorePhase.Pending, $"waiting for ConsulCluster {clusterName}, which does not exist");
            }

            if (!cluster.Spec.Snapshots.Enabled)
            {
                return Step(RestorePhase.Pending, $"waiting for spec.snapshots.enabled on ConsulCluster {clusterName}: the restore reads its snapshot volume");
            }

            if (cluster.Status?.Leader is null)
            {
                return Step(RestorePhase.Pending, $"waiting for ConsulCluster {clusterName} to have a raft leader: a restore goes through it");
            }

            // One restore per cluster at a time: the one running, else the oldest waiting goes first.
            var mine = others.Where(o => o.Spec.ClusterRef.Name == clusterName && o.Metadata.Uid != restore.Metadata.Uid && o.Status?.Phase is not (RestorePhase.Succeeded or RestorePhase.Failed)).ToList();
            if (mine.FirstOrDefault(o => o.Status?.JobName is not null) is { } running)
            {
                return Step(RestorePhase.Pending, $"waiting for ConsulSnapshotRestore {running.Metadata.Name}, which restores into {clusterName} now");
            }

            if (mine.Where(o => Order(o).CompareTo(Order(restore)) < 0).MinBy(Order) is { } earlier)
            {
                return Step(RestorePhase.Pending, $"waiting for ConsulSnapshotRestore {earlier.Metadata.Name}, created earlier for {clusterName}");
            }

            status.JobName = SnapshotRestores.JobName(restore);
            status.StartTime = now.UtcDateTime;
            return Step(RestorePhase.Inspecting, $"Job {status.JobName} reads {restore.Spec.Snapshot} and checks where it was taken", create: true);
        }

        status.JobName = job.Metadata.Name;
        status.StartTime ??= job.Metadata.CreationTimestamp;
        var inspect = Terminated(pod, SnapshotRestores.InspectContainer, init: true);
        if (inspect is { ExitCode: not 0 } refused)
        {
            return Step(RestorePhase.Failed, $"refused: {Said(refused, "Refused")}; nothing was restored");
        }

        if (inspect is not null)
        {
            Record(status, Report(inspect.Message), cluster, aclSecrets);
        }

        // The Job's end and its pod's statuses come through two watches: the outcome waits for the pod's report.
        var restored = Terminated(pod, SnapshotRestores.RestoreContainer, init: false);
        var finished = Condition(job, "Complete") || Condition(job, "Failed");
        if (finished && (inspect is null || restored is null))
        {
            return Step(status.Phase is RestorePhase.Pending ? RestorePhase.Inspecting : status.Phase, $"Job {job.Metadata.Name} has ended; reading its pod's report");
        }

        if (Condition(job, "Complete"))
        {
            return Step(RestorePhase.Succeeded, $"restored {status.Snapshot} (index {status.Index}, term {status.Term}): {Said(restored, null)}");
        }

        if (Condition(job, "Failed"))
        {
            return Step(RestorePhase.Failed, $"the restore of {status.Snapshot ?? restore.Spec.Snapshot} failed: {Said(restored, null)}; Consul keeps its state as it was unless the message says otherwise");
        }

        return inspect is null
            ? Step(RestorePhase.Inspecting, $"Job {job.Metadata.Name} reads {restore.Spec.Snapshot} and checks where it was taken")
            : Step(RestorePhase.Restoring, $"restoring {status.Snapshot} (index {status.Index}, term {status.Term}) through the servers' HTTPS API");
    }

    private static (DateTime, string) Order(V1Alpha1ConsulSnapshotRestore restore) => (restore.Metadata.CreationTimestamp ?? DateTime.MaxValue, restore.Metadata.Name);

    private static bool Condition(V1Job job, string type) => job.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True") == true;

    private static V1ContainerStateTerminated? Terminated(V1Pod? pod, string container, bool init) =>
        (init ? pod?.Status?.InitContainerStatuses : pod?.Status?.ContainerStatuses)?.FirstOrDefault(s => s.Name == container)?.State?.Terminated;

    // The termination message: "Key value" per line (inspect's own lines included).
    private static Dictionary<string, string> Report(string? message) =>
        (message ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)
            .Select(l => l.IndexOfAny([' ', '\t']) is var space and > 0 ? (l[..space], l[space..].Trim()) : (l, ""))
            .GroupBy(p => p.Item1).ToDictionary(g => g.Key, g => g.First().Item2);

    private static string Said(V1ContainerStateTerminated? terminated, string? key) =>
        terminated is null ? "no report"
        : key is not null && Report(terminated.Message).TryGetValue(key, out var value) ? value
        : (terminated.Message ?? "").Trim() is { Length: > 0 } message ? message.ReplaceLineEndings("; ")
        : $"exit code {terminated.ExitCode}";

    private static void Record(ConsulSnapshotRestoreStatus status, Dictionary<string, string> report, V1Alpha1ConsulCluster? cluster, IEnumerable<V1Secret> aclSecrets)
    {
        status.Snapshot = report.GetValueOrDefault("File");
        status.SnapshotId = report.GetValueOrDefault("ID");
        status.Index = long.TryParse(report.GetValueOrDefault("Index"), CultureInfo.InvariantCulture, out var index) ? index : null;
        status.Term = long.TryParse(report.GetValueOrDefault("Term"), CultureInfo.InvariantCulture, out var term) ? term : null;
        status.Warnings = cluster?.Spec.Acl.Enabled == true ? AclWarnings(report.GetValueOrDefault("Origin") ?? "", status.SnapshotId, cluster, aclSecrets) : null;
    }

    /// <summary>
    /// A restore puts the snapshot's ACL tokens in place of Consul's. Tokens the operator keeps in Secrets survive it only
    /// if the snapshot has them: not when it comes from another cluster, nor for tokens made after it was taken.
    /// </summary>
    private static List<string>? AclWarnings(string origin, string? snapshotId, V1Alpha1ConsulCluster cluster, IEnumerable<V1Secret> aclSecrets)
    {
        if (!origin.Contains($"\"cluster\":\"{cluster.Metadata.Uid}\"", StringComparison.Ordinal))
        {
            return [$"the snapshot was not taken by ConsulCluster {cluster.Metadata.Name} ({origin}): its ACL tokens replace this cluster's, so the tokens in this cluster's Secrets " +
                "(the -acl-bootstrap, -acl-operator, -acl-metrics and -acl-token Secrets) will not be known to Consul; copy the source cluster's Secrets of those names here (see docs/operations.md, \"Snapshots and restore\")"];
        }

        // raft's snapshot ID is term-index-milliseconds since the epoch.
        if (snapshotId?.Split('-') is not [_, _, var millis] || !long.TryParse(millis, CultureInfo.InvariantCulture, out var ms))
        {
            return null;
        }

        var taken = DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;
        var newer = aclSecrets.Where(s => s.Metadata.CreationTimestamp > taken).Select(s => s.Metadata.Name).Order(StringComparer.Ordinal).ToList();
        return newer.Count == 0 ? null :
            [$"the snapshot was taken at {taken:yyyy-MM-ddTHH:mm:ssZ}, before the tokens in Secrets {string.Join(", ", newer)} were made: Consul will not know them after the restore"];
    }
}
