using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>
/// A cluster's whole life through the real operator, once per Consul version of the support matrix: the simulated agents
/// answer as that version does (tests/ConsulOperator.Testing/Consul/UPSTREAM.md), so what differs between versions
/// (policy lookup, node identities, the offered bootstrap secret, deregistering a lost service) is exercised for real.
/// </summary>
public sealed class ConsulVersionIntegrationTests() : IntegrationTest()
{
    private const string ServiceId = "k8s-consul-r-3306-mysql";

    /// <summary>The support matrix: the line the hand-built clusters we replace run, 1.10, our default and the newest line.</summary>
    public static readonly TheoryData<string> SupportMatrix = ["1.6.1", "1.10.12", "1.16.1", "1.22.0"];

    [Theory]
    [MemberData(nameof(SupportMatrix))]
    public async Task Acls_dns_registration_scaling_restarts_gossip_rotation_and_deregistration_work_on(string version)
    {
        var offered = Harness.Record(change => change.Resource.Kind == "Secret" && (string?)change.Item["metadata"]!["name"] == "consul-acl-bootstrap"
            ? $"{Data(change.Item, ConsulAcl.StateKey)}={Data(change.Item, ConsulAcl.TokenKey)}"
            : null, collapseRepeats: true);
        var cluster = Clusters.Sample();
        cluster.Spec.Version = version;
        Harness.Create(cluster);
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.Empty(dc.StartFailures);
        Assert.All(dc.Agents, a => Assert.Equal(version, a.Version));

        // ACLs: bootstrapped once; the management token kept is the one Consul accepted, which is the offered one only
        // where the version reads the offer.
        Assert.Equal(1, dc.Bootstraps);
        var states = offered.Snapshot();
        var pending = states.First(s => s.StartsWith(ConsulAcl.Pending, StringComparison.Ordinal))[(ConsulAcl.Pending.Length + 1)..];
        var done = states.Last(s => s.StartsWith(ConsulAcl.Done, StringComparison.Ordinal))[(ConsulAcl.Done.Length + 1)..];
        Assert.Equal(ConsulOperator.Testing.Consul.UpstreamBehaviour.Of(version).AcceptsBootstrapSecret, pending == done);
        Assert.True(dc.Allows(done, "acl", "", write: true));

        // Each agent's token lets it write its own node and no other, by node identity or by a policy of its own.
        AssertAgentTokens(3, 2);

        // DNS (the anonymous token) sees the servers.
        Assert.Equal(["10.0.0.10", "10.0.0.11", "10.0.0.12"], dc.ResolveService("consul"));

        // Registration, health in DNS, and registration again after the agent lost it.
        Harness.Create(Clusters.SampleService());
        var registered = await WaitForServiceAsync(s => s.Registered == true, "the service to register");
        dc.SetCheckStatus(ServiceId, "passing");
        await OperatorHarness.WaitUntilAsync(() => dc.ResolveService("r-3306-mysql").SequenceEqual(["172.16.0.2"]), "DNS to answer for the healthy service");
        dc.RestartAgent(registered.RegisteredOn!);
        await OperatorHarness.WaitUntilAsync(() => dc.Find(registered.RegisteredOn!)!.Services.ContainsKey(ServiceId), "the operator to register it again");

        // Scaling up one server at a time; the new servers get working tokens too.
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Servers.Replicas = 5);
        await WaitForReadyAsync(generation: 2);
        AssertAgentTokens(5, 2);

