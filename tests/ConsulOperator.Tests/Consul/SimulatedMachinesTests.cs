using System.Text.Json.Nodes;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Consul;

/// <summary>
/// The simulated Consul's servers on machines (a hand-built datacenter, configured as its guides do, certificates made by
/// openssl): how they bootstrap, join through retry_join, and reach each other over verified RPC.
/// </summary>
public sealed class SimulatedMachinesTests : IDisposable
{
    private readonly HandBuiltDatacenter handBuilt = new();
    private readonly ConsulDatacenter dc = new(TimeProvider.System);

    [Fact]
    public void Three_servers_bootstrap_once_the_third_joins_and_one_without_an_expect_of_its_own_counts()
    {
        Assert.Null(dc.StartMachine(Machine("vm-0", 10)));
        Assert.Null(dc.StartMachine(Machine("vm-1", 11)));
        Assert.Null(dc.Leader);

        // server_serf.go maybeBootstrap skips only members with another expect: one with none is a voter to count.
        Assert.Null(dc.StartMachine(Machine("vm-2", 12, config => config.Remove("bootstrap_expect"))));
        Assert.NotNull(dc.Leader);
        Assert.Equal(3, dc.RaftPeers.Count(p => p.Voter));
    }

    [Fact]
    public void Servers_that_expect_different_counts_never_bootstrap()
    {
        dc.StartMachine(Machine("vm-0", 10));
        dc.StartMachine(Machine("vm-1", 11));
        dc.StartMachine(Machine("vm-2", 12, config => config["bootstrap_expect"] = 5));

        Assert.Null(dc.Leader);
        Assert.Empty(dc.RaftPeers);
    }

    [Fact]
    public void A_server_whose_certificate_another_ca_signed_is_not_added_to_raft()
    {
        StartDatacenter();
        using var other = new HandBuiltDatacenter();
        var failure = dc.StartMachine(Machine("vm-3", 13, files: handBuilt.MachineFiles(other.ServerCertificate, other.ServerKey)));

        Assert.NotNull(failure);
        Assert.Contains("x509: certificate signed by unknown authority", failure[0], StringComparison.Ordinal);
        Assert.Equal(3, dc.RaftPeers.Count);
    }

    [Fact]
    public void A_server_whose_certificate_lacks_the_server_name_is_refused_where_the_name_is_verified()
    {
        StartDatacenter();
        var (certificate, key) = handBuilt.IssueCertificate("vm-3.corp.example");

        var failure = dc.StartMachine(Machine("vm-3", 13, files: handBuilt.MachineFiles(certificate, key)));

        Assert.NotNull(failure);
        Assert.Contains("x509: certificate is not valid for server.dc1.consul", failure[0], StringComparison.Ordinal);
        Assert.Equal(3, dc.RaftPeers.Count);
    }

    [Fact]
    public void A_server_whose_retry_join_reaches_nobody_of_a_running_datacenter_does_not_join_it()
    {
        StartDatacenter();

        var failure = dc.StartMachine(Machine("vm-3", 13, config => config["retry_join"] = new JsonArray("192.168.99.1", "vm-9.corp.example")));

        Assert.NotNull(failure);
        Assert.Contains("retry_join [192.168.99.1, vm-9.corp.example] reaches none of the datacenter's members", failure[0], StringComparison.Ordinal);
        Assert.Equal(3, dc.RaftPeers.Count);
    }

    [Fact]
    public void A_server_that_joins_by_dns_name_and_port_becomes_a_voter_through_the_leader()
    {
        StartDatacenter();

        Assert.Null(dc.StartMachine(Machine("vm-3", 13, config => config["retry_join"] = new JsonArray("vm-1.corp.example:8301"))));

        Assert.Equal(4, dc.RaftPeers.Count(p => p.Voter));
    }

    public void Dispose() => handBuilt.Dispose();

    private void StartDatacenter()
    {
        foreach (var (name, octet) in new[] { ("vm-0", 10), ("vm-1", 11), ("vm-2", 12) })
        {
            Assert.Null(dc.StartMachine(Machine(name, octet)));
        }

        Assert.NotNull(dc.Leader);
    }

    private AgentStart Machine(string name, int octet, Action<JsonObject>? change = null, IReadOnlyDictionary<string, string>? files = null)
    {
        var config = handBuilt.AgentConfig("1.16.1", name, $"192.168.10.{octet}", ["192.168.10.10", "192.168.10.11", "192.168.10.12"]);
        change?.Invoke(config);
        return AgentStart.OnMachine("1.16.1", config, files ?? handBuilt.MachineFiles(), [$"{name}.corp.example"]);
    }
}
