using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public sealed class OutsideServersTests
{
    [Fact]
    public void Join_may_come_with_a_new_cluster_or_one_whose_raft_is_not_formed_yet()
    {
        Assert.Null(OutsideServers.MergeRefusal(Cluster(peers: null), null));
        Assert.Null(OutsideServers.MergeRefusal(Cluster(peers: []), Config("consul-server.consul.svc.cluster.local")));
    }

    [Fact]
    public void Join_may_change_on_a_cluster_that_joined_outside_servers_before()
    {
        // The outside servers are still in raft, or the pods' configuration lists them (they have retired since).
        Assert.Null(OutsideServers.MergeRefusal(Cluster(peers: ["consul-server-0", "consul-vm-0"]), Config("consul-server.consul.svc.cluster.local")));
        Assert.Null(OutsideServers.MergeRefusal(Cluster(peers: ["consul-server-0"]), Config("consul-server.consul.svc.cluster.local", "consul-vm-0.corp.example")));
    }

    [Fact]
    public void Join_is_refused_for_pods_that_run_a_raft_of_their_own()
    {
        var refusal = OutsideServers.MergeRefusal(Cluster(peers: ["consul-server-0", "consul-server-1", "consul-server-2"]), Config("consul-server.consul.svc.cluster.local"));

        Assert.NotNull(refusal);
        Assert.StartsWith("spec.join [consul-vm-0.corp.example] would join servers that already run a raft of their own (consul-server-0, consul-server-1, consul-server-2)", refusal, StringComparison.Ordinal);
        Assert.Null(OutsideServers.MergeRefusal(Cluster(peers: ["consul-server-0"], joining: false), Config("consul-server.consul.svc.cluster.local")));
    }

    private static V1Alpha1ConsulCluster Cluster(List<string>? peers, bool joining = true)
    {
        var cluster = Clusters.Default(change: s => s.Join = joining ? ["consul-vm-0.corp.example"] : null);
        cluster.Status = new ConsulClusterStatus { RaftPeers = peers };
        return cluster;
    }

    private static V1ConfigMap Config(params string[] retryJoin) => new()
    {
        Data = new Dictionary<string, string> { [AgentConfig.ConfigFile] = new JsonObject { ["retry_join"] = new JsonArray([.. retryJoin.Select(a => JsonValue.Create(a))]) }.ToJsonString() },
    };
}
