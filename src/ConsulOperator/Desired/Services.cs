using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>The Services of a cluster: headless ones for stable pod names and joining, one for DNS, one for the UI.</summary>
public static class Services
{
    public static IEnumerable<V1Service> Build(V1Alpha1ConsulCluster cluster)
    {
        var spec = cluster.Spec;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var version = ConsulVersion.Parse(spec.Version);

        yield return Headless(cluster, names.Servers, Components.Server, AgentPorts(server: true, version));
        if (spec.Clients.Replicas > 0)
        {
            yield return Headless(cluster, names.Clients, Components.Client, AgentPorts(server: false, version));
        }

        if (spec.Dns.Service.Enabled)
        {
            yield return new V1Service
            {
                ApiVersion = "v1",
                Kind = "Service",
                Metadata = ObjectMetadata.For(cluster, names.DnsService, Components.Dns),
                Spec = new V1ServiceSpec
                {
                    Type = "ClusterIP",
                    ClusterIP = spec.Dns.Service.ClusterIP,

                    // Every agent answers DNS, so the Service spreads over servers and clients alike, and over nothing else.
                    Selector = new Dictionary<string, string>(ObjectMetadata.SelectorLabels(cluster, component: null)) { [Labels.Agent] = "true" },
                    Ports =
                    [
                        Port("dns-tcp", spec.Dns.Service.Port, AgentConfig.DnsPort, "TCP"),
                        Port("dns-udp", spec.Dns.Service.Port, AgentConfig.DnsPort, "UDP"),
                    ],
                },
            };
        }

        if (spec.Ui.Enabled)
        {
            yield return new V1Service
            {
                ApiVersion = "v1",
                Kind = "Service",
                Metadata = ObjectMetadata.For(cluster, names.UiService, Components.Ui),
                Spec = new V1ServiceSpec
                {
                    Type = spec.Ui.ServiceType.ToString(),
                    Selector = ObjectMetadata.SelectorLabels(cluster, Components.Server),
                    Ports = [Port("https", 443, AgentConfig.HttpsPort, "TCP")],
                },
            };
        }
    }

    /// <summary>The container ports of an agent, which the headless Service also lists.</summary>
    public static List<V1ServicePort> AgentPorts(bool server, ConsulVersion version)
    {
        var ports = new List<V1ServicePort>();
        if (server)
        {
            ports.Add(Port("server", AgentConfig.ServerRpcPort, AgentConfig.ServerRpcPort, "TCP"));
        }

        ports.Add(Port("serflan-tcp", AgentConfig.SerfLanPort, AgentConfig.SerfLanPort, "TCP"));
        ports.Add(Port("serflan-udp", AgentConfig.SerfLanPort, AgentConfig.SerfLanPort, "UDP"));
        if (server)
        {
            ports.Add(Port("serfwan-tcp", AgentConfig.SerfWanPort, AgentConfig.SerfWanPort, "TCP"));
            ports.Add(Port("serfwan-udp", AgentConfig.SerfWanPort, AgentConfig.SerfWanPort, "UDP"));
        }

        ports.Add(Port("https", AgentConfig.HttpsPort, AgentConfig.HttpsPort, "TCP"));
        if (server && version.HasGrpcTlsPort)
        {
            ports.Add(Port("grpc-tls", AgentConfig.GrpcTlsPort, AgentConfig.GrpcTlsPort, "TCP"));
        }

        ports.Add(Port("dns-tcp", AgentConfig.DnsPort, AgentConfig.DnsPort, "TCP"));
        ports.Add(Port("dns-udp", AgentConfig.DnsPort, AgentConfig.DnsPort, "UDP"));
        return ports;
    }

    private static V1Service Headless(V1Alpha1ConsulCluster cluster, string name, string component, List<V1ServicePort> ports) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = ObjectMetadata.For(cluster, name, component),
        Spec = new V1ServiceSpec
        {
            ClusterIP = "None",

            // Agents must find each other before they are ready: readiness needs a leader, and a leader needs peers.
            PublishNotReadyAddresses = true,
            Selector = ObjectMetadata.SelectorLabels(cluster, component),
            Ports = ports,
        },
    };

    private static V1ServicePort Port(string name, int port, int targetPort, string protocol) =>
        new() { Name = name, Port = port, TargetPort = targetPort, Protocol = protocol };
}
