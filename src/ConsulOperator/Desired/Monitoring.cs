using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.PrometheusOperator;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// What the Prometheus Operator needs to watch a cluster: PodMonitors that scrape every agent with the scrape identity,
/// and alert rules for Consul itself. The same rules, unscoped, are what the chart ships for every cluster.
/// </summary>
public static class Monitoring
{
    /// <summary>
    /// Where the alerts and the dashboard look: label matchers for the servers' and all agents' Consul series (as the
    /// scrape labels them, with namespace and pod), for the operator's own series (namespace and cluster), and what the
    /// cluster has to alert on.
    /// </summary>
    public sealed record MetricScope(string Servers, string Agents, string Operator, bool FailureTolerance, bool AgentCertificateExpiry)
    {
        /// <summary>Every cluster in every namespace: what the chart ships.</summary>
        public static readonly MetricScope Everywhere = new("", "", "", FailureTolerance: true, AgentCertificateExpiry: true);

        public static MetricScope For(V1Alpha1ConsulCluster cluster)
        {
            var names = KeyMaterialSecrets.NamesOf(cluster);
            return new(
                $"namespace=\"{names.Namespace}\", pod=~\"{names.Servers}-[0-9]+\"",
                $"namespace=\"{names.Namespace}\", pod=~\"({names.Servers}|{names.Clients})-[0-9]+\"",
                $"namespace=\"{names.Namespace}\", cluster=\"{names.Cluster}\"",
                // One server tolerates no failure by design; there is nothing to alert on.
                FailureTolerance: cluster.Spec.Servers.Replicas >= 3,
                AgentCertificateExpiry: ConsulVersion.Parse(cluster.Spec.Version).HasAgentCertificateExpiryMetric);
        }
    }

    /// <summary>How long a raft commit may take at the 90th percentile before it is alerted on, in ms (our choice, not upstream's).</summary>
    public const int CommitTimeThresholdMs = 200;

