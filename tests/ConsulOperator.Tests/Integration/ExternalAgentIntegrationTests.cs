using System.Net;
using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Cli;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>
/// A machine outside Kubernetes joins the datacenter from nothing but its ConsulExternalAgent's bundle: copied to
/// /etc/consul.d, started by the systemd unit in it. Its service resolves; a new certificate, a gossip rotation and the
/// machine's deletion are carried through.
/// </summary>
public sealed class ExternalAgentIntegrationTests() : IntegrationTest()
{
    private const string Node = "db-1";
    private const string ConfigDirectory = "/etc/consul.d";

    [Theory]
    [MemberData(nameof(ConsulVersionIntegrationTests.SupportMatrix), MemberType = typeof(ConsulVersionIntegrationTests))]
    public async Task A_machine_starts_from_the_bundle_alone_joins_and_its_service_resolves(string version)
    {
        var cluster = Clusters.Sample();
        cluster.Spec.Version = version;
        Harness.Create(cluster);
        Harness.Create(SampleAgent());
        var status = await WaitForAgentAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the bundle to be ready");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;

        // Nothing joined yet: status says so.
        Assert.Equal("NotJoined", Conditions.Find(status.Conditions, ConsulExternalAgentReconciler.Joined)!.Reason);
        Assert.Equal(["10.0.0.10", "10.0.0.11", "10.0.0.12"], status.JoinAddresses);

        Assert.Null(StartMachine(dc, version));
        status = await WaitForAgentAsync(s => s.Member == "alive" && Conditions.IsTrue(s.Conditions, ConsulExternalAgentReconciler.Joined), "the node to be an alive member");
        var machine = dc.Find(Node)!;
        Assert.True(machine.OutsideKubernetes);
        Assert.Equal("192.168.20.5", machine.Ip);

        // Its own agent registered postgres from the bundle's config.json with its token; DNS answers once the check passes.
        Assert.Equal(("postgres", 5432, "192.168.20.5"), (machine.Services["postgres"].Name, machine.Services["postgres"].Port, machine.Services["postgres"].Address));
        Assert.Empty(dc.ResolveService("postgres"));
        dc.SetCheckStatus("postgres", "passing");
        Assert.Equal(["192.168.20.5"], dc.ResolveService("postgres"));

        // The token is the node's identity (a policy of its own before 1.8.1) plus postgres, and its secret is nowhere
        // but the Secrets.
        var token = Assert.Single(dc.TokenList, t => t.AccessorId == status.TokenAccessorID);
        if (ConsulOperator.Api.ConsulVersion.Parse(version).HasNodeIdentities)
        {
            Assert.Equal([Node], token.NodeIdentities);
        }
        else
        {
            Assert.Empty(token.NodeIdentities);
            Assert.Single(token.PolicyIds);
        }

        Assert.Equal(["postgres"], token.ServiceIdentities.Select(s => s.ServiceName));
        Assert.DoesNotContain(token.SecretId, System.Text.Json.JsonSerializer.Serialize(Harness.Get<V1Alpha1ConsulExternalAgent>(Node)));
        Assert.All(Harness.List("v1", "Event"), e => Assert.DoesNotContain(token.SecretId, e.ToJsonString(), StringComparison.Ordinal));
        Assert.All(Harness.Logs.Lines, l => Assert.DoesNotContain(token.SecretId, l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bundle_copied_to_another_directory_than_the_unit_names_does_not_start()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(SampleAgent());
        await WaitForAgentAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the bundle to be ready");
        var (start, problem) = BundleMachine.Read("1.16.1", Bundle(), "/etc/consul", []);
        Assert.Null(start);
        Assert.Contains("no configuration files in /etc/consul.d", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_from_another_ca_or_for_other_addresses_is_replaced_and_the_machine_restarts_with_it()
    {
        var (first, dc) = await JoinedMachineAsync();

        // A certificate the servers' CA did not sign: the machine could not reach them. The operator replaces it.
        var foreign = CertificateAuthority.Create(30, [], "elsewhere", TimeProvider.System).Issue(ExternalAgents.Certificate(SampleAgent(), Clusters.Sample().Spec), 30, TimeProvider.System);
        var bundle = Bundle();
        bundle[ExternalAgents.CertificateFile] = foreign.CertificatePem;
        bundle[ExternalAgents.KeyFile] = foreign.PrivateKeyPem;
        dc.StopMachine(Node, leave: true);
        Assert.Contains("certificate signed by unknown authority", string.Join("; ", StartFrom(dc, "1.16.1", bundle)!), StringComparison.Ordinal);
        Harness.Edit<V1Secret>(Node, s =>
        {
            s.Data[ExternalAgents.CertificateFile] = System.Text.Encoding.UTF8.GetBytes(foreign.CertificatePem);
            s.Data[ExternalAgents.KeyFile] = System.Text.Encoding.UTF8.GetBytes(foreign.PrivateKeyPem);
        });
        var renewed = await WaitForAgentAsync(s => s.BundleChangedAt > first.BundleChangedAt && s.BundleHash != first.BundleHash, "the bundle to change");
        Assert.Null(StartMachine(dc, "1.16.1"));

        // A new address: the certificate is issued again for it, and the bundle says it changed.
        Harness.Edit<V1Alpha1ConsulExternalAgent>(Node, a => a.Spec.Addresses = ["192.168.20.5", "192.168.30.5", "db-1.node.consul"]);
        await WaitForAgentAsync(s => s.ObservedGeneration == 2 && s.BundleChangedAt > renewed.BundleChangedAt, "the bundle to change for the new addresses");
        var certificate = IssuedCertificate.Load(Bundle()[ExternalAgents.CertificateFile], Bundle()[ExternalAgents.KeyFile], "bundle");
        Assert.Contains(IPAddress.Parse("192.168.30.5"), certificate.IpAddresses);
        Assert.Contains("db-1.node.consul", certificate.DnsNames);
        Assert.Equal(["client.dc1.consul", "localhost"], certificate.DnsNames.Where(n => n != "db-1.node.consul"));

        // A name the CA's constraints do not permit is refused with the field, the value and what is allowed.
        Harness.Edit<V1Alpha1ConsulExternalAgent>(Node, a => a.Spec.Addresses = ["192.168.20.5", "db-1.corp.example"]);
        var refused = await WaitForAgentAsync(s => s.ObservedGeneration == 3 && Conditions.Find(s.Conditions, Conditions.Ready) is { Reason: "InvalidSpec" }, "the outside name to be refused");
        Assert.Contains("spec.addresses[1]: \"db-1.corp.example\" is outside the CA's name constraints (consul, localhost, consul.svc, consul.svc.cluster.local)", Conditions.Find(refused.Conditions, Conditions.Ready)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gossip_rotation_waits_for_a_machine_that_is_down_and_reaches_it_once_it_is_back()
    {
        var (_, dc) = await JoinedMachineAsync();
        var oldKey = dc.Find(Node)!.Keys[0];

        // The machine is down: the rotation does not move, and says why.
        dc.StopMachine(Node, leave: false);
        Harness.Edit<V1Alpha1ConsulCluster>("consul", c => c.Spec.Gossip.Rotation = "2026-12");
        await OperatorHarness.WaitUntilAsync(
            () => Conditions.Find(Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.Conditions, Conditions.Progressing)?.Message.Contains("waiting for outside agents to be alive members, so that they get the new key: db-1 (failed)", StringComparison.Ordinal) == true,
            "the rotation to wait for db-1");
        Assert.All(dc.Agents.Where(a => a.Status == ConsulDatacenter.MemberStatus.Alive), a => Assert.Equal([oldKey], a.Keys));

        // Back (its keyring still holds only the old key): the rotation reaches it, and the bundle carries the new key.
        Assert.Null(StartMachine(dc, "1.16.1"));
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulCluster>("consul")!.Status?.GossipRotation == "2026-12", "the rotation to complete");
        var newKey = dc.Find(Node)!.Keys.Single();
        Assert.NotEqual(oldKey, newKey);
        Assert.All(dc.Agents.Where(a => a.Status == ConsulDatacenter.MemberStatus.Alive), a => Assert.Equal([newKey], a.Keys));
        await OperatorHarness.WaitUntilAsync(() => (string?)JsonNode.Parse(Bundle()[ExternalAgents.ConfigFile])!["encrypt"] == newKey, "the bundle to carry the new key");
    }

    [Fact]
    public async Task Deleting_the_agent_force_leaves_its_node_and_deletes_its_token()
    {
        var (status, dc) = await JoinedMachineAsync();

        // The machine was switched off without leaving; then its object is deleted.
        dc.StopMachine(Node, leave: false);
        Assert.Contains(ConsulExternalAgentReconciler.Finalizer, Harness.Get<V1Alpha1ConsulExternalAgent>(Node)!.Metadata.Finalizers);
        Harness.Delete<V1Alpha1ConsulExternalAgent>(Node);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulExternalAgent>(Node) is null, "the agent to be released and gone");
        Assert.Equal(ConsulDatacenter.MemberStatus.Left, dc.Find(Node)!.Status);
        await OperatorHarness.WaitUntilAsync(() => dc.TokenList.All(t => t.AccessorId != status.TokenAccessorID), "the agent token to be deleted from Consul");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Secret>(Node) is null && Harness.Get<V1Secret>(ExternalAgents.TokenName(SampleAgent())) is null, "the bundle and token Secrets to go");
    }

    [Fact]
    public async Task Deleting_an_agent_that_never_joined_or_still_runs_does_not_wait_and_a_running_one_is_named_in_a_warning()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(SampleAgent());
        await WaitForAgentAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the bundle to be ready");
        Harness.Delete<V1Alpha1ConsulExternalAgent>(Node);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulExternalAgent>(Node) is null, "the agent that never joined to be gone");

        Harness.Create(SampleAgent());
        await WaitForAgentAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the new bundle to be ready");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.Null(StartMachine(dc, "1.16.1"));
        await WaitForAgentAsync(s => s.Member == "alive", "the node to join");
        Harness.Delete<V1Alpha1ConsulExternalAgent>(Node);
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulExternalAgent>(Node) is null, "the agent to be gone");
        Assert.Equal(ConsulDatacenter.MemberStatus.Alive, dc.Find(Node)!.Status);
        Assert.Contains(Harness.List("v1", "Event"), e => (string?)e["reason"] == "StillRunning" && ((string?)e["message"])!.Contains("consul leave", StringComparison.Ordinal));
    }

