using ConsulOperator.Controllers;

namespace ConsulOperator.Hosting;

/// <summary>How the operator runs, from flags and the environment (the chart sets POD_NAMESPACE through the Downward API).</summary>
public sealed record OperatorOptions
{
    /// <summary>Namespaces to watch; empty for all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    public int Workers { get; init; } = 2;

    public bool LeaderElection { get; init; } = true;

    /// <summary>Where the Lease and the operator's own Events live.</summary>
    public string OperatorNamespace { get; init; } = Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "consul-operator";

    public string LeaseName { get; init; } = "consul-operator-leader";

    /// <summary>Who this replica is in the Lease: the pod name where there is one.</summary>
    public string Identity { get; init; } = $"{Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName}_{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Where /metrics, /healthz and /readyz listen.</summary>
    public string MetricsAddress { get; init; } = "http://0.0.0.0:8080";

    /// <summary>A kubeconfig file; without one, the in-cluster configuration or ~/.kube/config, as kubectl finds them.</summary>
    public string? Kubeconfig { get; init; } = Environment.GetEnvironmentVariable("KUBECONFIG");

    /// <summary>How often every cluster is reconciled even when nothing changed, to catch what no watch reported.</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often a cluster with servers is reconciled to ask Consul how it is; an unhealthy one is asked more often.</summary>
    public TimeSpan ConsulPollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often raft indexes that moved alone are written to status.servers (RaftLag.Settle).</summary>
    public TimeSpan RaftIndexRefresh { get; init; } = RaftLag.IndexRefresh;

    /// <summary>How often a kind of another project whose CRD is not installed (the Prometheus Operator's) is looked for again.</summary>
    public TimeSpan NotServedRetry { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// host:port at which every Consul agent name is dialled, for an operator running outside the cluster (through a
    /// port-forward or proxy). Certificates are still verified against the agents' names.
    /// </summary>
    public string? ConsulDial { get; init; }

    /// <summary>The namespace of the cluster DNS ConfigMaps, which the operator watches to repair its forwarding.</summary>
    public string DnsNamespace { get; init; } = "kube-system";
}
