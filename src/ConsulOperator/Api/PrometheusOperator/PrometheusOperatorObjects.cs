using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace ConsulOperator.Api.PrometheusOperator;

/// <summary>
/// The Prometheus Operator's kinds the operator writes (group monitoring.coreos.com, version v1). They are not ours: only
/// what the operator sets is modelled, the spec as JSON in the Prometheus Operator's own field names.
/// </summary>
public static class MonitoringGroup
{
    public const string Name = "monitoring.coreos.com";
    public const string Version = "v1";
    public const string ApiVersion = $"{Name}/{Version}";
}

/// <summary>A PodMonitor: how Prometheus finds and scrapes pods.</summary>
public sealed class V1PodMonitor : IKubernetesObject<V1ObjectMeta>
{
    public const string KindName = "PodMonitor";
    public const string Plural = "podmonitors";

    public string ApiVersion { get; set; } = MonitoringGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();
    public JsonObject Spec { get; set; } = [];
}

/// <summary>A PrometheusRule: alerting and recording rules Prometheus loads.</summary>
public sealed class V1PrometheusRule : IKubernetesObject<V1ObjectMeta>
{
    public const string KindName = "PrometheusRule";
    public const string Plural = "prometheusrules";

    public string ApiVersion { get; set; } = MonitoringGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();
    public JsonObject Spec { get; set; } = [];
}
