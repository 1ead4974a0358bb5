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
    private readonly List<ConsulConnections> connections = [];
    private RenderedConsul consul = null!;

    private KeyMaterial material => consul.Material;

    private ConsulDatacenter datacenter => consul.Datacenter;

    private TestConsulServer server => consul.Fleet.Server;

    // ACLs off: these tests are about the client; ACLs have a test of their own with a cluster rendered with them on.
    public async Task InitializeAsync() => consul = await RenderedConsul.StartAsync(Clusters.Default(change: s => s.Acl.Enabled = false));

    public async Task DisposeAsync()
    {
        connections.ForEach(c => c.Dispose());
        await consul.DisposeAsync();
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
        // The server's Secret holds a client certificate: valid chain, wrong role.
        await consul.DisposeAsync();
        consul = await RenderedConsul.StartAsync(Clusters.Default(change: s => s.Acl.Enabled = false), objects =>
        {
            var server0 = objects.Named<k8s.Models.V1Secret>("consul-server-0-tls");
            server0.Data = objects.Named<k8s.Models.V1Secret>("consul-client-0-tls").Data;
        });
        var failure = await Assert.ThrowsAsync<ConsulApiException>(() => Client().LeaderAsync(default));
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
    public async Task An_agent_whose_pod_is_not_running_cannot_be_reached()
    {
        consul.Api.StatefulSets.LimitReady("consul", "consul-client", 1);
        await Assert.ThrowsAsync<ConsulApiException>(() => Client().AgentServicesAsync(ConsulEndpoints.Agent(names, Components.Client, 1), default));
    }

    [Fact]
    public async Task Acl_bootstrap_happens_once_and_then_tokens_decide()
    {
        await consul.DisposeAsync();
        consul = await RenderedConsul.StartAsync(Clusters.Default());
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
        var reader = await management.CreateTokenAsync(new NewAclToken("reader", NewAclToken.ByName("operator-read")), default);
        var readerClient = anonymous.WithToken(reader.SecretID);
        Assert.Equal(3, (await readerClient.RaftConfigurationAsync(default)).Servers.Count);
        Assert.True((await Assert.ThrowsAsync<ConsulApiException>(() => readerClient.RemoveRaftPeerAsync("x", default))).IsPermissionDenied);
        Assert.Null(await anonymous.WithToken("not-a-token").SelfTokenAsync(default));
    }

    [Fact]
    public async Task Gossip_keys_rotate_install_use_remove()
    {
        var old = Assert.Single(datacenter.GossipKeys);
        var client = Client();
        await client.InstallGossipKeyAsync("new", default);
        var pools = await client.KeyringAsync(default);
        Assert.All(pools, p => Assert.Equal(p.NumNodes, p.Keys["new"]));
        await Assert.ThrowsAsync<ConsulApiException>(() => client.RemoveGossipKeyAsync(old, default));
        await client.UseGossipKeyAsync("new", default);
        await client.RemoveGossipKeyAsync(old, default);
        Assert.Equal(["new"], datacenter.GossipKeys);
    }

    private ConsulClient Client(ConsulRetry? retry = null, int? port = null, CertificateAuthority? ca = null, IssuedCertificate? cli = null)
    {
        var target = port ?? server.Port;
        var pool = new ConsulConnections(new ConsulEndpoints((_, _) => ValueTask.FromResult(new DnsEndPoint("127.0.0.1", target))), retry ?? Fast, TimeProvider.System);
        connections.Add(pool);
        return pool.For(names, "dc1", "consul", ca ?? material.Ca, cli ?? material.Leaves["consul-cli-tls"], null);
    }
}
