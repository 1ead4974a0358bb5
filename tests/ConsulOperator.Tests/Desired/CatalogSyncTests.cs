using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public class CatalogSyncTests
{
    [Theory]
    [InlineData("LoadBalancer", ServiceAddressType.LoadBalancer)]
    [InlineData("NodePort", ServiceAddressType.NodePort)]
    [InlineData("ClusterIP", ServiceAddressType.Endpoints)]
    [InlineData(null, ServiceAddressType.Endpoints)]
    public void Auto_follows_the_services_type(string? type, ServiceAddressType expected)
    {
        Assert.Equal(expected, CatalogSync.AddressTypeOf(new ServiceReference { Name = "web", Port = "http" }, Service(type)));
        Assert.Equal(ServiceAddressType.Endpoints, CatalogSync.AddressTypeOf(new ServiceReference { Name = "web", Port = "http", AddressType = ServiceAddressType.Endpoints }, Service("LoadBalancer")));
    }

    [Fact]
    public void Endpoints_are_each_first_address_on_the_named_ports_target_with_their_readiness()
    {
        var slices = new[]
        {
            Slice("IPv4", ("10.244.1.5", true), ("10.244.2.6", false), ("10.244.3.7", null)),
            Slice("IPv4", ("10.244.1.5", true)),
            Slice("FQDN", ("web.example", true)),
        };

        var (instances, waiting) = CatalogSync.Instances(Reference("http"), Service("ClusterIP"), slices, []);

        Assert.Null(waiting);
        Assert.Equal(["10.244.1.5:8080 passing", "10.244.2.6:8080 critical", "10.244.3.7:8080 passing"], instances.Select(i => $"{i} {i.Status}"));
    }

    [Fact]
    public void A_port_is_found_by_name_or_number_and_a_missing_one_names_those_there_are()
    {
        Assert.Single(CatalogSync.Instances(Reference("80"), Service("ClusterIP"), [Slice("IPv4", ("10.244.1.5", true))], []).Instances);
        var (instances, waiting) = CatalogSync.Instances(Reference("grpc"), Service("ClusterIP"), [], []);
        Assert.Empty(instances);
        Assert.Equal("Service web has no port \"grpc\" (it has http (80))", waiting);
        Assert.Equal("Service web does not exist", CatalogSync.Instances(Reference("http"), null, [], []).Waiting);
        Assert.Equal("Service web has no endpoints with an address", CatalogSync.Instances(Reference("http"), Service("ClusterIP"), [], []).Waiting);
    }

    [Fact]
    public void A_load_balancer_gives_its_ingress_ips_or_host_names_on_the_service_port_ready_when_an_endpoint_is()
    {
        var service = Service("LoadBalancer");
        Assert.Equal("Service web has no load balancer address yet", CatalogSync.Instances(Reference("http"), service, [], []).Waiting);

        service.Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "203.0.113.10" }, new V1LoadBalancerIngress { Hostname = "web.elb.example" }] } };
        Assert.Equal(["203.0.113.10:80 critical", "web.elb.example:80 critical"], CatalogSync.Instances(Reference("http"), service, [], []).Instances.Select(i => $"{i} {i.Status}"));
        Assert.Equal(["203.0.113.10:80 passing", "web.elb.example:80 passing"], CatalogSync.Instances(Reference("http"), service, [Slice("IPv4", ("10.244.1.5", true))], []).Instances.Select(i => $"{i} {i.Status}"));
    }

    [Fact]
    public void A_node_port_is_on_every_ready_schedulable_nodes_internal_ip()
    {
        var nodes = new[] { Node("192.168.1.12", ready: true), Node("192.168.1.11", ready: true), Node("192.168.1.13", ready: false), Node("192.168.1.14", ready: true, unschedulable: true) };

        var (instances, _) = CatalogSync.Instances(Reference("http"), Service("NodePort"), [Slice("IPv4", ("10.244.1.5", true))], nodes);

        Assert.Equal(["192.168.1.11:30080", "192.168.1.12:30080"], instances.Select(i => i.ToString()));
        Assert.Equal("Service web port \"http\" has no node port (type ClusterIP)", CatalogSync.Instances(new ServiceReference { Name = "web", Port = "http", AddressType = ServiceAddressType.NodePort }, Service("ClusterIP"), [], nodes).Waiting);
    }

    [Fact]
    public void The_registration_puts_the_instance_on_the_sync_node_with_its_readiness_as_the_check()
    {
        var service = new V1Alpha1ConsulService
        {
            Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "shop" },
            Spec = new ConsulServiceSpec { Name = "storefront", Tags = ["k8s"], ServiceRef = Reference("http") },
        };
        var instance = new CatalogSync.Instance("10.244.1.5", 8080, Ready: false);

        var body = CatalogSync.Registration(service, instance);

        Assert.Equal(CatalogSync.Node, (string?)body["Node"]);
        Assert.Equal("k8s-shop-web-10.244.1.5-8080", (string?)body["Service"]!["ID"]);
        Assert.Equal("storefront", (string?)body["Service"]!["Service"]);
        Assert.Equal(("10.244.1.5", 8080), ((string?)body["Service"]!["Address"], (int)body["Service"]!["Port"]!));
        Assert.Equal("critical", (string?)body["Check"]!["Status"]);
        Assert.Equal("k8s-shop-web-10.244.1.5-8080", (string?)body["Check"]!["ServiceID"]);
        Assert.True(CatalogSync.IsOf(new Dictionary<string, string> { [ServiceRegistration.SourceMeta] = "shop/web" }, service));
        Assert.False(CatalogSync.IsOf(new Dictionary<string, string> { [ServiceRegistration.SourceMeta] = "shop/other" }, service));
    }

    private static ServiceReference Reference(string port) => new() { Name = "web", Port = port };

    private static V1Service Service(string? type) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "shop" },
        Spec = new V1ServiceSpec { Type = type, Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 8080, NodePort = type is "NodePort" or "LoadBalancer" ? 30080 : null }] },
    };

    private static V1EndpointSlice Slice(string addressType, params (string Address, bool? Ready)[] endpoints) => new()
    {
        AddressType = addressType,
        Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { [CatalogSync.ServiceNameLabel] = "web" } },
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080 }],
        Endpoints = [.. endpoints.Select(e => new V1Endpoint { Addresses = [e.Address], Conditions = new V1EndpointConditions { Ready = e.Ready } })],
    };

    private static V1Node Node(string ip, bool ready, bool unschedulable = false) => new()
    {
        Spec = new V1NodeSpec { Unschedulable = unschedulable },
        Status = new V1NodeStatus
        {
            Addresses = [new V1NodeAddress { Type = "InternalIP", Address = ip }],
            Conditions = [new V1NodeCondition { Type = "Ready", Status = ready ? "True" : "False" }],
        },
    };
}
