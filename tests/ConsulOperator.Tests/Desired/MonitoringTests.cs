using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using ConsulOperator.Api.PrometheusOperator;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using ConsulOperator.Yaml;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public sealed class MonitoringTests
{
    private static V1Alpha1ConsulCluster Monitored(Action<ConsulClusterSpec>? change = null) => Clusters.Default(change: s =>
    {
        s.Telemetry.PodMonitor = new() { Labels = new() { ["release"] = "kube-prometheus-stack" } };
        s.Telemetry.PrometheusRule = new() { Labels = new() { ["release"] = "kube-prometheus-stack" } };
        change?.Invoke(s);
    });

    [Fact]
    public void Pod_monitors_and_rules_are_opt_in()
    {
        var objects = Clusters.Build(Clusters.Default());
        Assert.Empty(objects.OfType<V1PodMonitor>());
        Assert.Empty(objects.OfType<V1PrometheusRule>());
    }

    [Fact]
    public void Each_pod_monitor_scrapes_what_the_rendered_pods_serve_with_the_scrape_identity_and_the_name_their_certificate_carries()
    {
        var cluster = Monitored();
        var objects = Clusters.Build(cluster);
        var monitors = objects.OfType<V1PodMonitor>().ToList();
        Assert.Equal(["consul-client", "consul-server"], monitors.Select(m => m.Metadata.Name).Order(StringComparer.Ordinal));

        foreach (var (monitor, set, pod) in new[] { (monitors.Single(m => m.Metadata.Name == "consul-server"), "consul-server", "consul-server-0"), (monitors.Single(m => m.Metadata.Name == "consul-client"), "consul-client", "consul-client-0") })
        {
            Assert.Equal("monitoring.coreos.com/v1", monitor.ApiVersion);
            Assert.Equal("kube-prometheus-stack", monitor.Metadata.Labels["release"]);

            // The selector picks exactly the StatefulSet's pods, and the port is a container port by that name.
            var template = objects.Named<V1StatefulSet>(set).Spec.Template;
            var selector = monitor.Spec["selector"]!["matchLabels"]!.AsObject();
            Assert.All(selector, l => Assert.Equal((string)l.Value!, template.Metadata.Labels[l.Key]));
            var endpoint = Assert.Single(monitor.Spec["podMetricsEndpoints"]!.AsArray())!;
            Assert.Contains(template.Spec.Containers.Single(c => c.Name == "consul").Ports, p => p.Name == (string?)endpoint["port"] && p.ContainerPort == AgentConfig.HttpsPort);
            Assert.Equal(("https", "/v1/agent/metrics", "prometheus"), ((string?)endpoint["scheme"], (string?)endpoint["path"], (string?)endpoint["params"]!["format"]![0]));

            // The certificate and CA come from the rendered scrape Secret; the token from the operator's metrics token Secret.
            var tls = endpoint["tlsConfig"]!;
            var scrape = objects.Named<V1Secret>((string)tls["cert"]!["secret"]!["name"]!);
            Assert.Equal("consul-metrics-tls", scrape.Metadata.Name);
            foreach (var key in new[] { (string)tls["ca"]!["secret"]!["key"]!, (string)tls["cert"]!["secret"]!["key"]!, (string)tls["keySecret"]!["key"]! })
            {
                Assert.True(scrape.Data.ContainsKey(key), key);
            }

            Assert.Equal(("Bearer", "consul-acl-metrics", "token"), ((string?)endpoint["authorization"]!["type"], (string?)endpoint["authorization"]!["credentials"]!["name"], (string?)endpoint["authorization"]!["credentials"]!["key"]));

            // serverName is a name the pod's own certificate carries, so verification succeeds on every pod.
            using var served = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(objects.Named<V1Secret>($"{pod}-tls").Data["tls.crt"]));
            Assert.True(served.MatchesHostname((string)tls["serverName"]!), $"{pod}'s certificate does not carry {tls["serverName"]}");
        }
    }

    [Fact]
    public void The_monitored_sample_renders_objects_the_prometheus_operators_own_schemas_accept_and_a_broken_one_they_refuse()
    {
        var input = ConsulOperator.Cli.InputDocuments.Read([Repository.PathOf("config/samples/consulcluster-monitored.yaml")], TextReader.Null);
        Assert.Empty(input.Problems);
        var objects = Clusters.Build(Assert.Single(input.Clusters));
        Assert.Single(objects, o => o.Metadata.Name == "consul-grafana-dashboard");
        var monitoring = objects.Where(o => o.ApiVersion == MonitoringGroup.ApiVersion).Select(o => JsonNode.Parse(k8s.KubernetesJson.Serialize(o))!).ToList();
        Assert.Equal(["PodMonitor consul-client", "PodMonitor consul-server", "PrometheusRule consul"], monitoring.Select(o => $"{o["kind"]} {o["metadata"]!["name"]}").Order(StringComparer.Ordinal));

        using var directory = new TemporaryDirectory();
        var script = Repository.PathOf("tests/ConsulOperator.Tests/Upstream/prometheus_operator_schemas.mjs");
        var (code, output, error) = Tools.Run(Tools.Node, script, Tools.PrometheusOperatorModels, directory.Write("rendered.json", new JsonArray([.. monitoring.Select(o => o.DeepClone())]).ToJsonString()));
        Assert.True(code == 0, output + error);
        Assert.Equal(3, output.Split('\n').Count(l => l.StartsWith("valid ", StringComparison.Ordinal)));

        // The check can fail: a scheme the schema does not allow.
        var broken = monitoring[0].DeepClone();
        broken["spec"]!["podMetricsEndpoints"]![0]!["scheme"] = "ftp";
        var refused = Tools.Run(Tools.Node, script, Tools.PrometheusOperatorModels, directory.Write("broken.json", new JsonArray(broken).ToJsonString()));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("scheme must be equal to one of the allowed values", refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_encrypt_clients_are_not_scraped_since_their_certificate_is_not_from_our_ca()
    {
        var monitors = Monitoring.PodMonitors(Monitored(s => s.Clients.AutoEncrypt = true));
        Assert.Equal(["consul-server"], monitors.Select(m => m.Metadata.Name));
    }

    [Fact]
    public void Monitoring_needs_telemetry_and_the_rules_need_gauges_without_host_names()
    {
        Assert.Empty(ConsulClusterValidator.Validate(Monitored(s => s.Telemetry.Dashboard = true)));

        var off = ConsulClusterValidator.Validate(Monitored(s => s.Telemetry.Enabled = false));
        Assert.Contains(off, p => p.Path == "spec.telemetry.podMonitor");
        Assert.Contains(off, p => p.Path == "spec.telemetry.prometheusRule");

        var hostnames = ConsulClusterValidator.Validate(Monitored(s =>
        {
            s.Telemetry.DisableHostname = false;
            s.Telemetry.Dashboard = true;
        }));
        Assert.Equal(["spec.telemetry.dashboard", "spec.telemetry.prometheusRule"], hostnames.Select(p => p.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Versions_and_sizes_without_a_metric_get_no_alert_on_it()
    {
        static IEnumerable<string> Alerts(V1Alpha1ConsulCluster cluster) =>
            Monitoring.Rules(Monitoring.MetricScope.For(cluster)).Select(r => (string)r!["alert"]!);

        Assert.Contains("ConsulAgentCertificateExpiring", Alerts(Monitored()));
        // consul_agent_tls_cert_expiry came in 1.11.0.
        Assert.DoesNotContain("ConsulAgentCertificateExpiring", Alerts(Monitored(s => s.Version = "1.10.12")));
        Assert.DoesNotContain("ConsulFailureToleranceZero", Alerts(Monitored(s => s.Servers.Replicas = 1)));
    }

    [Fact]
    public void Promtool_loads_the_rendered_rules_and_the_charts_copy()
    {
        var rule = Assert.Single(Clusters.Build(Monitored()).OfType<V1PrometheusRule>());
        Assert.Equal("kube-prometheus-stack", rule.Metadata.Labels["release"]);
        using var directory = new TemporaryDirectory();
        var rendered = directory.Write("rendered.yaml", YamlDocuments.Write([rule.Spec.DeepClone()!.AsObject()]));
        var chart = directory.Write("chart.yaml", "groups:\n  - name: consul\n    rules:\n" + string.Join("\n", File.ReadAllLines(Repository.PathOf("charts/consul-operator/files/monitoring/consul-rules.yaml")).Select(l => "      " + l)) + "\n");

        var (code, output, error) = Tools.Run(Tools.Promtool, "check", "rules", rendered, chart);
        Assert.True(code == 0, output + error);
        // Both files, each with every alert (the sample cluster has three servers and a version with certificate expiry).
        Assert.Equal(2, output.Split("SUCCESS: 7 rules found").Length - 1);
    }

    [Fact]
    public void Promtool_parses_every_dashboard_query_of_a_cluster_and_of_the_chart()
    {
        // promtool has no query check without a server; as recording rules, it parses each expression as Prometheus would.
        var queries = new[] { Monitoring.MetricScope.For(Monitored()), Monitoring.MetricScope.Everywhere }
            .SelectMany(scope => Dashboard.Panels(scope).SelectMany(p => p.Queries)).ToList();
        var rules = new JsonArray([.. queries.Select((q, i) => (JsonNode)new JsonObject { ["record"] = $"dashboard:query_{i}", ["expr"] = q })]);
        using var directory = new TemporaryDirectory();
        var file = directory.Write("dashboard.yaml", YamlDocuments.Write([new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = "dashboard", ["rules"] = rules }) }]));

        var (code, output, error) = Tools.Run(Tools.Promtool, "check", "rules", file);
        Assert.True(code == 0, output + error);
        Assert.Contains($"SUCCESS: {queries.Count} rules found", output, StringComparison.Ordinal);
    }

    // Eighty minutes of a cluster in trouble in namespace consul, and the same trouble in namespace other.
    private static string TroubleSeries(string ns) => $$"""
          - series: 'consul_operator_raft_leader{namespace="{{ns}}", cluster="consul"}'
            values: '0x80'
          - series: 'consul_autopilot_healthy{namespace="{{ns}}", pod="consul-server-0", leader="true"}'
            values: '0x80'
          - series: 'consul_autopilot_healthy{namespace="{{ns}}", pod="consul-server-1", leader="false"}'
            values: '{{string.Join(' ', Enumerable.Repeat("NaN", 81))}}'
          - series: 'consul_autopilot_failure_tolerance{namespace="{{ns}}", pod="consul-server-0", leader="true"}'
            values: '0x80'
          - series: 'consul_operator_server_voter{namespace="{{ns}}", cluster="consul", server="consul-server-0"}'
            values: '1x80'
          - series: 'consul_operator_server_voter{namespace="{{ns}}", cluster="consul", server="consul-server-2"}'
            values: '0x80'
          - series: 'consul_raft_commitTime{namespace="{{ns}}", pod="consul-server-0", quantile="0.9"}'
            values: '250x80'
          - series: 'consul_raft_commitTime{namespace="{{ns}}", pod="consul-server-0", quantile="0.5"}'
            values: '250x80'
          - series: 'consul_raft_commitTime{namespace="{{ns}}", pod="consul-server-1", quantile="0.9"}'
            values: '50x80'
          - series: 'consul_runtime_alloc_bytes{namespace="{{ns}}", pod="consul-client-0"}'
            values: '900x80'
          - series: 'kube_pod_container_resource_limits{namespace="{{ns}}", pod="consul-client-0", container="consul", resource="memory"}'
            values: '1000x80'
          - series: 'consul_runtime_alloc_bytes{namespace="{{ns}}", pod="consul-server-0"}'
            values: '100x80'
          - series: 'kube_pod_container_resource_limits{namespace="{{ns}}", pod="consul-server-0", container="consul", resource="memory"}'
            values: '1000x80'
          - series: 'consul_agent_tls_cert_expiry{namespace="{{ns}}", pod="consul-client-0"}'
            values: '86400x80'
          - series: 'consul_agent_tls_cert_expiry{namespace="{{ns}}", pod="consul-server-0"}'
            values: '2592000x80'

""";

    // What each alert says about namespace ns, as Prometheus renders it (labels, then the summary).
    private static string Expected(string alert, string ns) => alert switch
    {
        "ConsulNoLeader" => $$$"""{exp_labels: {severity: critical, namespace: {{{ns}}}, cluster: consul}, exp_annotations: {summary: "ConsulCluster {{{ns}}}/consul has no raft leader: Consul accepts no writes and no consistent reads"}}""",
        "ConsulAutopilotUnhealthy" => $$$"""{exp_labels: {severity: warning, namespace: {{{ns}}}}, exp_annotations: {summary: "Autopilot in namespace {{{ns}}} reports an unhealthy server"}}""",
        "ConsulFailureToleranceZero" => $$$"""{exp_labels: {severity: warning, namespace: {{{ns}}}}, exp_annotations: {summary: "The Consul servers in namespace {{{ns}}} cannot lose another server without losing quorum"}}""",
        "ConsulServerNotVoter" => $$$"""{exp_labels: {severity: warning, namespace: {{{ns}}}, cluster: consul, server: consul-server-2}, exp_annotations: {summary: "Server consul-server-2 of ConsulCluster {{{ns}}}/consul has not been a raft voter for 10 minutes"}}""",
        "ConsulRaftCommitTimeHigh" => $$$"""{exp_labels: {severity: warning, namespace: {{{ns}}}, pod: consul-server-0, quantile: "0.9"}, exp_annotations: {summary: "Raft commits on consul-server-0 take over 200 ms at the 90th percentile: disk or network is too slow for the servers"}}""",
        "ConsulMemoryNearLimit" => $$$"""{exp_labels: {severity: warning, namespace: {{{ns}}}, pod: consul-client-0}, exp_annotations: {summary: "consul-client-0 in namespace {{{ns}}} has allocated over 80% of its memory limit"}}""",
        "ConsulAgentCertificateExpiring" => $$$"""{exp_labels: {severity: warning, namespace: {{{ns}}}, pod: consul-client-0}, exp_annotations: {summary: "The TLS certificate consul-client-0 in namespace {{{ns}}} serves expires within 7 days"}}""",
        _ => throw new ArgumentException(alert),
    };

    private static readonly string[] AllAlerts =
        ["ConsulNoLeader", "ConsulAutopilotUnhealthy", "ConsulFailureToleranceZero", "ConsulServerNotVoter", "ConsulRaftCommitTimeHigh", "ConsulMemoryNearLimit", "ConsulAgentCertificateExpiring"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Promtool_fires_each_alert_on_its_trouble_and_in_its_scope_only(bool chart)
    {
        using var directory = new TemporaryDirectory();
        var rules = chart ? Monitoring.Rules(Monitoring.MetricScope.Everywhere) : Monitoring.Rules(Monitoring.MetricScope.For(Monitored()));
        directory.Write("rules.yaml", YamlDocuments.Write([new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = "consul", ["rules"] = rules }) }]));

        // The cluster's own rules see only its namespace; the chart's see every namespace.
        string[] alerting = chart ? ["consul", "other"] : ["consul"];
        var tests = new StringBuilder("rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n");
        tests.Append(TroubleSeries("consul")).Append(TroubleSeries("other"));
        tests.Append("    alert_rule_test:\n");
        foreach (var alert in AllAlerts)
        {
            tests.Append($"      - {{eval_time: 70m, alertname: {alert}, exp_alerts: [{string.Join(", ", alerting.Select(ns => Expected(alert, ns)))}]}}\n");
        }

        // A healthy cluster raises nothing.
        tests.Append("""
              - interval: 1m
                input_series:
                  - {series: 'consul_operator_raft_leader{namespace="consul", cluster="consul"}', values: '1x80'}
                  - {series: 'consul_autopilot_healthy{namespace="consul", pod="consul-server-0"}', values: '1x80'}
                  - {series: 'consul_autopilot_failure_tolerance{namespace="consul", pod="consul-server-0"}', values: '1x80'}
                  - {series: 'consul_operator_server_voter{namespace="consul", cluster="consul", server="consul-server-0"}', values: '1x80'}
                  - {series: 'consul_raft_commitTime{namespace="consul", pod="consul-server-0", quantile="0.9"}', values: '5x80'}
                  - {series: 'consul_runtime_alloc_bytes{namespace="consul", pod="consul-server-0"}', values: '100x80'}
                  - {series: 'kube_pod_container_resource_limits{namespace="consul", pod="consul-server-0", container="consul", resource="memory"}', values: '1000x80'}
                  - {series: 'consul_agent_tls_cert_expiry{namespace="consul", pod="consul-server-0"}', values: '2592000x80'}
                alert_rule_test:

            """);
        foreach (var alert in AllAlerts)
        {
            tests.Append($"      - {{eval_time: 70m, alertname: {alert}, exp_alerts: []}}\n");
        }

        var file = directory.Write("tests.yaml", tests.ToString());
        var (code, output, error) = Tools.Run(Tools.Promtool, "test", "rules", file);
        Assert.True(code == 0, output + error);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("consul-operator-rules-").FullName;

        public string Write(string name, string text)
        {
            var file = System.IO.Path.Combine(Path, name);
            File.WriteAllText(file, text);
            return file;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
