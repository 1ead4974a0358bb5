using System.Text.Json.Nodes;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Consul;

/// <summary>
/// The simulated Consul runs what was rendered, not what the spec says: a wrong value in a ConfigMap or pod template
/// reaches the simulated agents as it would reach Consul.
/// </summary>
public sealed class SimulatedConsulTests
{
    [Fact]
    public async Task Servers_that_disagree_on_bootstrap_expect_never_elect_a_leader()
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(), objects => EditConfig(objects, "consul-server-config", c => c["bootstrap_expect"] = 5), waitForLeader: false);

        await Integration.OperatorHarness.WaitUntilAsync(() => Refreshed(consul).Agents.Count(a => a.Server) == 3, "three servers to start");
        Assert.Null(consul.Fleet.CurrentLeader("consul", "consul"));
    }

    [Fact]
    public async Task An_agent_refuses_a_key_its_version_does_not_know()
    {
        // ui_config came in 1.9; a 1.6.1 server exits on it, as consul agent does.
        var cluster = Clusters.Default(change: s => s.Version = "1.6.1");
        await using var consul = await RenderedConsul.StartAsync(cluster, objects => EditConfig(objects, "consul-server-config", c => c["ui_config"] = new JsonObject { ["enabled"] = true }), waitForLeader: false);

        await Integration.OperatorHarness.WaitUntilAsync(() => Refreshed(consul).StartFailures.Keys.Count(k => k.StartsWith("consul-server-", StringComparison.Ordinal)) == 3, "every server to refuse its configuration");
        Assert.All(consul.Datacenter.StartFailures.Where(f => f.Key.StartsWith("consul-server-", StringComparison.Ordinal)), f => Assert.Contains("invalid config key ui_config", f.Value));
        Assert.DoesNotContain(consul.Datacenter.Agents, a => a.Server);
    }

    [Fact]
    public async Task A_client_with_another_gossip_key_cannot_join()
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(), objects =>
        {
            var client = objects.Named<V1StatefulSet>("consul-client").Spec.Template.Spec.Containers[0];
            var key = client.Env.Single(e => e.Name == "GOSSIP_KEY");
            key.ValueFrom = null;
            key.Value = ConsulOperator.Pki.GossipKey.Generate();
        });

        await Integration.OperatorHarness.WaitUntilAsync(() => Refreshed(consul).StartFailures.Count == 2, "both clients to fail to join");
        Assert.All(consul.Datacenter.StartFailures.Values, problems => Assert.Contains("No installed keys could decrypt the message", Assert.Single(problems), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Acls_are_as_the_rendered_acl_block_says()
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(), objects => EditConfig(objects, "consul-server-config", c => c.Remove("acl")));

        Assert.False(consul.Datacenter.AclEnabled);
        Assert.True(consul.Datacenter.Allows(null, "operator", "", write: true));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Https_asks_for_a_client_certificate_only_where_the_rendered_config_verifies_incoming(bool verifyIncoming)
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(change: s =>
        {
            s.Acl.Enabled = false;
            s.Tls.HttpsVerifyIncoming = verifyIncoming;
        }));

        // A caller with no certificate at all, trusting the cluster's CA, at the server Service's name.
        using var handler = new System.Net.Http.SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(consul.Fleet.Address, cancel);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && ConsulOperator.Pki.TrustChain.IssuedBy(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate),
                        System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(consul.Material.Ca.CertificatePem)),
            },
        };
        using var http = new HttpClient(handler);
        var call = http.GetStringAsync(new Uri("https://consul-server.consul.svc.cluster.local:8501/v1/status/leader"));

        if (verifyIncoming)
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => call);
        }
        else
        {
            Assert.Equal("\"10.0.0.10:8300\"", await call);
        }
    }

    [Theory]
    [InlineData(true, true, 200, "\nconsul_runtime_alloc_bytes ")]
    [InlineData(true, false, 200, "\nconsul_consul_server_0_runtime_alloc_bytes ")]
    [InlineData(false, true, 415, "Prometheus is not enabled since its retention time is not positive")]
    public async Task Prometheus_metrics_follow_the_rendered_telemetry_block(bool enabled, bool disableHostname, int status, string expected)
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(change: s =>
        {
            s.Acl.Enabled = false;
            s.Telemetry.Enabled = enabled;
            s.Telemetry.DisableHostname = disableHostname;
        }));
        var cli = consul.Material.Leaves["consul-cli-tls"];
        using var scraper = new Consumer(consul.Fleet, new Uri("https://consul-server-0.consul-server.consul.svc:8501"), "", consul.Material.Ca.CertificatePem, (cli.CertificatePem, cli.PrivateKeyPem));

        var (code, body) = await scraper.ScrapeAsync("/v1/agent/metrics?format=prometheus");
        Assert.Equal(status, code);
        Assert.Contains(expected, "\n" + body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.10.12", false)]
    [InlineData("1.11.0", true)]
    [InlineData("1.16.1", true)]
    public async Task Agents_report_the_time_left_on_the_certificate_they_serve_from_1_11(string version, bool reported)
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(change: s =>
        {
            s.Version = version;
            s.Acl.Enabled = false;
        }));
        var cli = consul.Material.Leaves["consul-cli-tls"];
        using var scraper = new Consumer(consul.Fleet, new Uri("https://consul-server-0.consul-server.consul.svc:8501"), "", consul.Material.Ca.CertificatePem, (cli.CertificatePem, cli.PrivateKeyPem));
        var (_, body) = await scraper.ScrapeAsync("/v1/agent/metrics?format=prometheus");

        var line = body.Split('\n').SingleOrDefault(l => l.StartsWith("consul_agent_tls_cert_expiry ", StringComparison.Ordinal));
        if (!reported)
        {
            Assert.Null(line);
            return;
        }

        // The rendered certificate of consul-server-0, as the pod mounts it.
        var left = (consul.Material.Leaves["consul-server-0-tls"].NotAfter - DateTimeOffset.UtcNow).TotalSeconds;
        Assert.InRange(double.Parse(line!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), left - 60, left + 1);
    }

    [Theory]
    [InlineData("1.10.12", "consul_autopilot_healthy 1", null)]
    [InlineData("1.16.1", "consul_autopilot_healthy{leader=\"true\"} 1", "consul_autopilot_healthy{leader=\"false\"} 1")]
    public async Task Autopilot_metrics_come_from_the_leader_only_before_pr_12617_and_from_every_server_labelled_after(string version, string fromLeader, string? fromFollower)
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(change: s =>
        {
            s.Version = version;
            s.Acl.Enabled = false;
        }));
        var leader = consul.Fleet.CurrentLeader("consul", "consul")!;
        var follower = consul.Datacenter.Agents.First(a => a.Server && a.Name != leader).Name;
        var cli = consul.Material.Leaves["consul-cli-tls"];

        async Task<string> Scrape(string agent)
        {
            using var scraper = new Consumer(consul.Fleet, new Uri($"https://{agent}.consul-server.consul.svc:8501"), "", consul.Material.Ca.CertificatePem, (cli.CertificatePem, cli.PrivateKeyPem));
            var (code, body) = await scraper.ScrapeAsync("/v1/agent/metrics?format=prometheus");
            Assert.Equal(200, code);
            return "\n" + body;
        }

        Assert.Contains("\n" + fromLeader + "\n", await Scrape(leader), StringComparison.Ordinal);
        var followerBody = await Scrape(follower);
        if (fromFollower is null)
        {
            Assert.DoesNotContain("consul_autopilot_healthy", followerBody, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("\n" + fromFollower + "\n", followerBody, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Servers_back_on_empty_volumes_do_not_bootstrap_beside_a_survivor_and_nobody_is_ready_without_a_leader()
    {
        await using var consul = await RenderedConsul.StartAsync(Clusters.Default(change: s => s.Acl.Enabled = false));
        var claims = ConsulOperator.Testing.KubeApi.ResourceCatalog.ForKind("v1", "PersistentVolumeClaim");
        var pods = ConsulOperator.Testing.KubeApi.ResourceCatalog.ForKind("v1", "Pod");
        foreach (var pod in new[] { "consul-server-1", "consul-server-2" })
        {
            consul.Api.StatefulSets.StopPod("consul", pod);
        }

        foreach (var pod in new[] { "consul-server-1", "consul-server-2" })
        {
            consul.Api.Store.Delete(claims, "consul", $"data-{pod}");
            consul.Api.Store.Delete(pods, "consul", pod);
        }

        // [R4] new pods, new claims, new node IDs; [R3] they see a server with raft peers and do not bootstrap.
        await Integration.OperatorHarness.WaitUntilAsync(
            () => Refreshed(consul).Agents.Count(a => a.Server && a.Status == ConsulOperator.Testing.Consul.ConsulDatacenter.MemberStatus.Alive) == 3,
            "the replacement servers to run");
        Assert.Null(consul.Fleet.CurrentLeader("consul", "consul"));
        await Integration.OperatorHarness.WaitUntilAsync(
            () => consul.Api.Store.Get(ConsulOperator.Testing.KubeApi.ResourceCatalog.ForKind("apps/v1", "StatefulSet"), "consul", "consul-server")?["status"]?["readyReplicas"] is { } ready && ConsulOperator.Testing.KubeApi.ObjectStore.Number(ready) == 0,
            "no server to pass its readiness probe");

        var cli = consul.Material.Leaves["consul-cli-tls"];
        async Task<(int Code, string Body)> Ask(string agent, string path)
        {
            using var client = new Consumer(consul.Fleet, new Uri($"https://{agent}.consul-server.consul.svc:8501"), "", consul.Material.Ca.CertificatePem, (cli.CertificatePem, cli.PrivateKeyPem));
            return await client.ScrapeAsync(path);
        }

        Assert.Equal((500, "No cluster leader"), await Ask("consul-server-0", "/v1/operator/raft/configuration"));
        var (code, body) = await Ask("consul-server-0", "/v1/operator/raft/configuration?stale");
        Assert.Equal(200, code);
        var servers = JsonNode.Parse(body)!["Servers"]!.AsArray();
        Assert.Equal(["consul-server-0", "(unknown)", "(unknown)"], servers.Select(s => (string?)s!["Node"]));
        Assert.Empty(JsonNode.Parse((await Ask("consul-server-1", "/v1/operator/raft/configuration?stale")).Body)!["Servers"]!.AsArray());

        var survivor = JsonNode.Parse((await Ask("consul-server-0", "/v1/agent/self")).Body)!["Stats"]!["raft"]!;
        var replacement = JsonNode.Parse((await Ask("consul-server-1", "/v1/agent/self")).Body)!;
        Assert.True(ulong.Parse((string)survivor["last_log_index"]!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("0", (string?)replacement["Stats"]!["raft"]!["last_log_index"]);
        Assert.DoesNotContain((string)replacement["Config"]!["NodeID"]!, servers.Select(s => (string?)s!["ID"]));
    }

    // Agents follow their pods when the datacenter is next looked at, as on every request.
    private static ConsulOperator.Testing.Consul.ConsulDatacenter Refreshed(RenderedConsul consul)
    {
        consul.Fleet.CurrentLeader(consul.Cluster.Metadata.NamespaceProperty, consul.Cluster.Metadata.Name);
        return consul.Datacenter;
    }

    private static void EditConfig(IReadOnlyList<k8s.IKubernetesObject<V1ObjectMeta>> objects, string configMap, Action<JsonObject> change)
    {
        var map = objects.Named<V1ConfigMap>(configMap);
        var config = JsonNode.Parse(map.Data["config.json"])!.AsObject();
        change(config);
        map.Data["config.json"] = config.ToJsonString();
    }
}
