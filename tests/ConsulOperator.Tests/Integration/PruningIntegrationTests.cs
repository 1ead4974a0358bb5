using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>What the spec stops asking for goes, if it holds no data and is the cluster's; nothing else does.</summary>
public sealed class PruningIntegrationTests() : IntegrationTest()
{
    [Fact]
    public async Task Turning_snapshots_the_ingress_and_monitoring_off_deletes_their_objects_and_keeps_the_snapshot_volume_and_other_peoples_objects()
    {
        Harness.Api.InstallPrometheusOperatorCrds();
        var cluster = Clusters.Sample();
        cluster.Spec.Snapshots.Enabled = true;
        cluster.Spec.Ui.Ingress = new UiIngressSpec { Host = "consul.example.com" };
        cluster.Spec.Telemetry.PodMonitor = new();
        cluster.Spec.Telemetry.PrometheusRule = new();
        Harness.Create(cluster);

        // A CronJob of someone else's in the same namespace, labelled like ours but not owned by the cluster.
        Harness.Create(new V1CronJob
        {
            ApiVersion = "batch/v1",
            Kind = "CronJob",
            Metadata = new V1ObjectMeta { Name = "team-backup", NamespaceProperty = OperatorHarness.Namespace, Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "consul-operator" } },
            Spec = new V1CronJobSpec { Schedule = "0 0 * * *", JobTemplate = new V1JobTemplateSpec { Spec = new V1JobSpec { Template = new V1PodTemplateSpec { Spec = new V1PodSpec { Containers = [new V1Container { Name = "backup", Image = "busybox" }] } } } } },
        });
        await WaitForReadyAsync();
        await OperatorHarness.WaitUntilAsync(
            () => Harness.Get<V1CronJob>("consul-snapshot") is not null && Harness.Get<V1Ingress>("consul-ui") is not null
                && Harness.List("monitoring.coreos.com/v1", "PodMonitor").Count == 2 && Harness.List("monitoring.coreos.com/v1", "PrometheusRule").Count == 1,
            "every object the spec asks for");

        Harness.Edit<V1Alpha1ConsulCluster>("consul", c =>
        {
            c.Spec.Snapshots.Enabled = false;
            c.Spec.Ui.Ingress = null;
            c.Spec.Telemetry.PodMonitor = null;
            c.Spec.Telemetry.PrometheusRule = new() { Enabled = false };
        });
        await WaitForReadyAsync(generation: 2);
        await OperatorHarness.WaitUntilAsync(
            () => Harness.Get<V1CronJob>("consul-snapshot") is null && Harness.Get<V1Ingress>("consul-ui") is null
                && Harness.List("monitoring.coreos.com/v1", "PodMonitor").Count == 0 && Harness.List("monitoring.coreos.com/v1", "PrometheusRule").Count == 0,
            "the objects the spec no longer asks for to be deleted");

        Assert.NotNull(Harness.Get<V1PersistentVolumeClaim>("consul-snapshots"));
        Assert.NotNull(Harness.Get<V1CronJob>("team-backup"));
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "Deleted" && ((string?)e["message"])!.Contains("CronJob consul-snapshot", StringComparison.Ordinal));
    }
}
