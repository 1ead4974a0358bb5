using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Consul;

/// <summary>The typed client over mutual TLS against the simulated datacenter: answers, errors, retries and who trusts whom.</summary>
public sealed class ConsulClientTests : IAsyncLifetime
{
    private static readonly ConsulRetry Fast = new(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(5));
    private readonly Names names = new("consul", "consul", "cluster.local");
    private readonly KeyMaterial material = Clusters.KeyMaterialFor(Clusters.Default());
    private readonly ConsulDatacenter datacenter = new("dc1", "1.16.1", TimeProvider.System) { AclEnabled = false };
    private readonly List<ConsulConnections> connections = [];
    private TestConsulServer server = null!;

    public async Task InitializeAsync()
    {
        datacenter.ObservePods(Pods(3, 2));
        server = await TestConsulServer.StartAsync(new ConsulSite(datacenter, new ConsulTls(
            () => X509Certificate2.CreateFromPem(material.Ca.CertificatePem),
            serverName => (material.Leaves.GetValueOrDefault($"{serverName?.Split('.')[0]}-tls") ?? material.Leaves["consul-server-0-tls"]).ToX509Certificate2())));
    }

    public async Task DisposeAsync()
    {
        connections.ForEach(c => c.Dispose());
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Reads_leader_peers_raft_autopilot_and_members_over_mutual_tls()
    {
        var consul = Client();
        Assert.Equal("10.0.0.10:8300", await consul.LeaderAsync(default));

        var raft = await consul.RaftConfigurationAsync(default);
        Assert.Equal(["consul-server-0", "consul-server-1", "consul-server-2"], raft.Servers.Select(s => s.Node));
        Assert.All(raft.Servers, s => Assert.True(s.Voter));
        Assert.Single(raft.Servers, s => s.Leader);

        var health = await consul.AutopilotHealthAsync(default);
        Assert.True(health.Healthy);
        Assert.Equal(1, health.FailureTolerance);

        var members = await consul.MembersAsync(ConsulEndpoints.Agent(names, Components.Client, 1), default);
        Assert.Equal(5, members.Count);
        Assert.Equal(3, members.Count(m => m.IsServer && m.Status == AgentMember.Alive));
    }

    [Fact]
    public async Task An_unhealthy_cluster_is_an_answer_not_an_error()
    {
        datacenter.SetHealthy("consul-server-2", false);
        var health = await Client().AutopilotHealthAsync(default);
        Assert.False(health.Healthy);
        Assert.False(health.Servers.Single(s => s.Name == "consul-server-2").Healthy);
    }

    [Fact]
    public async Task Registers_lists_checks_and_deregisters_a_service_on_one_agent()
    {
        var consul = Client();
        var agent = ConsulEndpoints.Agent(names, Components.Client, 0);
        var registration = new JsonObject
        {
            ["ID"] = "db-1",
            ["Name"] = "db",
            ["Address"] = "10.9.0.5",
            ["Port"] = 5432,
            ["Checks"] = new JsonArray(new JsonObject { ["CheckID"] = "db-1-0", ["TCP"] = "10.9.0.5:5432", ["Interval"] = "10s" }),
        };
        await consul.RegisterServiceAsync(agent, registration, default);

        var services = await consul.AgentServicesAsync(agent, default);
        Assert.Equal("db", services["db-1"].Service);
        Assert.Empty(await consul.AgentServicesAsync(ConsulEndpoints.Agent(names, Components.Client, 1), default));

        var entry = Assert.Single(await consul.ServiceHealthAsync("db", default));
        Assert.Equal("consul-client-0", entry.Node.Node);
        Assert.Equal("critical", entry.Checks.Single(c => c.CheckID == "db-1-0").Status);

        Assert.True(await consul.DeregisterServiceAsync(agent, "db-1", default));
        Assert.False(await consul.DeregisterServiceAsync(agent, "db-1", default));
    }

    [Fact]
    public async Task Transient_failures_are_retried_and_the_last_one_names_endpoint_and_status()
    {
        var consul = Client();
        server.Faults.FailNext("/v1/status/leader", 2, 500);
        Assert.NotNull(await consul.LeaderAsync(default));

        server.Faults.FailNext("/v1/operator/raft/configuration", 3, 500, "rpc error: injected");
        var failure = await Assert.ThrowsAsync<ConsulApiException>(() => consul.RaftConfigurationAsync(default));
        Assert.Equal(HttpStatusCode.InternalServerError, failure.StatusCode);
        Assert.Contains("GET https://consul-server.consul.svc.cluster.local:8501/v1/operator/raft/configuration: 500 rpc error: injected", failure.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Requests.Count(r => r.StartsWith("GET /v1/operator/raft/configuration", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Refusals_are_not_retried()
    {
        server.Faults.FailNext("/v1/operator/raft/configuration", 1, 403, "Permission denied");
        var failure = await Assert.ThrowsAsync<ConsulApiException>(() => Client().RaftConfigurationAsync(default));
        Assert.True(failure.IsPermissionDenied);
        Assert.Single(server.Requests, r => r.StartsWith("GET /v1/operator/raft/configuration", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_slow_agent_times_out_per_attempt()
    {
        server.Faults.Latency = TimeSpan.FromSeconds(3);
        var consul = Client(new ConsulRetry(1, TimeSpan.Zero, TimeSpan.FromMilliseconds(200)));
        var failure = await Assert.ThrowsAsync<ConsulApiException>(() => consul.LeaderAsync(default));
        Assert.Null(failure.StatusCode);
        Assert.Contains("no answer within 0.2 s", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_leader_consul_says_so_and_the_client_tells_it_apart()
    {
        datacenter.ForceNoLeader(true);
        var consul = Client();
        Assert.Null(await consul.LeaderAsync(default));
        var failure = await Assert.ThrowsAsync<ConsulApiException>(() => consul.RaftConfigurationAsync(default));
        Assert.True(failure.IsNoLeader);
    }

    [Fact]
    public async Task Only_a_server_of_the_datacenter_is_trusted()
    {
        // The agent at a server's name presents a client certificate: valid chain, wrong role.
        await using var impostor = await TestConsulServer.StartAsync(new ConsulSite(datacenter, new ConsulTls(
            () => X509Certificate2.CreateFromPem(material.Ca.CertificatePem),
            _ => material.Leaves["consul-client-0-tls"].ToX509Certificate2())));
        var failure = await Assert.ThrowsAsync<ConsulApiException>(() => Client(port: impostor.Port).LeaderAsync(default));
        Assert.Null(failure.StatusCode);
        Assert.Contains("unreachable", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_is_refused_and_so_is_a_client_from_another_ca()
    {
        var other = Clusters.KeyMaterialFor(Clusters.Default());
        await Assert.ThrowsAsync<ConsulApiException>(() => Client(ca: other.Ca).LeaderAsync(default));
        await Assert.ThrowsAsync<ConsulApiException>(() => Client(cli: other.Leaves["consul-cli-tls"]).LeaderAsync(default));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task An_agent_whose_pod_is_gone_cannot_be_reached()
    {
        datacenter.ObservePods([.. Pods(3, 2).Where(p => p.Name != "consul-client-1")]);
        await Assert.ThrowsAsync<ConsulApiException>(() => Client().AgentServicesAsync(ConsulEndpoints.Agent(names, Components.Client, 1), default));
    }

    [Fact]
    public async Task Acl_bootstrap_happens_once_and_then_tokens_decide()
    {
        datacenter.AclEnabled = true;
        var anonymous = Client();
        var secret = Guid.NewGuid().ToString();
        var bootstrap = await anonymous.BootstrapAclAsync(secret, default);
        Assert.Equal(secret, bootstrap.SecretID);
        var again = await Assert.ThrowsAsync<ConsulApiException>(() => anonymous.BootstrapAclAsync(Guid.NewGuid().ToString(), default));
        Assert.True(again.IsPermissionDenied);
        Assert.Contains("ACL bootstrap no longer allowed", again.Message, StringComparison.Ordinal);

        Assert.True((await Assert.ThrowsAsync<ConsulApiException>(() => anonymous.RaftConfigurationAsync(default))).IsPermissionDenied);
        var management = anonymous.WithToken(secret);
        Assert.Equal(3, (await management.RaftConfigurationAsync(default)).Servers.Count);

        var policy = await management.CreatePolicyAsync(new NewAclPolicy("operator-read", "test", "operator = \"read\""), default);
        Assert.Equal(policy.ID, (await management.PolicyByNameAsync("operator-read", default))!.ID);
        var reader = await management.CreateTokenAsync(new NewAclToken("reader", ["operator-read"]), default);
        var readerClient = anonymous.WithToken(reader.SecretID);
        Assert.Equal(3, (await readerClient.RaftConfigurationAsync(default)).Servers.Count);
        Assert.True((await Assert.ThrowsAsync<ConsulApiException>(() => readerClient.RemoveRaftPeerAsync("x", default))).IsPermissionDenied);
        Assert.Null(await anonymous.WithToken("not-a-token").SelfTokenAsync(default));
    }

    [Fact]
    public async Task Gossip_keys_rotate_install_use_remove()
    {
        datacenter.InstallInitialGossipKey("old");
        var consul = Client();
        await consul.InstallGossipKeyAsync("new", default);
        var pools = await consul.KeyringAsync(default);
        Assert.All(pools, p => Assert.Equal(p.NumNodes, p.Keys["new"]));
        await Assert.ThrowsAsync<ConsulApiException>(() => consul.RemoveGossipKeyAsync("old", default));
        await consul.UseGossipKeyAsync("new", default);
        await consul.RemoveGossipKeyAsync("old", default);
        Assert.Equal(["new"], datacenter.GossipKeys);
    }

    private static List<ConsulDatacenter.PodView> Pods(int servers, int clients) =>
    [
        .. Enumerable.Range(0, servers).Select(i => new ConsulDatacenter.PodView($"consul-server-{i}", i, true, $"uid-s{i}", true, "1.16.1")),
        .. Enumerable.Range(0, clients).Select(i => new ConsulDatacenter.PodView($"consul-client-{i}", i, false, $"uid-c{i}", true, "1.16.1")),
    ];

    private ConsulClient Client(ConsulRetry? retry = null, int? port = null, CertificateAuthority? ca = null, IssuedCertificate? cli = null)
    {
        var target = port ?? server.Port;
        var pool = new ConsulConnections(new ConsulEndpoints((_, _) => ValueTask.FromResult(new DnsEndPoint("127.0.0.1", target))), retry ?? Fast, TimeProvider.System);
        connections.Add(pool);
        return pool.For(names, "dc1", "consul", ca ?? material.Ca, cli ?? material.Leaves["consul-cli-tls"], null);
    }
}
