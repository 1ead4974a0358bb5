using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

/// <summary>A ConsulService registered through the real operator into the simulated datacenter, and what DNS then answers.</summary>
public sealed class ConsulServiceIntegrationTests() : IntegrationTest()
{
    private const string ServiceId = "k8s-consul-r-3306-mysql";

    [Fact]
    public async Task The_sample_service_registers_on_one_agent_resolves_once_healthy_follows_changes_and_deregisters_on_delete()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(Clusters.SampleService());
        var status = await WaitForServiceAsync(s => s.Registered == true, "the service to register");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        var agent = dc.Find(status.RegisteredOn!)!;
        Assert.StartsWith("consul-client-", agent.Name, StringComparison.Ordinal);
        Assert.Equal(("r-3306-mysql", 3306, "172.16.0.2"), (agent.Services[ServiceId].Name, agent.Services[ServiceId].Port, agent.Services[ServiceId].Address));
        Assert.Equal(["slave-3306"], agent.Services[ServiceId].Tags);
        Assert.Contains(ServiceRegistrationFinalizer, Service().Metadata.Finalizers);

        // Consul starts the TCP check critical: DNS leaves the instance out until it passes.
        Assert.Equal("critical", status.Health);
        Assert.Empty(dc.ResolveService("r-3306-mysql"));
        dc.SetCheckStatus(ServiceId, "passing");
        await WaitForServiceAsync(s => s.Health == "passing", "the check to pass in status");
        Assert.Equal(["172.16.0.2"], dc.ResolveService("r-3306-mysql"));

        Harness.Edit<V1Alpha1ConsulService>("r-3306-mysql", service => service.Spec.Port = 3307);
        await WaitForServiceAsync(s => Conditions.Find(s.Conditions, ServiceStatus.Registered) is { Status: "True", ObservedGeneration: 2 }, "the change to be registered");
        Assert.Equal(3307, dc.Find(status.RegisteredOn!)!.Services[ServiceId].Port);

        Harness.Delete<V1Alpha1ConsulService>("r-3306-mysql");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulService>("r-3306-mysql") is null, "the ConsulService to be released and gone");
        Assert.DoesNotContain(ServiceId, dc.Find(status.RegisteredOn!)!.Services.Keys);
    }

    [Fact]
    public async Task A_registration_consul_lost_comes_back()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(Clusters.SampleService());
        var status = await WaitForServiceAsync(s => s.Registered == true, "the service to register");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;

        dc.RestartAgent(status.RegisteredOn!);
        Assert.Empty(dc.Find(status.RegisteredOn!)!.Services);
        await OperatorHarness.WaitUntilAsync(() => dc.Find(status.RegisteredOn!)!.Services.ContainsKey(ServiceId), "the operator to register it again");
    }

    [Fact]
    public async Task A_registration_consul_refuses_is_degraded_with_consuls_error_and_retried()
    {
        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();

        // The failure may last only until the next reconcile, so every Degraded message written is recorded.
        var degraded = Harness.Record(change =>
            change.Resource.Kind == V1Alpha1ConsulService.KindName && (change.Item["status"]?["conditions"] as System.Text.Json.Nodes.JsonArray)?
                .FirstOrDefault(c => (string?)c?["type"] == Conditions.Degraded && (string?)c["status"] == "True") is { } condition
                ? $"{condition["reason"]}: {condition["message"]}"
                : null);
        Harness.Consul.Server.Faults.FailNext("/v1/agent/service/register", 3, 500, "rpc error: agent busy");
        Harness.Create(Clusters.SampleService());

        await WaitForServiceAsync(s => s.Registered == true && !Conditions.IsTrue(s.Conditions, Conditions.Degraded), "the retry to register it");
        var message = Assert.Single(degraded.Snapshot().Distinct());
        Assert.StartsWith("RegistrationFailed: PUT https://consul-client-", message, StringComparison.Ordinal);
        Assert.EndsWith("/v1/agent/service/register: 500 rpc error: agent busy", message, StringComparison.Ordinal);

        Assert.Contains("RegistrationFailed", Harness.List("v1", "Event").Select(e => (string?)e["reason"]));
    }

    [Fact]
    public async Task A_service_for_a_missing_cluster_says_so_and_registers_once_the_cluster_is_ready()
    {
        Harness.Create(Clusters.SampleService());
        await WaitForServiceAsync(
            s => Conditions.Find(s.Conditions, Conditions.Ready) is { Status: "False", Reason: "ClusterNotFound" } c && c.Message.Contains("ConsulCluster consul/consul does not exist", StringComparison.Ordinal),
            "ClusterNotFound");
        Assert.False(Conditions.IsTrue(Service().Status!.Conditions, Conditions.Degraded));

        Harness.Create(Clusters.Sample());
        await WaitForReadyAsync();
        await WaitForServiceAsync(s => s.Registered == true, "the service to register once the cluster is ready");
    }

    [Fact]
    public async Task An_invalid_service_is_refused_with_the_field_and_never_registered()
    {
        Harness.Create(Clusters.Sample());
        var invalid = Clusters.SampleService();
        invalid.Spec.Port = 70000;
        Harness.Create(invalid);

        var status = await WaitForServiceAsync(s => Conditions.Find(s.Conditions, Conditions.Degraded) is { Status: "True", Reason: "InvalidSpec" }, "InvalidSpec");
        Assert.Contains("spec.port", Conditions.Find(status.Conditions, Conditions.Ready)!.Message, StringComparison.Ordinal);
        await WaitForReadyAsync();
        Assert.All(Harness.Consul.Datacenter("consul", "consul")!.Agents, a => Assert.DoesNotContain(ServiceId, a.Services.Keys));
    }

    private const string ServiceRegistrationFinalizer = ConsulServiceReconciler.RegistrationFinalizer;

    private V1Alpha1ConsulService Service() => Harness.Get<V1Alpha1ConsulService>("r-3306-mysql")!;

    private async Task<ConsulServiceStatus> WaitForServiceAsync(Func<ConsulServiceStatus, bool> condition, string what)
    {
        ConsulServiceStatus? status = null;
        await OperatorHarness.WaitUntilAsync(() => (status = Harness.Get<V1Alpha1ConsulService>("r-3306-mysql")?.Status) is { } s && condition(s), what, TimeSpan.FromSeconds(30));
        return status!;
    }
}
