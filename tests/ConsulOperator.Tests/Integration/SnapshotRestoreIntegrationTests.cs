using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>
/// ConsulSnapshotRestore end to end: the operator's Job runs in a shell with the simulated consul CLI against the
/// simulated servers, on the snapshot volume the CronJob's script filled.
/// </summary>
public sealed class SnapshotRestoreIntegrationTests() : IntegrationTest(replicas: 2)
{
    [Fact]
    public async Task The_latest_snapshot_rolls_a_key_back_reports_index_and_term_and_never_runs_again()
    {
        var dc = await ClusterWithSnapshotAsync("the good value");
        dc.WriteKey("app/config", "a bad write");

        Harness.Create(Restore("undo-bad-write", "latest"));
        var done = await WaitForPhaseAsync("undo-bad-write", RestorePhase.Succeeded);

        Assert.Equal("the good value", dc.ReadKey("app/config"));
        Assert.Matches(@"^consul-\d{8}T\d{6}Z\.snap$", done.Status!.Snapshot);
        Assert.True(done.Status.Index > 0);
        Assert.Equal(2, done.Status.Term);
        Assert.Matches(@"^2-\d+-\d+$", done.Status.SnapshotId);
        Assert.Null(done.Status.Warnings);
        Assert.Equal("undo-bad-write-restore", done.Status.JobName);
        Assert.Contains("Restored snapshot", done.Status.Message, StringComparison.Ordinal);
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "RestoreSucceeded");

        // Finished is finished: touched again, the restore runs nothing, and the key written since stays.
        dc.WriteKey("app/config", "written after the restore");
        Harness.Edit<V1Alpha1ConsulSnapshotRestore>("undo-bad-write", r => r.Metadata.Annotations = new Dictionary<string, string> { ["touched"] = "yes" });
        await Harness.WaitForReconcilesAsync(3, "looking at the finished restore again");
        Assert.Equal(1, Harness.Consul.Jobs.PodsStarted);
        Assert.Equal("written after the restore", dc.ReadKey("app/config"));
        Assert.Equal(RestorePhase.Succeeded, Get("undo-bad-write").Status!.Phase);
    }

    [Fact]
    public async Task A_snapshot_from_another_datacenter_or_of_unknown_origin_or_missing_is_refused_and_nothing_is_restored()
    {
        var dc = await ClusterWithSnapshotAsync("the good value");
        dc.WriteKey("app/config", "the current value");
        var volume = Harness.Consul.ClaimDirectory("consul", "consul-snapshots");
        var saved = Directory.GetFiles(volume, "consul-*.snap").Single();
        File.Copy(saved, Path.Combine(volume, "from-dc2.snap"));
        await File.WriteAllTextAsync(Path.Combine(volume, "from-dc2.snap.json"), "{\"datacenter\": \"dc2\"}\n");
        File.Copy(saved, Path.Combine(volume, "copied-by-hand.snap"));

        Harness.Create(Restore("from-dc2", "from-dc2.snap"));
        Harness.Create(Restore("unknown-origin", "copied-by-hand.snap"));
        Harness.Create(Restore("missing", "consul-19990101T000000Z.snap"));

        Assert.Contains("from-dc2.snap was taken in another datacenter ({\"datacenter\":\"dc2\"}), not dc1; nothing was restored", (await WaitForPhaseAsync("from-dc2", RestorePhase.Failed)).Status!.Message, StringComparison.Ordinal);
        Assert.Contains("copied-by-hand.snap has no copied-by-hand.snap.json saying which datacenter it was taken in", (await WaitForPhaseAsync("unknown-origin", RestorePhase.Failed)).Status!.Message, StringComparison.Ordinal);
        Assert.Contains("no file consul-19990101T000000Z.snap on the snapshot volume", (await WaitForPhaseAsync("missing", RestorePhase.Failed)).Status!.Message, StringComparison.Ordinal);
        Assert.Equal("the current value", dc.ReadKey("app/config"));
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "RestoreFailed");
    }

    [Fact]
    public async Task Restores_of_one_cluster_run_one_at_a_time_and_resume_after_the_operator_is_killed_mid_restore()
    {
        var dc = await ClusterWithSnapshotAsync("the good value");
        dc.WriteKey("app/config", "a bad write");
        Harness.Consul.Jobs.Hold();

        Harness.Create(Restore("first", "latest"));
        await WaitForPhaseAsync("first", RestorePhase.Restoring);
        Harness.Create(Restore("second", "latest"));
        await OperatorHarness.WaitUntilAsync(
            () => Get("second").Status is { Phase: RestorePhase.Pending } pending && pending.Message!.Contains("waiting for ConsulSnapshotRestore first, which restores into consul now", StringComparison.Ordinal),
            "the second restore to wait for the first");
        var restoring = Get("first").Status!;
        Assert.True(restoring.Index > 0);
        Assert.Contains("restoring consul-", restoring.Message, StringComparison.Ordinal);

        // The operator leading now dies while the first restore's Job runs; the other replica takes over.
        await Harness.StopReplicaAsync(Harness.Replicas.Single(r => r.Services.GetService(typeof(LeaderElector)) is LeaderElector { IsLeader: true }));
        Harness.Consul.Jobs.Release();

        var first = await WaitForPhaseAsync("first", RestorePhase.Succeeded);
        var second = await WaitForPhaseAsync("second", RestorePhase.Succeeded);
        Assert.True(second.Status!.StartTime >= first.Status!.CompletionTime);
        Assert.Equal(2, Harness.Consul.Jobs.PodsStarted);
        Assert.Single(Harness.List("batch/v1", "Job"), j => (string?)j["metadata"]!["name"] == "first-restore");
        Assert.Equal("the good value", dc.ReadKey("app/config"));
    }

    private async Task<ConsulDatacenter> ClusterWithSnapshotAsync(string value)
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Snapshots.Enabled = true;
        Harness.Create(cluster);
        await WaitForReadyAsync();
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1CronJob>("consul-snapshot") is not null && Harness.Get<V1PersistentVolumeClaim>("consul-snapshots") is not null, "the snapshot CronJob and volume");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        dc.WriteKey("app/config", value);
        var (failure, output) = Harness.Consul.RunCronJob("consul", "consul-snapshot");
        Assert.True(failure is null, $"{failure}: {output}");
        return dc;
    }

    private static V1Alpha1ConsulSnapshotRestore Restore(string name, string snapshot) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = OperatorHarness.Namespace },
        Spec = new ConsulSnapshotRestoreSpec { ClusterRef = new ClusterReference { Name = "consul" }, Snapshot = snapshot },
    };

    private V1Alpha1ConsulSnapshotRestore Get(string name) => Harness.Get<V1Alpha1ConsulSnapshotRestore>(name)!;

    private async Task<V1Alpha1ConsulSnapshotRestore> WaitForPhaseAsync(string name, RestorePhase phase)
    {
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulSnapshotRestore>(name)?.Status?.Phase == phase, $"ConsulSnapshotRestore {name} to be {phase} (now {Harness.Get<V1Alpha1ConsulSnapshotRestore>(name)?.Status?.Phase}: {Harness.Get<V1Alpha1ConsulSnapshotRestore>(name)?.Status?.Message})");
        return Get(name);
    }
}