    // The sample cluster and machine, the machine started from its bundle and an alive member.
    private async Task<(ConsulExternalAgentStatus Status, ConsulDatacenter Datacenter)> JoinedMachineAsync()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(SampleAgent());
        await WaitForAgentAsync(s => Conditions.IsTrue(s.Conditions, Conditions.Ready), "the bundle to be ready");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.Null(StartMachine(dc, "1.16.1"));
        return (await WaitForAgentAsync(s => s.Member == "alive", "the node to join"), dc);
    }

    private static V1Alpha1ConsulExternalAgent SampleAgent()
    {
        var input = InputDocuments.Read([Repository.PathOf("config/samples/consulexternalagent.yaml")], TextReader.Null);
        Assert.Empty(input.Problems);
        return Assert.Single(input.ExternalAgents);
    }

    private Dictionary<string, string> Bundle() => new(ExternalAgents.Read(Harness.Get<V1Secret>(Node)!));

    // The machine's tooling copies the Secret's files to /etc/consul.d and starts the unit.
    private IReadOnlyList<string>? StartMachine(ConsulDatacenter dc, string version) => StartFrom(dc, version, Bundle());

    private static IReadOnlyList<string>? StartFrom(ConsulDatacenter dc, string version, IReadOnlyDictionary<string, string> bundle)
    {
        var (start, problem) = BundleMachine.Read(version, bundle, ConfigDirectory, []);
        return start is null ? [problem!] : dc.StartMachine(start);
    }

    private async Task<ConsulExternalAgentStatus> WaitForAgentAsync(Func<ConsulExternalAgentStatus, bool> condition, string what)
    {
        ConsulExternalAgentStatus? status = null;
        await OperatorHarness.WaitUntilAsync(
            () => (status = Harness.Get<V1Alpha1ConsulExternalAgent>(Node)?.Status) is { } s && condition(s),
            $"{what} (last status: {(status is null ? "none" : System.Text.Json.JsonSerializer.Serialize(status))})", TimeSpan.FromSeconds(45));
        return status!;
    }
}
