using ConsulOperator.Consul;
using ConsulOperator.Desired;

namespace ConsulOperator.Tests.Desired;

public class NamesTests
{
    private static readonly Names Names = new("consul", "consul", "cluster.local");

    [Theory]
    [InlineData("consul-server-0", "server", 0)]
    [InlineData("consul-server-12", "server", 12)]
    [InlineData("consul-client-3", "client", 3)]
    public void An_agent_pod_name_gives_its_component_and_ordinal(string pod, string component, int ordinal)
    {
        Assert.Equal((component, ordinal), Names.ParsePod(pod));
        Assert.Equal(Names.Pod(component, ordinal), pod);
    }

    [Theory]
    [InlineData("consul-server")]
    [InlineData("consul-server-x")]
    [InlineData("consul-server--1")]
    [InlineData("other-server-0")]
    [InlineData("(unknown)")]
    public void Other_names_are_no_agent_pod(string name)
    {
        Assert.Null(Names.ParsePod(name));
        Assert.Throws<ArgumentException>(() => ConsulEndpoints.Agent(Names, name));
    }

    [Fact]
    public void An_agent_is_reached_at_its_pods_fully_qualified_name()
    {
        Assert.Equal(new Uri("https://consul-client-1.consul-client.consul.svc.cluster.local:8501/"), ConsulEndpoints.Agent(Names, "consul-client-1"));
    }
}
