using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Runtime;

public sealed class RestoreProgressTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_oldest_waiting_restore_of_a_cluster_with_a_leader_creates_its_job_and_the_others_wait()
    {
        var cluster = Cluster();
        var first = Restore("first", Now.AddMinutes(-2));
        var second = Restore("second", Now.AddMinutes(-1));

        var go = RestoreProgress.Decide(first, cluster, null, null, [first, second], [], Now);
        var wait = RestoreProgress.Decide(second, cluster, null, null, [first, second], [], Now);

        Assert.True(go.CreateJob);
        Assert.Equal((RestorePhase.Inspecting, "first-restore"), (go.Status.Phase, go.Status.JobName));
        Assert.False(wait.CreateJob);
        Assert.Equal("waiting for ConsulSnapshotRestore first, created earlier for consul", wait.Status.Message);
    }

    [Fact]
    public void Nothing_starts_without_the_cluster_its_snapshots_or_a_leader()
    {
        var restore = Restore("r", Now);

        Assert.Contains("does not exist", RestoreProgress.Decide(restore, null, null, null, [restore], [], Now).Status.Message, StringComparison.Ordinal);
        Assert.Contains("spec.snapshots.enabled", RestoreProgress.Decide(restore, Cluster(snapshots: false), null, null, [restore], [], Now).Status.Message, StringComparison.Ordinal);
        var leaderless = Cluster();
        leaderless.Status!.Leader = null;
        var step = RestoreProgress.Decide(restore, leaderless, null, null, [restore], [], Now);
        Assert.Equal((RestorePhase.Pending, false), (step.Status.Phase, step.CreateJob));
    }

    [Fact]
    public void A_finished_restore_stays_finished_and_a_job_gone_mid_restore_is_a_failure_never_a_second_run()
    {
        var done = Restore("r", Now);
        done.Status = new ConsulSnapshotRestoreStatus { Phase = RestorePhase.Succeeded, JobName = "r-restore" };
        Assert.False(RestoreProgress.Decide(done, Cluster(), null, null, [done], [], Now).CreateJob);

        var started = Restore("r", Now);
        started.Status = new ConsulSnapshotRestoreStatus { Phase = RestorePhase.Restoring, JobName = "r-restore" };
        var step = RestoreProgress.Decide(started, Cluster(), null, null, [started], [], Now);
        Assert.False(step.CreateJob);
        Assert.Equal(RestorePhase.Failed, step.Status.Phase);
        Assert.StartsWith("Job r-restore is gone before it finished", step.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_job_that_ended_waits_for_its_pods_report_and_then_reads_index_term_and_acl_warnings()
    {
        var cluster = Cluster();
        var restore = Restore("r", Now);
        restore.Status = new ConsulSnapshotRestoreStatus { Phase = RestorePhase.Inspecting, JobName = "r-restore" };
        var job = Job(complete: true);
        var taken = Now.AddHours(-1);
        var inspected = $"File consul-20261204T020000Z.snap\nOrigin {{\"datacenter\":\"dc1\",\"cluster\":\"{cluster.Metadata.Uid}\"}}\nID           2-42-{taken.ToUnixTimeMilliseconds()}\nSize         100\nIndex        42\nTerm         2\nVersion      1\n";

        var early = RestoreProgress.Decide(restore, cluster, job, Pod(inspected, null), [restore], [], Now);
        Assert.Equal(RestorePhase.Inspecting, early.Status.Phase);

        var newer = new V1Secret { Metadata = new V1ObjectMeta { Name = "consul-client-2-acl-token", CreationTimestamp = Now.AddMinutes(-5).UtcDateTime } };
        var older = new V1Secret { Metadata = new V1ObjectMeta { Name = "consul-acl-operator", CreationTimestamp = Now.AddDays(-1).UtcDateTime } };
        var done = RestoreProgress.Decide(restore, cluster, job, Pod(inspected, "Restored snapshot"), [restore], [newer, older], Now);
        Assert.Equal(RestorePhase.Succeeded, done.Status.Phase);
        Assert.Equal((42L, 2L, "consul-20261204T020000Z.snap"), (done.Status.Index!.Value, done.Status.Term!.Value, done.Status.Snapshot!));
        Assert.Equal("restored consul-20261204T020000Z.snap (index 42, term 2): Restored snapshot", done.Status.Message);
        Assert.Contains("before the tokens in Secrets consul-client-2-acl-token were made", Assert.Single(done.Status.Warnings!), StringComparison.Ordinal);

        var foreign = inspected.Replace(cluster.Metadata.Uid, "another-uid", StringComparison.Ordinal);
        var elsewhere = RestoreProgress.Decide(restore, cluster, job, Pod(foreign, "Restored snapshot"), [restore], [], Now);
        Assert.Contains("was not taken by ConsulCluster consul", Assert.Single(elsewhere.Status.Warnings!), StringComparison.Ordinal);
    }

    private static V1Alpha1ConsulCluster Cluster(bool snapshots = true)
    {
        var cluster = Clusters.Default(change: s => s.Snapshots.Enabled = snapshots);
        cluster.Status = new ConsulClusterStatus { Leader = "consul-server-0" };
        return cluster;
    }

    private static V1Alpha1ConsulSnapshotRestore Restore(string name, DateTimeOffset created) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "consul", Uid = $"uid-{name}", CreationTimestamp = created.UtcDateTime, Generation = 1 },
        Spec = new ConsulSnapshotRestoreSpec { ClusterRef = new ClusterReference { Name = "consul" }, Snapshot = "latest" },
    };

    private static V1Job Job(bool complete) => new()
    {
        Metadata = new V1ObjectMeta { Name = "r-restore", CreationTimestamp = Now.UtcDateTime },
        Status = new V1JobStatus { Conditions = complete ? [new V1JobCondition { Type = "Complete", Status = "True" }] : null },
    };

    private static V1Pod Pod(string inspectReport, string? restoreReport) => new()
    {
        Status = new V1PodStatus
        {
            InitContainerStatuses = [new V1ContainerStatus { Name = SnapshotRestores.InspectContainer, State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 0, Message = inspectReport } } }],
            ContainerStatuses = restoreReport is null ? [] : [new V1ContainerStatus { Name = SnapshotRestores.RestoreContainer, State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 0, Message = restoreReport } } }],
        },
    };
}
