using ConsulOperator.Consul;
using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Runtime;

public class ClusterStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly DnsOutcome DnsOk = new(true, "Forwarding", "forwards");
    private static readonly AclOutcome AclOk = new(true, "TokensReady", "tokens in place");
    private static readonly ConsulObservation Healthy = Observation(("consul-server-0", true, true), ("consul-server-1", true, true), ("consul-server-2", true, true));

    [Fact]
    public void Ready_needs_every_pod_on_the_latest_spec_and_dns()
    {
        var cluster = Clusters.Default();
        var material = Clusters.KeyMaterialFor(cluster);

        var status = ClusterStatus.Observe(cluster, material, 3, Set(3, 3), Set(2, 2), "10.96.0.10", DnsOk, Healthy, AclOk, null, Now);

        Assert.True(Conditions.IsTrue(status.Conditions, Conditions.Ready));
        Assert.False(Conditions.IsTrue(status.Conditions, Conditions.Progressing));
        Assert.Equal((3, 2, 3), (status.ReadyServers, status.ReadyClients, status.BootstrapExpect));
        Assert.Equal(material.Ca.NotAfter.UtcDateTime, status.CaNotAfter);
    }

    [Fact]
    public void A_statefulset_that_has_not_seen_the_new_spec_is_not_ready_even_with_all_pods_ready()
    {
        var cluster = Clusters.Default();
        var stale = Set(3, 3);
        stale.Metadata.Generation = 2;

        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, stale, Set(2, 2), "10.96.0.10", DnsOk, Healthy, AclOk, null, Now);

        Assert.Equal("PodsNotReady", Conditions.Find(status.Conditions, Conditions.Ready)!.Reason);
        Assert.True(Conditions.IsTrue(status.Conditions, Conditions.Progressing));
    }

    [Fact]
    public void Dns_problems_make_the_cluster_not_ready_with_the_dns_reason()
    {
        var cluster = Clusters.Default();

        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 3), Set(2, 2), "10.96.0.10", new DnsOutcome(false, "DnsConflict", "taken"), Healthy, AclOk, null, Now);

        Assert.Equal(("False", "DnsConflict"), (Conditions.Find(status.Conditions, Conditions.Ready)!.Status, Conditions.Find(status.Conditions, Conditions.Ready)!.Reason));
        Assert.Equal("False", Conditions.Find(status.Conditions, ClusterStatus.DnsReady)!.Status);
    }

    [Fact]
    public void A_refused_spec_keeps_what_was_observed_before_and_says_why()
    {
        var cluster = Clusters.Default();
        cluster.Metadata.Generation = 4;
        cluster.Status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 3), Set(2, 2), "10.96.0.10", DnsOk, Healthy, AclOk, null, Now);

        var refused = ClusterStatus.Refused(cluster, "InvalidSpec", "spec.servers.replicas: 4 is even", Now.AddMinutes(1));

        Assert.Equal(3, refused.BootstrapExpect);
        Assert.Equal(4, refused.ObservedGeneration);
        Assert.True(Conditions.IsTrue(refused.Conditions, Conditions.Degraded));
        Assert.Equal("InvalidSpec", Conditions.Find(refused.Conditions, Conditions.Ready)!.Reason);
    }

    [Fact]
    public void Ready_and_consul_healthy_report_the_leader_and_raft_as_consul_sees_them()
    {
        var cluster = Clusters.Default();
        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 3), Set(2, 2), "10.96.0.10", DnsOk, Healthy, AclOk, null, Now);

        Assert.Equal("consul-server-0", status.Leader);
        Assert.Equal(["consul-server-0", "consul-server-1", "consul-server-2"], status.RaftPeers);
        Assert.Equal((3, 1, 3, 0), (status.Voters, status.FailureTolerance, status.AliveMembers, status.FailedMembers));
        Assert.Equal("Healthy", Conditions.Find(status.Conditions, ClusterStatus.ConsulHealthy)!.Reason);
    }

    public static TheoryData<string, ConsulObservation> UnhealthyClusters => new()
    {
        { "NoLeader", Healthy with { LeaderAddress = null } },
        { "ConsulUnreachable", ConsulObservation.Unreachable("GET https://consul-server.consul.svc.cluster.local:8501/v1/status/leader: unreachable") },
        { "ServersUnhealthy", Observation(("consul-server-0", true, true), ("consul-server-1", true, true), ("consul-server-2", true, false)) },
        { "ServersNotVoters", Observation(("consul-server-0", true, true), ("consul-server-1", true, true), ("consul-server-2", false, true)) },
        { "RaftMembershipMismatch", Observation(("consul-server-0", true, true), ("consul-server-1", true, true)) },
    };

    [Theory]
    [MemberData(nameof(UnhealthyClusters))]
    public void With_all_pods_ready_what_consul_says_decides_ready_and_degraded(string reason, ConsulObservation consul)
    {
        var cluster = Clusters.Default();
        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 3), Set(2, 2), "10.96.0.10", DnsOk, consul, AclOk, null, Now);

        Assert.Equal(("False", reason), (Conditions.Find(status.Conditions, Conditions.Ready)!.Status, Conditions.Find(status.Conditions, Conditions.Ready)!.Reason));
        Assert.Equal(("True", reason), (Conditions.Find(status.Conditions, Conditions.Degraded)!.Status, Conditions.Find(status.Conditions, Conditions.Degraded)!.Reason));
        Assert.Equal("False", Conditions.Find(status.Conditions, ClusterStatus.ConsulHealthy)!.Status);
    }

    [Fact]
    public void Pods_still_starting_are_progress_not_degradation_even_without_a_leader()
    {
        var cluster = Clusters.Default();
        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 1), Set(2, 2), "10.96.0.10", DnsOk, Healthy with { LeaderAddress = null }, AclOk, null, Now);

        Assert.False(Conditions.IsTrue(status.Conditions, Conditions.Degraded));
        Assert.True(Conditions.IsTrue(status.Conditions, Conditions.Progressing));
        Assert.Equal("NoLeader", Conditions.Find(status.Conditions, ClusterStatus.ConsulHealthy)!.Reason);
    }

    [Fact]
    public void A_bootstrap_done_by_someone_else_is_degraded_and_says_what_to_do()
    {
        var cluster = Clusters.Default();
        var blocked = new AclOutcome(false, ConsulAcl.BootstrappedElsewhere, "never bootstraps twice; put the SecretID of a management token under key 'token'");
        var status = ClusterStatus.Observe(cluster, Clusters.KeyMaterialFor(cluster), 3, Set(3, 3), Set(2, 2), "10.96.0.10", DnsOk, Healthy, blocked, null, Now);

        Assert.Equal(ConsulAcl.BootstrappedElsewhere, Conditions.Find(status.Conditions, Conditions.Degraded)!.Reason);
        Assert.Equal(ConsulAcl.BootstrappedElsewhere, Conditions.Find(status.Conditions, Conditions.Ready)!.Reason);
        Assert.Contains("never bootstraps twice", Conditions.Find(status.Conditions, ClusterStatus.AclReady)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Servers_outside_kubernetes_count_in_raft_but_not_against_the_replicas_and_one_unhealthy_is_unhealthy()
    {
        var names = new ConsulOperator.Desired.Names("consul", "consul", "cluster.local");
        var joined = Observation(("consul-vm-0", true, true), ("consul-server-0", true, true), ("consul-server-1", true, true), ("consul-server-2", true, true), ("consul-vm-1", true, true));

        Assert.Equal((true, "Healthy"), (ClusterStatus.AssessConsul(3, joined, names).Healthy, ClusterStatus.AssessConsul(3, joined, names).Reason));
        Assert.Contains("5 healthy voters (2 outside Kubernetes: consul-vm-0, consul-vm-1)", ClusterStatus.AssessConsul(3, joined, names).Message, StringComparison.Ordinal);
        Assert.Equal("RaftMembershipMismatch", ClusterStatus.AssessConsul(5, joined, names).Reason);

        var machineDown = Observation(("consul-vm-0", true, false), ("consul-server-0", true, true), ("consul-server-1", true, true), ("consul-server-2", true, true));
        Assert.Equal(("ServersUnhealthy", false), (ClusterStatus.AssessConsul(3, machineDown, names).Reason, ClusterStatus.AssessConsul(3, machineDown, names).Healthy));
    }

    private static ConsulObservation Observation(params (string Name, bool Voter, bool Healthy)[] servers) => new(
        "10.0.0.10:8300",
        new RaftConfiguration([.. servers.Select((s, i) => new RaftServer($"id-{i}", s.Name, $"10.0.0.{10 + i}:8300", i == 0, s.Voter))], 1),
        new AutopilotHealth(servers.All(s => s.Healthy), 1, [.. servers.Select((s, i) => new ServerHealth($"id-{i}", s.Name, $"10.0.0.{10 + i}:8300", s.Healthy ? "alive" : "failed", "1.16.1", i == 0, s.Healthy, s.Voter))]),
        [.. servers.Select(s => new AgentMember(s.Name, "10.0.0.1", 8301, new Dictionary<string, string> { ["role"] = "consul" }, AgentMember.Alive))],
        null);

    private static V1StatefulSet Set(int replicas, int ready) => new()
    {
        Metadata = new V1ObjectMeta { Generation = 1 },
        Spec = new V1StatefulSetSpec { Replicas = replicas },
        Status = new V1StatefulSetStatus { ObservedGeneration = 1, ReadyReplicas = ready, UpdatedReplicas = replicas, Replicas = replicas },
    };
}
