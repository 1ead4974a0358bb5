using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// A Grafana dashboard for one cluster: what people who run Consul watch. The queries use the metrics HashiCorp's own
/// Consul server dashboard uses (docs: "Consul server monitoring dashboard") and the runtime gauges (docs: agent
/// telemetry), filtered to the cluster's namespace and pods, which the scrape must label as namespace and pod.
/// </summary>
public static class Dashboard
{
    /// <summary>Each panel: its title, unit and the queries it draws.</summary>
    public static IReadOnlyList<(string Title, string Unit, string[] Queries)> Panels(V1Alpha1ConsulCluster cluster)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var servers = $"namespace=\"{names.Namespace}\", pod=~\"{names.Servers}-[0-9]+\"";
        var agents = $"namespace=\"{names.Namespace}\", pod=~\"({names.Servers}|{names.Clients})-[0-9]+\"";
        return
        [
            ("Autopilot healthy", "short", [$"consul_autopilot_healthy{{{servers}}}"]),
            ("Failure tolerance", "short", [$"consul_autopilot_failure_tolerance{{{servers}}}"]),
            ("Leader elections", "short", [$"rate(consul_raft_state_leader{{{servers}}}[5m])", $"rate(consul_raft_state_candidate{{{servers}}}[5m])"]),
            ("Raft commit time (p90)", "ms", [$"consul_raft_commitTime{{{servers}, quantile=\"0.9\"}}"]),
            ("Raft commits", "ops", [$"rate(consul_raft_apply{{{servers}}}[5m])"]),
            ("Last contact with the leader (p90)", "ms", [$"consul_raft_leader_lastContact{{{servers}, quantile=\"0.9\"}}"]),
            ("Memory allocated", "bytes", [$"consul_runtime_alloc_bytes{{{agents}}}"]),
            ("Goroutines", "short", [$"consul_runtime_num_goroutines{{{agents}}}"]),
        ];
    }

    public static IEnumerable<V1ConfigMap> Build(V1Alpha1ConsulCluster cluster)
    {
        if (!cluster.Spec.Telemetry.Enabled || !cluster.Spec.Telemetry.Dashboard)
        {
            yield break;
        }

        var names = KeyMaterialSecrets.NamesOf(cluster);
        var uid = $"consul-{names.Namespace}-{names.Cluster}";
        var panels = Panels(cluster).Select((panel, i) => (JsonNode)new JsonObject
        {
            ["id"] = i + 1,
            ["type"] = "timeseries",
            ["title"] = panel.Title,
            ["gridPos"] = new JsonObject { ["x"] = i % 2 * 12, ["y"] = i / 2 * 8, ["w"] = 12, ["h"] = 8 },
            ["fieldConfig"] = new JsonObject { ["defaults"] = new JsonObject { ["unit"] = panel.Unit } },
            ["targets"] = new JsonArray([.. panel.Queries.Select((query, j) => (JsonNode)new JsonObject
            {
                ["refId"] = ((char)('A' + j)).ToString(),
                ["expr"] = query,
                ["legendFormat"] = "{{pod}}",
            })]),
        });
        var dashboard = new JsonObject
        {
            ["title"] = $"Consul {names.Namespace}/{names.Cluster}",
            // Grafana takes a uid of at most 40 characters.
            ["uid"] = uid.Length > 40 ? uid[..40] : uid,
            ["tags"] = new JsonArray("consul", "consul-operator"),
            ["schemaVersion"] = 39,
            ["time"] = new JsonObject { ["from"] = "now-6h", ["to"] = "now" },
            ["panels"] = new JsonArray([.. panels]),
        };
        var metadata = ObjectMetadata.For(cluster, names.DashboardConfigMap, Components.Dashboard);
        metadata.Labels[Labels.GrafanaDashboard] = "1";
        yield return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = metadata,
            Data = new Dictionary<string, string> { [$"consul-{names.Cluster}.json"] = dashboard.ToJsonString() },
        };
    }
}
