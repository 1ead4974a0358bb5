using System.Diagnostics;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public class SnapshotTests
{
    [Fact]
    public void Nothing_is_built_until_snapshots_are_enabled()
    {
        Assert.Empty(Snapshots.Build(Clusters.Default()));
        Assert.DoesNotContain(Clusters.Build(Clusters.Default()), o => o is V1CronJob or V1PersistentVolumeClaim);
    }

    [Fact]
    public void The_cronjob_saves_through_the_servers_https_api_with_the_cli_certificate_and_a_management_token()
    {
        var cluster = Clusters.Default(change: s =>
        {
            s.Snapshots.Enabled = true;
            s.Snapshots.Schedule = "15 3 * * *";
            s.Snapshots.Retain = 7;
        });
        var job = Clusters.Build(cluster).OfType<V1CronJob>().Single();
        var pod = job.Spec.JobTemplate.Spec.Template.Spec;
        var container = pod.Containers.Single();
        var env = container.Env.ToDictionary(e => e.Name);

        Assert.Equal(("15 3 * * *", "Forbid"), (job.Spec.Schedule, job.Spec.ConcurrencyPolicy));
        Assert.Equal("https://consul-server.consul.svc.cluster.local:8501", env["CONSUL_HTTP_ADDR"].Value);
        Assert.Equal("server.dc1.consul", env["CONSUL_TLS_SERVER_NAME"].Value);
        Assert.Equal("7", env["RETAIN"].Value);
        Assert.Equal(("consul-acl-bootstrap", "token"), (env["CONSUL_HTTP_TOKEN"].ValueFrom.SecretKeyRef.Name, env["CONSUL_HTTP_TOKEN"].ValueFrom.SecretKeyRef.Key));
        Assert.Equal("consul-cli-tls", pod.Volumes.Single(v => v.Name == "tls").Secret.SecretName);
        Assert.Equal("consul-snapshots", pod.Volumes.Single(v => v.Name == "snapshots").PersistentVolumeClaim.ClaimName);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.NotEmpty(job.Metadata.OwnerReferences);
    }

    [Fact]
    public void The_snapshot_volume_belongs_to_no_one_so_deleting_the_cluster_keeps_the_backups()
    {
        var claim = Clusters.Build(Clusters.Default(change: s => s.Snapshots.Enabled = true)).OfType<V1PersistentVolumeClaim>().Single();
        Assert.Null(claim.Metadata.OwnerReferences);
        Assert.Equal("consul", claim.Metadata.Labels[Labels.Instance]);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void The_script_keeps_the_newest_snapshots_and_never_counts_a_partial_one()
    {
        var job = Snapshots.CronJob(Clusters.Default(change: s => s.Snapshots.Enabled = true));
        var script = job.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Command[2];
        var root = Directory.CreateTempSubdirectory("snapshots").FullName;
        var bin = Directory.CreateDirectory(Path.Combine(root, "bin")).FullName;
        var snapshots = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
        foreach (var old in new[] { "consul-20261120T000000Z.snap", "consul-20261121T000000Z.snap", "consul-20261122T000000Z.snap", "consul-20261122T060000Z.snap" })
        {
            File.WriteAllText(Path.Combine(snapshots, old), old);
            File.WriteAllText(Path.Combine(snapshots, old + Snapshots.OriginSuffix), "{}");
        }

        File.WriteAllText(Path.Combine(snapshots, "notes.txt"), "notes");

        // consul, as far as the script can tell: `consul snapshot save FILE` writes FILE.
        File.WriteAllText(Path.Combine(bin, "consul"), "#!/bin/sh\n[ \"$1 $2\" = \"snapshot save\" ] && printf snapshot > \"$3\"\n");
        File.SetUnixFileMode(Path.Combine(bin, "consul"), UnixFileMode.UserRead | UnixFileMode.UserExecute);

        var start = new ProcessStartInfo("/bin/sh", ["-ec", script.Replace("/snapshots", snapshots, StringComparison.Ordinal)]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PATH"] = $"{bin}:/usr/bin:/bin";
        start.Environment["RETAIN"] = "3";
        start.Environment["DATACENTER"] = "dc1";
        start.Environment["CLUSTER_UID"] = "uid-1";
        using var process = Process.Start(start)!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());

        // The two newest old snapshots and the new one stay, each with the file that says where it was taken.
        var left = Directory.GetFiles(snapshots).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(7, left.Count);
        Assert.Equal(["consul-20261122T000000Z.snap", "consul-20261122T000000Z.snap.json", "consul-20261122T060000Z.snap", "consul-20261122T060000Z.snap.json"], left.Take(4));
        Assert.Matches("^consul-[0-9]{8}T[0-9]{6}Z\\.snap$", left[4]);
        Assert.Equal(left[4] + ".json", left[5]);
        Assert.Equal("notes.txt", left[6]);
        Assert.Equal("snapshot", File.ReadAllText(Path.Combine(snapshots, left[4]!)));
        Assert.Equal("{\"datacenter\":\"dc1\",\"cluster\":\"uid-1\"}\n", File.ReadAllText(Path.Combine(snapshots, left[5]!)));
    }
}
