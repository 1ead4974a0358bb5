namespace ConsulOperator.Desired;

/// <summary>The names of everything a ConsulCluster named <see cref="Cluster"/> owns.</summary>
public sealed record Names(string Cluster, string Namespace, string ClusterDomain)
{
    public string CaSecret => $"{Cluster}-ca";
    public string CaCertificateConfigMap => $"{Cluster}-ca-cert";
    public string GossipSecret => $"{Cluster}-gossip";
    public string CliSecret => $"{Cluster}-cli-tls";
    /// <summary>The management token from the ACL bootstrap: only the operator reads it.</summary>
    public string AclBootstrapSecret => $"{Cluster}-acl-bootstrap";

    /// <summary>The operator's own token, for everything but ACL administration and snapshots.</summary>
    public string AclOperatorSecret => $"{Cluster}-acl-operator";

    /// <summary>Where agent tokens were kept before each pod had a Secret of its own: read to keep those tokens, then deleted.</summary>
    public string LegacyAclAgentSecret => $"{Cluster}-acl-agents";

    /// <summary>One agent pod's token; no pod mounts it (the operator hands the token over through the agent API).</summary>
    public static string AgentTokenSecret(string pod) => pod + AgentTokenSuffix;

    public const string AgentTokenSuffix = "-acl-token";

    /// <summary>The client certificate Prometheus scrapes agents with (client auth only).</summary>
    public string MetricsSecret => $"{Cluster}-metrics-tls";

    /// <summary>The ACL token Prometheus scrapes agents with (agent read only).</summary>
    public string AclMetricsSecret => $"{Cluster}-acl-metrics";

    /// <summary>The client certificate the UI Ingress controller presents to the servers (ingress-nginx proxy-ssl-secret).</summary>
    public string UiProxySecret => $"{Cluster}-ui-proxy-tls";

    public string DashboardConfigMap => $"{Cluster}-grafana-dashboard";

    public string SnapshotClaim => $"{Cluster}-snapshots";

    public string SnapshotCronJob => $"{Cluster}-snapshot";

    public string ServerConfigMap => $"{Cluster}-server-config";
    public string ClientConfigMap => $"{Cluster}-client-config";

    /// <summary>The input of a recovery in progress: each listed server's raft/peers.json, which an init container copies in.</summary>
    public string RecoveryConfigMap => $"{Cluster}-recovery";
    public string Servers => $"{Cluster}-server";
    public string Clients => $"{Cluster}-client";
    public string DnsService => $"{Cluster}-dns";
    public string UiService => $"{Cluster}-ui";

    public string StatefulSet(string component) => component == Components.Server ? Servers : Clients;

    public string Pod(string component, int ordinal) => $"{StatefulSet(component)}-{ordinal}";

    public string PodSecret(string component, int ordinal) => $"{Pod(component, ordinal)}-tls";

    /// <summary>Whether a Consul node is one of this cluster's server pods; any other server in raft runs outside Kubernetes (spec.join).</summary>
    public bool IsServerPod(string node) => ParsePod(node) is (Components.Server, _);

    /// <summary>Which agent pod (and so which Consul node) a name is: its component and ordinal, or null for a name that is none of ours.</summary>
    public (string Component, int Ordinal)? ParsePod(string pod)
    {
        foreach (var component in new[] { Components.Server, Components.Client })
        {
            var prefix = $"{StatefulSet(component)}-";
            if (pod.StartsWith(prefix, StringComparison.Ordinal)
                && int.TryParse(pod.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ordinal))
            {
                return (component, ordinal);
            }
        }

        return null;
    }

    /// <summary>The pod's stable names through its headless Service, short and fully qualified.</summary>
    public IReadOnlyList<string> PodDnsNames(string component, int ordinal)
    {
        var host = $"{Pod(component, ordinal)}.{StatefulSet(component)}.{Namespace}.svc";
        return [host, $"{host}.{ClusterDomain}"];
    }

    /// <summary>
    /// A server's raft address by name: its DNS name through the headless Service, which it keeps when its pod is replaced
    /// (a new pod gets a new IP), and the server RPC port that raft shares.
    /// </summary>
    public string ServerRaftAddress(int ordinal) => $"{PodDnsNames(Components.Server, ordinal)[1]}:{AgentConfig.ServerRpcPort}";

    /// <summary>The server Service names clients and tools connect to.</summary>
    public IReadOnlyList<string> ServerServiceDnsNames =>
        [$"{Servers}.{Namespace}.svc", $"{Servers}.{Namespace}.svc.{ClusterDomain}", $"{UiService}.{Namespace}.svc", $"{UiService}.{Namespace}.svc.{ClusterDomain}"];

    /// <summary>The headless server Service, which resolves to every server pod, ready or not: what agents join through.</summary>
    public string ServerJoinAddress => $"{Servers}.{Namespace}.svc.{ClusterDomain}";
}
