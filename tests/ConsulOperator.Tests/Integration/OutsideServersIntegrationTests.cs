using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>
/// A datacenter of three servers on machines, built by hand, gains the operator's servers through spec.join and loses
/// its machines one at a time, with no new CA and no second raft; while a machine's server is down, the operator counts
/// it and restarts nothing.
/// </summary>
public sealed class OutsideServersIntegrationTests() : IntegrationTest()
{
    // The datacenter of a typical guide for Consul 1.6: three servers and two clients on machines.
    private const string Version = "1.6.1";
    private static readonly string[] Servers = ["consul-vm-0", "consul-vm-1", "consul-vm-2"];
    private static readonly string[] Clients = ["app-vm-0", "app-vm-1"];

    [Fact]
    public async Task Servers_join_a_hand_built_datacenter_count_its_servers_in_quorum_and_stay_when_they_retire()
    {
        using var handBuilt = new HandBuiltDatacenter();
        var dc = StartHandBuilt(handBuilt);
        Assert.StartsWith("consul-vm-", dc.Leader, StringComparison.Ordinal);
        CreateCluster(handBuilt, c => c.Spec.Join = ["consul-vm-0.corp.example", "192.168.10.11:8301", "192.168.10.12"]);
        await WaitForReadyAsync();

        // The pods joined the machines' raft as voters: one bootstrap ever, by the machines; six voters, all healthy.
        var config = JsonNode.Parse(Harness.Get<V1ConfigMap>("consul-server-config")!.Data[AgentConfig.ConfigFile])!;
        Assert.Null(config["bootstrap_expect"]);
        Assert.Equal(["consul-server.consul.svc.cluster.local", "consul-vm-0.corp.example", "192.168.10.11:8301", "192.168.10.12"], config["retry_join"]!.AsArray().Select(a => (string?)a));
        Assert.Equal(6, dc.RaftPeers.Count(p => p.Voter && p.Status == ConsulDatacenter.MemberStatus.Alive));
        Assert.Empty(dc.StartFailures);
        Assert.Equal(1, dc.Bootstraps);
        Assert.Equal(1, dc.AclBootstrapCalls);
        Assert.Contains("6 healthy voters (3 outside Kubernetes: consul-vm-0, consul-vm-1, consul-vm-2)", Condition(ClusterStatus.ConsulHealthy).Message, StringComparison.Ordinal);
        Assert.Null(Harness.Get<V1Secret>("consul-ca"));

        // A machine's server goes down: it still counts in raft's quorum, so an upgrade restarts no pod until it is back
        // or has left.
        dc.StopMachine("consul-vm-2", leave: false);
        var restarts = Harness.Record(change => change.Resource.Kind == "Pod" && change.Type == "DELETED" ? (string?)change.Item["metadata"]!["name"] : null);
        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Version = "1.6.10");
        await OperatorHarness.WaitUntilAsync(
            () => Condition(Conditions.Progressing) is { ObservedGeneration: 2 } progressing && progressing.Message.Contains("waiting until every server is a healthy voter", StringComparison.Ordinal)
                && Condition(ClusterStatus.ConsulHealthy).Message.Contains("consul-vm-2", StringComparison.Ordinal),
            "the upgrade to wait for consul-vm-2, which is down");
        await Harness.WaitForReconcilesAsync(3, "looking again while consul-vm-2 is down");
        Assert.Empty(restarts.Snapshot());

        // The machine is retired as the guides say: started once more and asked to leave. Then the upgrade goes on.
        Assert.Null(dc.StartMachine(Machine(handBuilt, "consul-vm-2")));
        dc.StopMachine("consul-vm-2", leave: true);
        await WaitForReadyAsync(generation: 2);
        Assert.Equal(["consul-server-2", "consul-server-1", "consul-server-0"], restarts.Snapshot().Where(p => p.StartsWith("consul-server-", StringComparison.Ordinal)).Take(3));

        // The other machines' servers leave one at a time; the pods keep raft, and spec.join goes once they are all gone.
        foreach (var machine in new[] { "consul-vm-1", "consul-vm-0" })
        {
            dc.StopMachine(machine, leave: true);
            Assert.NotNull(dc.Leader);
        }

