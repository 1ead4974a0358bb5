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
}
