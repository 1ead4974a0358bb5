using ConsulOperator.Consul;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Consul;

public class ServiceRegistrationPlacementTests
{
    [Fact]
    public void Services_go_to_client_agents_spread_by_id_and_stay_put()
    {
        var cluster = Clusters.Default(change: s => s.Clients.Replicas = 4);
        var ordinals = Enumerable.Range(0, 40).Select(i =>
        {
            var service = Clusters.SampleService();
            service.Metadata.Name = $"svc-{i}";
            return ServiceRegistration.AgentFor(cluster.Spec, ServerPlan.AtRest(cluster), service);
        }).ToList();

        Assert.All(ordinals, o => Assert.Equal(Components.Client, o.Component));
        Assert.True(ordinals.Select(o => o.Ordinal).Distinct().Count() > 1, "every service landed on one agent");
        Assert.All(ordinals, o => Assert.InRange(o.Ordinal, 0, 3));
        Assert.Equal(ServiceRegistration.AgentFor(cluster.Spec, ServerPlan.AtRest(cluster), Clusters.SampleService()), ServiceRegistration.AgentFor(cluster.Spec, ServerPlan.AtRest(cluster), Clusters.SampleService()));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, true)]
    public void Without_clients_of_our_ca_services_go_to_servers(int clients, bool autoEncrypt)
    {
        var cluster = Clusters.Default(change: s =>
        {
            s.Clients.Replicas = clients;
            s.Clients.AutoEncrypt = autoEncrypt;
        });
        Assert.Equal(Components.Server, ServiceRegistration.AgentFor(cluster.Spec, ServerPlan.AtRest(cluster), Clusters.SampleService()).Component);
    }

    [Fact]
    public void Health_is_the_worst_of_the_instances_own_checks()
    {
        ServiceEntry Entry(params string[] statuses) => NodeEntry("passing", statuses);
        ServiceEntry NodeEntry(string serf, params string[] statuses) => new(
            new HealthNode("consul-client-0", "10.0.1.10"),
            new AgentService("web-1", "web", [], "10.9.0.1", 80, null),
            [new HealthCheck("consul-client-0", "serfHealth", "Serf", serf, "", ""), .. statuses.Select((s, i) => new HealthCheck("consul-client-0", $"c{i}", "c", s, "web-1", ""))]);

        Assert.Equal("passing", ServiceStatus.Health([Entry()], "web-1"));
        Assert.Equal("passing", ServiceStatus.Health([Entry("passing")], "web-1"));
        Assert.Equal("warning", ServiceStatus.Health([Entry("passing", "warning")], "web-1"));
        Assert.Equal("critical", ServiceStatus.Health([Entry("warning", "critical")], "web-1"));
        Assert.Equal("critical", ServiceStatus.Health([NodeEntry("critical", "passing")], "web-1"));
        Assert.Equal("passing", ServiceStatus.Health([Entry("critical")], "other-id"));
    }
}