        // A template change restarts every agent, one at a time; each comes back with the token from its Secret.
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster =>
        {
            cluster.Spec.Servers.PriorityClassName = "consul-critical";
            cluster.Spec.Clients.PriorityClassName = "consul-critical";
        });
        var uids = Harness.List("v1", "Pod").ToDictionary(p => (string)p["metadata"]!["name"]!, p => (string)p["metadata"]!["uid"]!);
        await OperatorHarness.WaitUntilAsync(
            () => Harness.List("v1", "Pod").All(p => (string?)p["spec"]?["priorityClassName"] == "consul-critical") && Harness.Get<V1Alpha1ConsulCluster>("consul") is { } c
                && c.Status?.ObservedGeneration == 3 && Conditions.IsTrue(c.Status.Conditions, Conditions.Ready),
            "every agent pod to be restarted with the new template and the cluster Ready");
        Assert.All(Harness.List("v1", "Pod"), p => Assert.NotEqual(uids[(string)p["metadata"]!["name"]!], (string)p["metadata"]!["uid"]!));
        AssertAgentTokens(5, 2);

        // Gossip key rotation.
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Gossip.Rotation = "2026-12-02");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.GossipRotation == "2026-12-02", "the gossip rotation to complete");
        Assert.Equal([KeyMaterialSecrets.Text(Harness.Get<V1Secret>("consul-gossip")!, KeyMaterialSecrets.GossipKeyKey)!], dc.GossipKeys);

        // Deregistration of a service the agent no longer holds (older agents answer 500 "Unknown service") still releases
        // the object. The agent loses it while no operator runs, so that nothing registers it again before the deletion.
        var agent = Harness.Get<V1Alpha1ConsulService>("r-3306-mysql")!.Status!.RegisteredOn!;
        await Harness.StopReplicaAsync(Harness.Replicas[0]);
        dc.RestartAgent(agent);
        Harness.Delete<V1Alpha1ConsulService>("r-3306-mysql");
        await Harness.StartReplicaAsync("replica-restarted");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulService>("r-3306-mysql") is null, "the ConsulService to be released and gone");
        Assert.DoesNotContain(ServiceId, dc.Find(agent)!.Services.Keys);
        var unknown = ConsulOperator.Testing.Consul.UpstreamBehaviour.Of(version).UnknownServiceStatus;
        Assert.Contains($"PUT /v1/agent/service/deregister/{ServiceId} {agent} {unknown}", Harness.Consul.Server.Requests);

        // Versions before the policy-by-name route were asked only what they have.
        if (!ConsulOperator.Testing.Consul.UpstreamBehaviour.Of(version).HasPolicyByNameRoute)
        {
            Assert.DoesNotContain(Harness.Consul.Server.Requests, r => r.Contains("/v1/acl/policy/name/", StringComparison.Ordinal));
        }

        Assert.DoesNotContain(Harness.Consul.Server.Requests, r => r.EndsWith(" 404", StringComparison.Ordinal) && !r.Contains("/deregister/", StringComparison.Ordinal));
        Assert.DoesNotContain(Harness.Consul.Server.Requests, r => r.EndsWith(" 405", StringComparison.Ordinal));
    }

    private void AssertAgentTokens(int servers, int clients)
    {
        // The simulated agents follow their pods when the datacenter is next asked; Ready may come first.
        Harness.Consul.CurrentLeader("consul", "consul");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var agents = Enumerable.Range(0, servers).Select(i => $"consul-server-{i}").Concat(Enumerable.Range(0, clients).Select(i => $"consul-client-{i}")).ToList();
        foreach (var agent in agents)
        {
            var token = dc.AgentToken(agent);
            Assert.True(token is not null, $"{agent} holds no agent token Consul knows");
            Assert.True(dc.Allows(token.SecretId, "node", agent, write: true), $"{agent}'s token cannot write its own node");
            Assert.False(dc.Allows(token.SecretId, "node", agents.First(a => a != agent), write: true), $"{agent}'s token can write another node");
            Assert.True(dc.Allows(token.SecretId, "service", "anything", write: false), $"{agent}'s token cannot read services");
        }
    }

    private async Task<ConsulServiceStatus> WaitForServiceAsync(Func<ConsulServiceStatus, bool> condition, string what)
    {
        ConsulServiceStatus? status = null;
        await OperatorHarness.WaitUntilAsync(() => (status = Harness.Get<V1Alpha1ConsulService>("r-3306-mysql")?.Status) is { } s && condition(s), what, TimeSpan.FromSeconds(60));
        return status!;
    }

    private static string? Data(System.Text.Json.Nodes.JsonObject secret, string key) =>
        secret["data"]?[key] is { } value ? Encoding.UTF8.GetString(Convert.FromBase64String((string)value!)) : null;
}