        await OperatorHarness.WaitUntilAsync(
            () => Condition(ClusterStatus.ConsulHealthy) is { Status: "True" } healthy && !healthy.Message.Contains("outside Kubernetes", StringComparison.Ordinal),
            "ConsulHealthy with only the pods as voters");
        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Join = null);
        await WaitForReadyAsync(generation: 3);
        Assert.Equal(3, dc.RaftPeers.Count(p => p.Voter && p.Status == ConsulDatacenter.MemberStatus.Alive));
        Assert.All(dc.RaftPeers, p => Assert.StartsWith("consul-server-", p.Name, StringComparison.Ordinal));
        Assert.Equal(1, dc.Bootstraps);
        Assert.Equal([handBuilt.GossipKey], dc.GossipKeys);

        // The machines' clients never stopped: still members of the same gossip pool, whose servers are now the pods.
        Assert.All(Clients, c => Assert.Equal(ConsulDatacenter.MemberStatus.Alive, dc.Find(c)!.Status));

        // The pods now run a raft of their own: joining outside servers again would merge two datacenters, and is refused.
        var retryJoin = Harness.Get<V1ConfigMap>("consul-server-config")!.Data[AgentConfig.ConfigFile];
        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Join = ["consul-vm-0.corp.example"]);
        await OperatorHarness.WaitUntilAsync(() => Condition(Conditions.Ready) is { Reason: "JoinWouldMergeDatacenters", ObservedGeneration: 4 }, "Ready=False (JoinWouldMergeDatacenters)");
        Assert.Equal(retryJoin, Harness.Get<V1ConfigMap>("consul-server-config")!.Data[AgentConfig.ConfigFile]);
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "JoinWouldMergeDatacenters");
    }

    [Fact]
    public async Task Without_spec_join_the_pods_cannot_reach_the_datacenter_and_never_become_ready()
    {
        using var handBuilt = new HandBuiltDatacenter();
        var dc = StartHandBuilt(handBuilt);
        CreateCluster(handBuilt, _ => { });

        await OperatorHarness.WaitUntilAsync(() => dc.StartFailures.ContainsKey("consul-server-0"), "consul-server-0 to fail to join");
        Assert.Contains("reaches none of the datacenter's members", dc.StartFailures["consul-server-0"][0], StringComparison.Ordinal);
        Assert.Equal(3, dc.RaftPeers.Count);
        Assert.NotEqual("True", Condition(Conditions.Ready)?.Status);
    }

    // The servers start, the team bootstraps ACLs with its own token as it did by hand, and the clients join.
    private ConsulDatacenter StartHandBuilt(HandBuiltDatacenter handBuilt)
    {
        var dc = Harness.Consul.DatacenterFor("consul", "consul");
        foreach (var machine in Servers.Concat(Clients))
        {
            if (machine == Clients[0])
            {
                Assert.NotNull(dc.Leader);
                Assert.NotNull(dc.Bootstrap(handBuilt.ManagementToken));
            }

            Assert.Null(dc.StartMachine(Machine(handBuilt, machine)));
        }

        return dc;
    }

    private void CreateCluster(HandBuiltDatacenter handBuilt, Action<V1Alpha1ConsulCluster> change)
    {
        foreach (var secret in handBuilt.Secrets())
        {
            Harness.Create(secret);
        }

        var cluster = Clusters.Sample();
        cluster.Spec.Version = Version;
        HandBuiltDatacenter.Adopt(cluster.Spec);
        change(cluster);
        Harness.Create(cluster);
    }

    private V1Alpha1ConsulCluster Cluster() => Harness.Get<V1Alpha1ConsulCluster>("consul")!;

    private V1Condition Condition(string type) => Conditions.Find(Cluster().Status?.Conditions, type)!;

    // Servers list the other servers in retry_join by address, as the guides' configuration does; clients list all three.
    // Each client has a client certificate of its own, as consul tls cert create -client makes it.
    private static AgentStart Machine(HandBuiltDatacenter handBuilt, string name)
    {
        var server = Servers.Contains(name);
        var address = server ? $"192.168.10.{10 + Array.IndexOf(Servers, name)}" : $"192.168.10.{20 + Array.IndexOf(Clients, name)}";
        var join = Servers.Where(s => s != name).Select(s => $"192.168.10.{10 + Array.IndexOf(Servers, s)}");
        var (certificate, key) = server ? (handBuilt.ServerCertificate, handBuilt.ServerKey) : handBuilt.IssueCertificate("client.dc1.consul");
        return AgentStart.OnMachine(Version, handBuilt.AgentConfig(Version, name, address, join, server), handBuilt.MachineFiles(certificate, key), [$"{name}.corp.example"]);
    }
}
