using System.Text.Json.Nodes;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>Consul's own metrics, scraped as Prometheus would with the identity the operator keeps for it.</summary>
public sealed class TelemetryIntegrationTests() : IntegrationTest()
{
    [Fact]
    public async Task Every_agent_serves_its_metrics_to_the_scrape_identity_and_to_nobody_without_it()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Harness.Consul.CurrentLeader("consul", "consul");

        // What a scrape configuration points at: the CA ConfigMap, the certificate Secret, the token Secret.
        var ca = Harness.Get<V1ConfigMap>("consul-ca-cert")!.Data[KeyMaterialSecrets.CaCertificateKey];
        var tls = Harness.Get<V1Secret>("consul-metrics-tls")!;
        var client = (KeyMaterialSecrets.Text(tls, KeyMaterialSecrets.CertificateKey)!, KeyMaterialSecrets.Text(tls, KeyMaterialSecrets.PrivateKeyKey)!);
        var token = KeyMaterialSecrets.Text(Harness.Get<V1Secret>("consul-acl-metrics")!, "token")!;

        foreach (var agent in dc.Agents)
        {
            // Prometheus dials the endpoint and checks the certificate against the role's name.
            var serverName = agent.Server ? "server.dc1.consul" : "client.dc1.consul";
            var address = new Uri($"https://{agent.Name}.consul-{(agent.Server ? "server" : "client")}.consul.svc:8501");
            using var prometheus = new Consumer(Harness.Consul, address, token, ca, client, serverName);
            var (status, body) = await prometheus.ScrapeAsync("/v1/agent/metrics?format=prometheus");
            Assert.True(status == 200, $"{agent.Name}: {status} {body}");
            Assert.Contains("\nconsul_runtime_alloc_bytes ", "\n" + body, StringComparison.Ordinal);
            // 1.16.1 (the sample's): every server reports autopilot's view, labelled with whether it leads.
            if (agent.Server)
            {
                Assert.Contains($"\nconsul_autopilot_healthy{{leader=\"{(agent.Name == dc.Leader ? "true" : "false")}\"}} 1", "\n" + body, StringComparison.Ordinal);
            }

            // Without the token: the anonymous token of a default-deny datacenter may not read the agent.
            using var anonymous = new Consumer(Harness.Consul, address, "", ca, client, serverName);
            Assert.Equal(403, (await anonymous.ScrapeAsync("/v1/agent/metrics?format=prometheus")).Status);

            // Without the certificate: HTTPS verifies incoming connections, so there is no answer at all.
            using var uncertified = new Consumer(Harness.Consul, address, token, ca, null, serverName);
            await Assert.ThrowsAsync<HttpRequestException>(() => uncertified.ScrapeAsync("/v1/agent/metrics?format=prometheus"));
        }

        // The token reads agents and nothing else.
        Assert.False(dc.Allows(token, "key", "anything", write: false));
        Assert.False(dc.Allows(token, "agent", "consul-server-0", write: true));
    }

    [Fact]
    public async Task Pod_monitors_wait_for_the_prometheus_operator_and_then_scrape_every_agent_as_prometheus_would()
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Telemetry.PodMonitor = new();
        cluster.Spec.Telemetry.PrometheusRule = new();
        Harness.Create(cluster);

        // Without the Prometheus Operator's CRDs the cluster still comes up, and a Warning says what is missing.
        await WaitForReadyAsync();
        await OperatorHarness.WaitUntilAsync(
            () => Harness.List("v1", "Event").Any(e => (string?)e["reason"] == "PrometheusOperatorMissing" && (string?)e["type"] == "Warning"), "a Warning about the missing CRDs");

        // Installed later, they are picked up without a restart.
        Harness.Api.InstallPrometheusOperatorCrds();
        await OperatorHarness.WaitUntilAsync(
            () => Harness.List("monitoring.coreos.com/v1", "PodMonitor").Count == 2 && Harness.List("monitoring.coreos.com/v1", "PrometheusRule").Count == 1, "the PodMonitors and the PrometheusRule");

        // What the Prometheus Operator makes of each PodMonitor: every pod its selector picks, at the port it names, with
        // the CA, certificate, key and token read from the Secrets it names, checked against its serverName.
        // The Consul series the per-agent alerts read (memory, certificate expiry), by the names the rendered rule uses.
        var rule = Harness.List("monitoring.coreos.com/v1", "PrometheusRule").Single();
        var agentSeries = rule["spec"]!["groups"]![0]!["rules"]!.AsArray()
            .Where(r => (string?)r!["alert"] is "ConsulMemoryNearLimit" or "ConsulAgentCertificateExpiring")
            .SelectMany(r => System.Text.RegularExpressions.Regex.Matches((string)r!["expr"]!, "consul_[A-Za-z_]+").Select(m => m.Value))
            .Where(m => !m.StartsWith("consul_operator_", StringComparison.Ordinal)).Distinct().ToList();
        Assert.Equal(["consul_agent_tls_cert_expiry", "consul_runtime_alloc_bytes"], agentSeries.Order(StringComparer.Ordinal));

        var scraped = new List<string>();
        foreach (var monitor in Harness.List("monitoring.coreos.com/v1", "PodMonitor"))
        {
            var selector = monitor["spec"]!["selector"]!["matchLabels"]!.AsObject();
            var endpoint = monitor["spec"]!["podMetricsEndpoints"]![0]!;
            string Key(JsonNode reference) => KeyMaterialSecrets.Text(Harness.Get<V1Secret>((string)reference["name"]!)!, (string)reference["key"]!)!;
            var tls = endpoint["tlsConfig"]!;
            var token = Key(endpoint["authorization"]!["credentials"]!);
            foreach (var pod in Harness.List("v1", "Pod").Where(p => selector.All(l => (string?)p["metadata"]!["labels"]?[l.Key] == (string?)l.Value)))
            {
                var name = (string)pod["metadata"]!["name"]!;
                var set = Harness.Get<V1StatefulSet>((string)pod["metadata"]!["ownerReferences"]![0]!["name"]!)!;
                var port = pod["spec"]!["containers"]!.AsArray().SelectMany(c => c!["ports"]!.AsArray()).Single(p => (string?)p!["name"] == (string?)endpoint["port"])!["containerPort"]!;
                using var prometheus = new Consumer(
                    Harness.Consul, new Uri($"{endpoint["scheme"]}://{name}.{set.Spec.ServiceName}.consul.svc:{port}"), token, Key(tls["ca"]!["secret"]!),
                    (Key(tls["cert"]!["secret"]!), Key(tls["keySecret"]!)), (string)tls["serverName"]!);
                var (status, body) = await prometheus.ScrapeAsync($"{endpoint["path"]}?format={endpoint["params"]!["format"]![0]}");
                Assert.True(status == 200, $"{name}: {status} {body}");
                Assert.All(agentSeries, series => Assert.Contains($"\n{series} ", "\n" + body, StringComparison.Ordinal));
                scraped.Add(name);
            }
        }

        Assert.Equal(["consul-client-0", "consul-client-1", "consul-server-0", "consul-server-1", "consul-server-2"], scraped.Order(StringComparer.Ordinal));
    }
}
