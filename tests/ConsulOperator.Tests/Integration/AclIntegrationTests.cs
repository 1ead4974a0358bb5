using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>ACL bootstrap exactly once, and the tokens a default-deny datacenter needs to work.</summary>
public sealed class AclIntegrationTests() : IntegrationTest()
{
    private static readonly string[] Agents = ["consul-server-0", "consul-server-1", "consul-server-2", "consul-client-0", "consul-client-1"];

    [Fact]
    public async Task Acls_are_bootstrapped_once_and_agents_dns_and_the_operator_get_their_tokens()
    {
        var datacenter = Harness.Consul;
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = datacenter.Datacenter("consul", "consul")!;

        // The simulated agents follow their pods when the datacenter is next asked; Ready may come first.
        datacenter.CurrentLeader("consul", "consul");

        var bootstrap = Harness.Get<V1Secret>("consul-acl-bootstrap")!;
        Assert.Equal(ConsulAcl.Done, KeyMaterialSecrets.Text(bootstrap, ConsulAcl.StateKey));
        Assert.Equal(1, dc.Bootstraps);
        Assert.Equal(1, dc.AclBootstrapCalls);

        // Each agent holds a token for its own node identity, which lets it register itself in a default-deny datacenter.
        foreach (var agent in Agents)
        {
            var token = dc.AgentToken(agent);
            Assert.True(token is not null, $"{agent} has no agent token");
            Assert.Equal([agent], token.NodeIdentities);
        }

        // DNS uses the anonymous token: with the DNS policy on it, consul.service.consul answers.
        Assert.Equal(["10.0.0.10", "10.0.0.11", "10.0.0.12"], dc.ResolveService("consul"));

        // The operator asks Consul with its own token, not the management one.
        var operatorToken = KeyMaterialSecrets.Text(Harness.Get<V1Secret>("consul-acl-operator")!, ConsulAcl.TokenKey);
        Assert.NotEqual(KeyMaterialSecrets.Text(bootstrap, ConsulAcl.TokenKey), operatorToken);
        Assert.True(Conditions.IsTrue(Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.Conditions, ClusterStatus.AclReady));

        // No token is ever logged: not the management token, not the operator's, not an agent's.
        string[] secrets = [KeyMaterialSecrets.Text(bootstrap, ConsulAcl.TokenKey)!, operatorToken!, .. Agents.Select(a => KeyMaterialSecrets.Text(Harness.Get<V1Secret>($"{a}-acl-token")!, ConsulAcl.TokenKey)!)];
        Assert.NotEmpty(Harness.Logs.Lines);
        Assert.All(Harness.Logs.Lines, line => Assert.DoesNotContain(secrets, s => line.Contains(s, StringComparison.Ordinal)));

        // A new operator process starts from the Secrets and never bootstraps again.
        await Harness.StopReplicaAsync(Harness.Replicas[0]);
        await Harness.StartReplicaAsync("replica-restarted");
        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Clients.Replicas = 3);
        await WaitForReadyAsync(generation: 2);

