using System.Net;
using ConsulOperator.Desired;

namespace ConsulOperator.Consul;

/// <summary>
/// Where the operator reaches a cluster's agents: the server Service for cluster-wide calls, a pod's stable name through
/// its headless Service for agent-local calls. <paramref name="route"/> decides which address a name is dialled at;
/// in a cluster that is DNS itself, tests point every name at a loopback server.
/// </summary>
public sealed class ConsulEndpoints(Func<DnsEndPoint, CancellationToken, ValueTask<DnsEndPoint>>? route = null)
{
    public static Uri Servers(Names names) => Https($"{names.Servers}.{names.Namespace}.svc.{names.ClusterDomain}");

    public static Uri Agent(Names names, string component, int ordinal) => Https(names.PodDnsNames(component, ordinal)[1]);

    /// <summary>The agent of one of the cluster's pods, by pod (node) name.</summary>
    public static Uri Agent(Names names, string pod) =>
        names.ParsePod(pod) is var (component, ordinal) ? Agent(names, component, ordinal) : throw new ArgumentException($"{pod} is not an agent pod of {names.Cluster}", nameof(pod));

    public ValueTask<DnsEndPoint> RouteAsync(DnsEndPoint target, CancellationToken cancel) => route?.Invoke(target, cancel) ?? ValueTask.FromResult(target);

    private static Uri Https(string host) => new($"https://{host}:{AgentConfig.HttpsPort}/");
}
