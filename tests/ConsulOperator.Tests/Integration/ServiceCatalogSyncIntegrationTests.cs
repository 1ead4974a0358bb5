using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Testing.KubeApi;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Integration;

/// <summary>
/// A Kubernetes Service kept in Consul's catalog through a ConsulService's serviceRef: its endpoints as the
/// EndpointSlice controller lists them (simulated from the pods), its load balancer, its node ports; followed as pods
/// come, turn ready and go, and removed with the object.
/// </summary>
public sealed class ServiceCatalogSyncIntegrationTests() : IntegrationTest()
{
    private static readonly ResourceInfo Pods = ResourceCatalog.ForKind("v1", "Pod");
    private static readonly ResourceInfo Services = ResourceCatalog.ForKind("v1", "Service");
    private static readonly ResourceInfo Nodes = ResourceCatalog.ForKind("v1", "Node");

    [Fact]
    public async Task Endpoints_follow_the_pods_as_they_come_turn_ready_and_go_and_leave_with_the_object()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(WebService("ClusterIP"));
        CreatePod("web-1", "10.244.1.5", ready: true);
        CreatePod("web-2", "10.244.2.6", ready: false);
        Harness.Create(ServiceRef("web", "http"));

        var status = await WaitForServiceAsync(s => s.Instances is { Count: 2 }, "both endpoints in the catalog");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.Equal(["10.244.1.5:8080 passing", "10.244.2.6:8080 critical"], status.Instances);
        Assert.Equal(CatalogSync.Node, status.RegisteredOn);
        Assert.Equal(["10.244.1.5"], dc.ResolveService("web"));

        // The second pod turns ready: both resolve. The first goes: it is deregistered.
        SetReady("web-2", true);
        await WaitForServiceAsync(s => s.Instances is ["10.244.1.5:8080 passing", "10.244.2.6:8080 passing"], "the second endpoint to pass");
        Assert.Equal(["10.244.1.5", "10.244.2.6"], dc.ResolveService("web"));
        Harness.Delete<V1Pod>("web-1");
        await WaitForServiceAsync(s => s.Instances is ["10.244.2.6:8080 passing"], "the first endpoint to be deregistered");
        Assert.Equal(["10.244.2.6"], dc.ResolveService("web"));
        Assert.Single(dc.CatalogNodes[CatalogSync.Node].Services);

