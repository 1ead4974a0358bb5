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
    public static IReadOnlyList<(string Title, string Unit, string Legend, string[] Queries)> Panels(Monitoring.MetricScope scope)
    {
        var (servers, agents) = (scope.Servers, scope.Agents);
        return
        [
            ("Autopilot healthy", "short", "{{namespace}}/{{pod}}", [Monitoring.Series("consul_autopilot_healthy", servers)]),
            ("Failure tolerance", "short", "{{namespace}}/{{pod}}", [Monitoring.Series("consul_autopilot_failure_tolerance", servers)]),
            ("Leader elections", "short", "{{namespace}}/{{pod}}", [$"rate({Monitoring.Series("consul_raft_state_leader", servers)}[5m])", $"rate({Monitoring.Series("consul_raft_state_candidate", servers)}[5m])"]),
            ("Raft commit time (p90)", "ms", "{{namespace}}/{{pod}}", [Monitoring.Series("consul_raft_commitTime", Monitoring.Join(servers, "quantile=\"0.9\""))]),
            ("Raft commits", "ops", "{{namespace}}/{{pod}}", [$"rate({Monitoring.Series("consul_raft_apply", servers)}[5m])"]),
            ("Last contact with the leader (p90)", "ms", "{{namespace}}/{{pod}}", [Monitoring.Series("consul_raft_leader_lastContact", Monitoring.Join(servers, "quantile=\"0.9\""))]),

            // From autopilot health, through the operator: every version reports it there.
            ("Last raft index per server", "short", "{{namespace}}/{{server}}", [Monitoring.Series("consul_operator_server_last_index", scope.Operator)]),
            ("Gossip members by status", "short", "{{namespace}}/{{cluster}} {{status}}", [Monitoring.Series("consul_operator_members", scope.Operator)]),
            ("RPC requests to the servers", "reqps", "{{namespace}}/{{pod}}", [$"rate({Monitoring.Series("consul_rpc_request", servers)}[5m])"]),
            ("Memory allocated", "bytes", "{{namespace}}/{{pod}}", [Monitoring.Series("consul_runtime_alloc_bytes", agents)]),
            ("Goroutines", "short", "{{namespace}}/{{pod}}", [Monitoring.Series("consul_runtime_num_goroutines", agents)]),
        ];
    }

    /// <summary>The dashboard as Grafana reads it, over the series in <paramref name="scope"/>.</summary>
    public static JsonObject Json(Monitoring.MetricScope scope, string title, string uid)
    {
        var panels = Panels(scope).Select((panel, i) => (JsonNode)new JsonObject
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
                ["legendFormat"] = panel.Legend,
            })]),
        });
        return new JsonObject
        {
            ["title"] = title,
            // Grafana takes a uid of at most 40 characters.
            ["uid"] = uid.Length > 40 ? uid[..40] : uid,
            ["tags"] = new JsonArray("consul", "consul-operator"),
            ["schemaVersion"] = 39,
            ["time"] = new JsonObject { ["from"] = "now-6h", ["to"] = "now" },
            ["panels"] = new JsonArray([.. panels]),
        };
    }

    public static IEnumerable<V1ConfigMap> Build(V1Alpha1ConsulCluster cluster)
    {
        if (!cluster.Spec.Telemetry.Enabled || !cluster.Spec.Telemetry.Dashboard)
        {
            yield break;
        }

        var names = KeyMaterialSecrets.NamesOf(cluster);
        var dashboard = Json(Monitoring.MetricScope.For(cluster), $"Consul {names.Namespace}/{names.Cluster}", $"consul-{names.Namespace}-{names.Cluster}");
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