        // The simulated agents follow their pods when the datacenter is next asked; Ready may come first.
        await OperatorHarness.WaitUntilAsync(() => datacenter.CurrentLeader("consul", "consul") is not null && dc.AgentToken("consul-client-2") is not null, "consul-client-2 to run with a token Consul knows");
        Assert.Equal((1, 1), (dc.Bootstraps, dc.AclBootstrapCalls));
        Assert.Equal(["consul-client-2"], dc.AgentToken("consul-client-2")!.NodeIdentities);
    }

    [Fact]
    public async Task Dns_answers_in_a_default_deny_datacenter_once_the_operator_has_the_management_token()
    {
        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", 0);
        Harness.Create(Clusters.Sample());
        var dc = await DatacenterAsync();
        var management = dc.Bootstrap(null)!;

        // Bootstrapped by hand, with nothing else set up: what a user of plain Consul sees first, and the operator says why.
        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", null);
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")?.Status?.Conditions, Conditions.Degraded) is { Reason: ConsulAcl.BootstrappedElsewhere },
            "Degraded=True (AclBootstrappedElsewhere)");
        Assert.Empty(dc.ResolveService("consul"));

        // Doing what the condition says: the management token into the bootstrap Secret, state done.
        Harness.Edit<V1Secret>("consul-acl-bootstrap", secret =>
        {
            secret.Data[ConsulAcl.TokenKey] = Encoding.UTF8.GetBytes(management.SecretId);
            secret.Data[ConsulAcl.StateKey] = Encoding.UTF8.GetBytes(ConsulAcl.Done);
        });

        await WaitForReadyAsync();
        Assert.Equal(["10.0.0.10", "10.0.0.11", "10.0.0.12"], dc.ResolveService("consul"));
        Assert.Equal(1, dc.Bootstraps);
        Assert.True(dc.Allows(null, "service", "consul", write: false), "the anonymous token DNS uses still cannot read services");
    }

    [Fact]
    public async Task A_bootstrap_interrupted_after_consul_accepted_it_finishes_without_a_second_one()
    {
        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", 0);
        Harness.Create(Clusters.Sample());
        var dc = await DatacenterAsync();

        // An earlier operator stored its secret, Consul accepted it, and the operator died before writing "done".
        var secret = Guid.NewGuid().ToString();
        Harness.Create(AclSecret(secret, ConsulAcl.Pending));
        Assert.NotNull(dc.Bootstrap(secret));

        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", null);
        await WaitForReadyAsync();
        var stored = Harness.Get<V1Secret>("consul-acl-bootstrap")!;
        Assert.Equal((ConsulAcl.Done, secret), (KeyMaterialSecrets.Text(stored, ConsulAcl.StateKey), KeyMaterialSecrets.Text(stored, ConsulAcl.TokenKey)));
        Assert.Equal(1, dc.Bootstraps);
    }

    [Fact]
    public async Task A_cluster_bootstrapped_by_someone_else_is_degraded_with_what_to_do_and_never_bootstrapped_again()
    {
        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", 0);
        Harness.Create(Clusters.Sample());
        var dc = await DatacenterAsync();
        Assert.NotNull(dc.Bootstrap(null));

        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", null);
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")?.Status?.Conditions, Conditions.Degraded) is { Status: "True", Reason: ConsulAcl.BootstrappedElsewhere },
            "Degraded=True (AclBootstrappedElsewhere)");

        var degraded = Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status!.Conditions, Conditions.Degraded)!;
        Assert.Contains("never bootstraps twice", degraded.Message, StringComparison.Ordinal);
        Assert.Contains("consul-acl-bootstrap", degraded.Message, StringComparison.Ordinal);
        Assert.Contains(ConsulAcl.BootstrappedElsewhere, Harness.List("v1", "Event").Select(e => (string?)e["reason"]));
        Assert.Equal(ConsulAcl.Pending, KeyMaterialSecrets.Text(Harness.Get<V1Secret>("consul-acl-bootstrap")!, ConsulAcl.StateKey));
        Assert.Equal(1, dc.Bootstraps);
    }

    [Fact]
    public async Task Agent_tokens_of_an_older_release_are_kept_each_in_a_secret_of_its_own_and_the_shared_secret_goes()
    {
        // What an earlier release left: every agent's token in one Secret, which every agent pod could read.
        var earlier = Agents.ToDictionary(a => a, _ => Guid.NewGuid().ToString());
        Harness.Create(new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = "consul-acl-agents", NamespaceProperty = "consul", Labels = new Dictionary<string, string> { [Labels.ManagedBy] = Labels.OperatorName } },
            Data = earlier.ToDictionary(e => e.Key, e => Encoding.UTF8.GetBytes(e.Value)),
        });
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>("consul-acl-agents") is null, "the shared agent-token Secret to be deleted");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        foreach (var agent in Agents)
        {
            Assert.Equal(earlier[agent], KeyMaterialSecrets.Text(Harness.Get<V1Secret>($"{agent}-acl-token")!, ConsulAcl.TokenKey));
            await OperatorHarness.WaitUntilAsync(() => Harness.Consul.CurrentLeader("consul", "consul") is not null && dc.AgentToken(agent)?.SecretId == earlier[agent], $"{agent} to run with the token it had");
        }
    }

    [Fact]
    public async Task A_client_scaled_away_takes_its_agent_token_out_of_consul_and_its_secret_with_it()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var secretId = KeyMaterialSecrets.Text(Harness.Get<V1Secret>("consul-client-1-acl-token")!, ConsulAcl.TokenKey);
        Assert.Contains(dc.TokenList, t => t.SecretId == secretId);

        Harness.Edit<V1Alpha1ConsulCluster>("consul", cluster => cluster.Spec.Clients.Replicas = 1);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>("consul-client-1-acl-token") is null, "the removed client's token Secret to be deleted");
        Assert.DoesNotContain(dc.TokenList, t => t.SecretId == secretId);
        Assert.NotNull(Harness.Get<V1Secret>("consul-client-0-acl-token"));
    }

    // The simulated datacenter exists once the cluster has agent pods.
    private async Task<ConsulOperator.Testing.Consul.ConsulDatacenter> DatacenterAsync()
    {
        await OperatorHarness.WaitUntilAsync(() => Harness.Consul.Datacenter("consul", "consul") is not null, "the cluster's agent pods");
        return Harness.Consul.Datacenter("consul", "consul")!;
    }

    private static V1Secret AclSecret(string token, string state) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta { Name = "consul-acl-bootstrap", NamespaceProperty = "consul" },
        Data = new Dictionary<string, byte[]> { [ConsulAcl.TokenKey] = Encoding.UTF8.GetBytes(token), [ConsulAcl.StateKey] = Encoding.UTF8.GetBytes(state) },
    };
}