        // Someone deregisters it in Consul: the next poll puts it back. Then the object goes, and its instances with it.
        dc.CatalogNodes[CatalogSync.Node].Services.Clear();
        await OperatorHarness.WaitUntilAsync(() => dc.ResolveService("web").Count == 1, "the instance to be registered again", TimeSpan.FromSeconds(45));
        Harness.Delete<V1Alpha1ConsulService>("web");
        await OperatorHarness.WaitUntilAsync(() => Harness.Get<V1Alpha1ConsulService>("web") is null, "the ConsulService to be released and gone");
        Assert.Empty(dc.CatalogNodes[CatalogSync.Node].Services);
        Assert.Empty(dc.ResolveService("web"));
    }

    [Fact]
    public async Task A_load_balancer_is_registered_once_it_has_an_address_and_a_node_port_on_every_ready_node()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(WebService("LoadBalancer"));
        CreatePod("web-1", "10.244.1.5", ready: true);
        Harness.Create(ServiceRef("web", "80"));

        var waiting = await WaitForServiceAsync(s => Conditions.Find(s.Conditions, Conditions.Ready) is { Reason: "WaitingForService" }, "the wait for a load balancer address");
        Assert.Contains("has no load balancer address yet", Conditions.Find(waiting.Conditions, Conditions.Ready)!.Message, StringComparison.Ordinal);
        var service = Harness.Api.Store.Get(Services, "consul", "web")!;
        service["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = new JsonArray(new JsonObject { ["ip"] = "203.0.113.10" }) } };
        Harness.Api.Store.Update(Services, "consul", "web", service, statusOnly: true);
        await WaitForServiceAsync(s => s.Instances is ["203.0.113.10:80 passing"], "the load balancer address");
        var dc = Harness.Consul.Datacenter("consul", "consul")!;
        Assert.Equal(["203.0.113.10"], dc.ResolveService("web"));

        // As a NodePort Service: one instance per ready, schedulable node, at its InternalIP.
        CreateNode("node-a", "192.168.1.11", ready: true);
        CreateNode("node-b", "192.168.1.12", ready: true);
        CreateNode("node-c", "192.168.1.13", ready: false);
        Harness.Edit<V1Alpha1ConsulService>("web", s => s.Spec.ServiceRef!.AddressType = ServiceAddressType.NodePort);
        await WaitForServiceAsync(s => s.Instances is ["192.168.1.11:30080 passing", "192.168.1.12:30080 passing"], "the node ports");
        Assert.Equal(["192.168.1.11", "192.168.1.12"], dc.ResolveService("web"));

        // The operator's cache keeps of a node only what it reads: not its images.
        Assert.NotNull(Harness.Api.Store.Get(Nodes, "", "node-a")!["status"]!["images"]);
        var cached = Harness.Caches(0).Nodes.Find("", "node-a")!;
        Assert.Null(cached.Status.Images);
        Assert.Equal("192.168.1.11", cached.Status.Addresses[0].Address);
    }

    [Fact]
    public async Task A_port_the_service_lacks_waits_and_says_which_ports_it_has()
    {
        Harness.Create(Clusters.Sample());
        Harness.Create(WebService("ClusterIP"));
        Harness.Create(ServiceRef("web", "grpc"));

        var status = await WaitForServiceAsync(s => Conditions.Find(s.Conditions, Conditions.Ready) is { Reason: "WaitingForService" }, "the wait for the port");
        Assert.Contains("Service web has no port \"grpc\" (it has http (80))", Conditions.Find(status.Conditions, Conditions.Ready)!.Message, StringComparison.Ordinal);
        Assert.False(Conditions.IsTrue(status.Conditions, Conditions.Degraded));
    }

    private static V1Alpha1ConsulService ServiceRef(string service, string port) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "consul" },
        Spec = new ConsulServiceSpec { ClusterRef = new ClusterReference { Name = "consul" }, Tags = ["k8s"], ServiceRef = new ServiceReference { Name = service, Port = port } },
    };

    private static V1Service WebService(string type) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "consul" },
        Spec = new V1ServiceSpec
        {
            Type = type,
            Selector = new Dictionary<string, string> { ["app"] = "web" },
            Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 8080, NodePort = type == "ClusterIP" ? null : 30080, Protocol = "TCP" }],
        },
    };

    // A pod the kubelet runs: its IP and Ready condition are in its status.
    private void CreatePod(string name, string ip, bool ready)
    {
        Harness.Create(new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "consul", Labels = new Dictionary<string, string> { ["app"] = "web" } },
            Spec = new V1PodSpec { NodeName = "node-a", Containers = [new V1Container { Name = "web", Image = "nginx:1.27" }] },
        });
        var pod = Harness.Api.Store.Get(Pods, "consul", name)!;
        pod["status"] = new JsonObject { ["phase"] = "Running", ["podIP"] = ip };
        Harness.Api.Store.Update(Pods, "consul", name, pod, statusOnly: true);
        SetReady(name, ready);
    }

    private void SetReady(string name, bool ready)
    {
        var pod = Harness.Api.Store.Get(Pods, "consul", name)!;
        pod["status"]!["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" });
        Harness.Api.Store.Update(Pods, "consul", name, pod, statusOnly: true);
    }

    // A node as its kubelet reports it: addresses and the Ready condition are status, which a create does not take.
    private void CreateNode(string name, string ip, bool ready)
    {
        Harness.Create(new V1Node { ApiVersion = "v1", Kind = "Node", Metadata = new V1ObjectMeta { Name = name } });
        var node = Harness.Api.Store.Get(Nodes, "", name)!;
        node["status"] = new JsonObject
        {
            ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = ip }, new JsonObject { ["type"] = "Hostname", ["address"] = name }),
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
            ["images"] = new JsonArray(new JsonObject { ["names"] = new JsonArray("registry.k8s.io/pause:3.10"), ["sizeBytes"] = 320368 }),
        };
        Harness.Api.Store.Update(Nodes, "", name, node, statusOnly: true);
    }

    private async Task<ConsulServiceStatus> WaitForServiceAsync(Func<ConsulServiceStatus, bool> condition, string what)
    {
        ConsulServiceStatus? status = null;
        await OperatorHarness.WaitUntilAsync(
            () => (status = Harness.Get<V1Alpha1ConsulService>("web")?.Status) is { } s && condition(s),
            $"{what} (last status: {(status is null ? "none" : System.Text.Json.JsonSerializer.Serialize(status))})", TimeSpan.FromSeconds(45));
        return status!;
    }
}