    /// <summary>The alerts, as Prometheus rule objects (alert, expr, for, labels, annotations).</summary>
    public static JsonArray Rules(MetricScope scope)
    {
        // A list of nodes first: JsonArray's own Add of a JsonObject is the generic one, which is not safe to trim.
        List<JsonNode> rules =
        [
            // The operator asks /v1/status/leader on every poll; Consul's own consul_server_isLeader came late (PR #13304,
            // 1.12.x) and reads 0 on every server in some setups (hashicorp/consul issues #17320, #18616).
            Rule("ConsulNoLeader", $"max by (namespace, cluster) ({Series("consul_operator_raft_leader", scope.Operator)}) < 1", "2m", "critical",
                "ConsulCluster {{ $labels.namespace }}/{{ $labels.cluster }} has no raft leader: Consul accepts no writes and no consistent reads"),

            // Before hashicorp/consul PR #12617 only the leader emits autopilot gauges; after it every server does (followers
            // NaN). min ignores NaN and comparisons with NaN are false, so both shapes alert only on a real 0.
            Rule("ConsulAutopilotUnhealthy", $"min by (namespace) ({Series("consul_autopilot_healthy", scope.Servers)}) < 1", "5m", "warning",
                "Autopilot in namespace {{ $labels.namespace }} reports an unhealthy server"),
        ];
        if (scope.FailureTolerance)
        {
            rules.Add(Rule("ConsulFailureToleranceZero", $"min by (namespace) ({Series("consul_autopilot_failure_tolerance", scope.Servers)}) < 1", "10m", "warning",
                "The Consul servers in namespace {{ $labels.namespace }} cannot lose another server without losing quorum"));
        }

        rules.Add(Rule("ConsulServerNotVoter", $"{Series("consul_operator_server_voter", scope.Operator)} < 1", "10m", "warning",
            "Server {{ $labels.server }} of ConsulCluster {{ $labels.namespace }}/{{ $labels.cluster }} has not been a raft voter for 10 minutes"));
        rules.Add(Rule("ConsulRaftCommitTimeHigh", $"{Series("consul_raft_commitTime", Join(scope.Servers, "quantile=\"0.9\""))} > {CommitTimeThresholdMs}", "10m", "warning",
            $"Raft commits on {{{{ $labels.pod }}}} take over {CommitTimeThresholdMs} ms at the 90th percentile: disk or network is too slow for the servers"));

        // Go's heap against the container's limit (kube-state-metrics): a Consul near it is about to be OOM-killed.
        rules.Add(Rule("ConsulMemoryNearLimit",
            $"{Series("consul_runtime_alloc_bytes", scope.Agents)} / on (namespace, pod) max by (namespace, pod) ({Series("kube_pod_container_resource_limits", Join(scope.Agents, "container=\"consul\", resource=\"memory\""))}) > 0.8",
            "10m", "warning", "{{ $labels.pod }} in namespace {{ $labels.namespace }} has allocated over 80% of its memory limit"));
        if (scope.AgentCertificateExpiry)
        {
            // Seconds left, updated hourly; the operator renews agent certificates spec.tls.rotateBefore (720h) ahead, so a
            // week left means renewal has failed or the pod was not restarted onto the new certificate.
            rules.Add(Rule("ConsulAgentCertificateExpiring", $"{Series("consul_agent_tls_cert_expiry", scope.Agents)} < 7 * 86400", "1h", "warning",
                "The TLS certificate {{ $labels.pod }} in namespace {{ $labels.namespace }} serves expires within 7 days"));
        }

        return new JsonArray([.. rules]);
    }

    public static IEnumerable<V1PrometheusRule> PrometheusRules(V1Alpha1ConsulCluster cluster)
    {
        if (cluster.Spec.Telemetry.PrometheusRule is not { Enabled: true } wanted)
        {
            yield break;
        }

        var names = KeyMaterialSecrets.NamesOf(cluster);
        yield return new V1PrometheusRule
        {
            Metadata = Metadata(cluster, names.Cluster, wanted),
            Spec = new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = $"consul {names.Namespace}/{names.Cluster}", ["rules"] = Rules(MetricScope.For(cluster)) }) },
        };
    }

    /// <summary>
    /// One PodMonitor per agent kind, since each presents its own certificate name: server.&lt;dc&gt;.&lt;domain&gt; or
    /// client.&lt;dc&gt;.&lt;domain&gt;. Clients with auto-encrypt serve a certificate from Consul's Connect CA, which
    /// the scrape cannot verify against ours, so they are not scraped.
    /// </summary>
    public static IEnumerable<V1PodMonitor> PodMonitors(V1Alpha1ConsulCluster cluster)
    {
        var spec = cluster.Spec;
        if (spec.Telemetry.PodMonitor is not { Enabled: true } wanted)
        {
            yield break;
        }

        yield return PodMonitor(cluster, wanted, Components.Server);
        if (spec.Clients.Replicas > 0 && !spec.Clients.AutoEncrypt)
        {
            yield return PodMonitor(cluster, wanted, Components.Client);
        }
    }

    private static V1PodMonitor PodMonitor(V1Alpha1ConsulCluster cluster, PrometheusOperatorObjectSpec wanted, string component)
    {
        var role = component == Components.Server ? CertificateRole.Server : CertificateRole.Client;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        static JsonObject Key(string secret, string key) => new() { ["name"] = secret, ["key"] = key };
        var endpoint = new JsonObject
        {
            ["port"] = "https",
            ["scheme"] = "https",
            ["path"] = "/v1/agent/metrics",
            ["params"] = new JsonObject { ["format"] = new JsonArray("prometheus") },

            // agent/http.go parseTokenInternal reads "Authorization: Bearer" as it reads X-Consul-Token.
            ["authorization"] = new JsonObject { ["type"] = "Bearer", ["credentials"] = Key(names.AclMetricsSecret, AclObjects.TokenKey) },
            ["tlsConfig"] = new JsonObject
            {
                ["ca"] = new JsonObject { ["secret"] = Key(names.MetricsSecret, KeyMaterialSecrets.CaCertificateKey) },
                ["cert"] = new JsonObject { ["secret"] = Key(names.MetricsSecret, KeyMaterialSecrets.CertificateKey) },
                ["keySecret"] = Key(names.MetricsSecret, KeyMaterialSecrets.PrivateKeyKey),
                ["serverName"] = LeafRequest.NameFor(role, cluster.Spec.Datacenter, cluster.Spec.Domain),
            },
        };
        return new V1PodMonitor
        {
            Metadata = Metadata(cluster, names.StatefulSet(component), wanted),
            Spec = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = LabelsObject(ObjectMetadata.SelectorLabels(cluster, component)) },
                ["podMetricsEndpoints"] = new JsonArray(endpoint),
            },
        };
    }

    private static V1ObjectMeta Metadata(V1Alpha1ConsulCluster cluster, string name, PrometheusOperatorObjectSpec wanted)
    {
        var metadata = ObjectMetadata.For(cluster, name, Components.Monitoring);
        foreach (var (key, value) in wanted.Labels ?? [])
        {
            metadata.Labels.TryAdd(key, value);
        }

        return metadata;
    }

    private static JsonObject Rule(string alert, string expr, string @for, string severity, string summary) => new()
    {
        ["alert"] = alert,
        ["expr"] = expr,
        ["for"] = @for,
        ["labels"] = new JsonObject { ["severity"] = severity },
        ["annotations"] = new JsonObject { ["summary"] = summary },
    };

    /// <summary>A series selector: the metric, with the matchers if there are any.</summary>
    public static string Series(string metric, string matchers) => matchers.Length == 0 ? metric : $"{metric}{{{matchers}}}";

    /// <summary>Label matchers with more added, for a scope that may have none.</summary>
    public static string Join(string matchers, string more) => matchers.Length == 0 ? more : $"{matchers}, {more}";

    private static JsonObject LabelsObject(Dictionary<string, string> labels) =>
        new(labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => KeyValuePair.Create(l.Key, (JsonNode?)JsonValue.Create(l.Value))));
}
