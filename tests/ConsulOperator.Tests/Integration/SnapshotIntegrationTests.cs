using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>
/// The snapshot CronJob's script and the documented restore run for real: in a shell, with the simulated consul CLI
/// against the simulated servers, on the snapshot volume; the files they leave are checked with tar and sha256sum.
/// </summary>
public sealed partial class SnapshotIntegrationTests() : IntegrationTest()
{
    [Fact]
    public async Task Enabled_snapshots_get_a_cronjob_and_a_volume_that_outlives_the_cluster()
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Snapshots.Enabled = true;
        Harness.Create(cluster);
        await WaitForReadyAsync();
        Assert.Equal("0 */6 * * *", Harness.Get<V1CronJob>("consul-snapshot")!.Spec.Schedule);
        Assert.NotNull(Harness.Get<V1PersistentVolumeClaim>("consul-snapshots"));

        Harness.Delete<V1Alpha1ConsulCluster>("consul");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1CronJob>("consul-snapshot") is null, "the CronJob to be collected with the cluster");
        Assert.NotNull(Harness.Get<V1PersistentVolumeClaim>("consul-snapshots"));
    }

    [Fact]
    public async Task The_cronjob_saves_snapshots_tar_and_sha256sum_accept_keeps_the_newest_and_the_documented_restore_rolls_a_key_back()
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Snapshots.Enabled = true;
        cluster.Spec.Snapshots.Retain = 2;
        Harness.Create(cluster);
        await WaitForReadyAsync();
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1CronJob>("consul-snapshot") is not null && Harness.Get<V1PersistentVolumeClaim>("consul-snapshots") is not null, "the snapshot CronJob and volume");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var volume = Harness.Consul.ClaimDirectory("consul", "consul-snapshots");

        // Three runs, each in a later second than the one before (the script names files by the second).
        var last = DateTime.MinValue;
        for (var run = 0; run < 3; run++)
        {
            var previous = last;
            await OperatorHarness.WaitUntilAsync(() => DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) != previous.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture), "a new second");
            dc.WriteKey("app/config", $"version {run}");
            last = DateTime.UtcNow;
            var (failure, output) = Harness.Consul.RunCronJob("consul", "consul-snapshot");
            Assert.True(failure is null, failure);
            Assert.Matches(@"Saved and verified snapshot to index \d+", output);
            Assert.Contains("kept the newest 2", output, StringComparison.Ordinal);
        }

        var files = Directory.GetFiles(volume, "*.snap").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, files.Count);
        Assert.All(files, f => Assert.Matches(SnapshotName(), f!));
        Assert.Equal([.. files.Select(f => f + ".json")], Directory.GetFiles(volume, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(2, Directory.GetFiles(volume).Length - files.Count);

        // Each file is what Consul writes, checked by tools nobody here wrote: a gzipped tar whose SHA256SUMS hold.
        foreach (var file in files)
        {
            using var extracted = new TemporaryDirectory();
            Assert.Equal((0, ""), Run("tar", ["-xzf", Path.Combine(volume, file!), "-C", extracted.Path]));
            Assert.Equal(["SHA256SUMS", "meta.json", "state.bin"], Directory.GetFiles(extracted.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal(0, Run("sha256sum", ["-c", "--strict", "SHA256SUMS"], extracted.Path).ExitCode);
            Assert.True((ulong)JsonNode.Parse(File.ReadAllText(Path.Combine(extracted.Path, "meta.json")))!["Index"]! > 0);
        }

        // A bad write, then the restore docs/operations.md describes, in a pod with the same volumes and commands.
        dc.WriteKey("app/config", "a bad write");
        var newest = files[^1]!;
        var (restoreFailure, restoreOutput) = Harness.Consul.RunPod("consul", "restore", DocumentedRestorePod(newest, System.Text.Encoding.UTF8.GetString(Harness.Get<V1Secret>("consul-acl-bootstrap")!.Data["token"])));
        Assert.True(restoreFailure is null, restoreFailure);
        Assert.Matches(@"Index\s+\d+", restoreOutput);
        Assert.Contains("Restored snapshot", restoreOutput, StringComparison.Ordinal);
        Assert.Equal("version 2", dc.ReadKey("app/config"));
    }

    // The pod of the kubectl run in docs/operations.md, "Snapshots and restore": its volumes, mounts and exports.
    private static JsonObject DocumentedRestorePod(string file, string token) => new()
    {
        ["restartPolicy"] = "Never",
        ["volumes"] = new JsonArray(
            new JsonObject { ["name"] = "s", ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = "consul-snapshots" } },
            new JsonObject { ["name"] = "t", ["secret"] = new JsonObject { ["secretName"] = "consul-cli-tls" } }),
        ["containers"] = new JsonArray(new JsonObject
        {
            ["name"] = "restore",
            ["image"] = "hashicorp/consul:1.16.1",
            ["command"] = new JsonArray("/bin/sh", "-ec",
                $"""
                export CONSUL_HTTP_ADDR=https://consul-server.consul.svc.cluster.local:8501 CONSUL_TLS_SERVER_NAME=server.dc1.consul \
                  CONSUL_CACERT=/tls/ca.crt CONSUL_CLIENT_CERT=/tls/tls.crt CONSUL_CLIENT_KEY=/tls/tls.key CONSUL_HTTP_TOKEN={token}
                consul snapshot inspect /snapshots/{file}
                consul snapshot restore /snapshots/{file}
                """),
            ["volumeMounts"] = new JsonArray(
                new JsonObject { ["name"] = "s", ["mountPath"] = "/snapshots" },
                new JsonObject { ["name"] = "t", ["mountPath"] = "/tls" }),
        }),
    };

    private static (int ExitCode, string Output) Run(string tool, string[] arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, (output.Result + errors).Trim());
    }

    [GeneratedRegex(@"^consul-\d{8}T\d{6}Z\.snap$")]
    private static partial Regex SnapshotName();

    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("snapshot-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
