using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ConsulOperator.Runtime;

/// <summary>The operator's metrics, exported by the Prometheus endpoint as consul_operator_*.</summary>
public sealed class OperatorMetrics : IDisposable
{
    public const string MeterName = "ConsulOperator";

    private readonly Meter meter = new(MeterName);
    private readonly Counter<long> reconciles;
    private readonly Counter<long> reconcileErrors;
    private readonly Histogram<double> reconcileDuration;
    private readonly Counter<long> apiRequests;
    private readonly ConcurrentDictionary<string, Func<int>> queueDepths = new();
    private readonly ConcurrentDictionary<(string Namespace, string Cluster, string Certificate), DateTimeOffset> expiries = new();
    private readonly ConcurrentDictionary<(string Namespace, string Cluster), bool> readiness = new();
    private readonly ConcurrentDictionary<(string Namespace, string Cluster), ConsulView> consul = new();
    private long reconcileCount;

    public OperatorMetrics()
    {
        reconciles = meter.CreateCounter<long>("consul_operator_reconciles", description: "Reconciles by controller and result");
        reconcileErrors = meter.CreateCounter<long>("consul_operator_reconcile_errors", description: "Reconciles that failed, by controller");
        reconcileDuration = meter.CreateHistogram<double>("consul_operator_reconcile_duration", unit: "s", description: "Time one reconcile takes, by controller");
        apiRequests = meter.CreateCounter<long>("consul_operator_api_requests", description: "Kubernetes API requests by verb and resource");
        meter.CreateObservableGauge("consul_operator_workqueue_depth", () => queueDepths.Select(q => new Measurement<int>(q.Value(), new KeyValuePair<string, object?>("controller", q.Key))), description: "Keys waiting in a controller's queue");
        meter.CreateObservableGauge("consul_operator_certificate_expiry_timestamp", () => expiries.Select(e => new Measurement<double>(
            e.Value.ToUnixTimeSeconds(),
            new KeyValuePair<string, object?>("namespace", e.Key.Namespace),
            new KeyValuePair<string, object?>("cluster", e.Key.Cluster),
            new KeyValuePair<string, object?>("certificate", e.Key.Certificate))), unit: "s", description: "When a cluster's CA or first-expiring agent certificate expires (Unix time)");
        meter.CreateObservableGauge("consul_operator_raft_leader", () => consul.Select(c => new Measurement<int>(c.Value.Leader ? 1 : 0, Cluster(c.Key))),
            description: "1 while the cluster's Consul has a raft leader, 0 while the operator finds none");
        meter.CreateObservableGauge("consul_operator_server_voter", () => consul.SelectMany(c => c.Value.Servers.Select(s => new Measurement<int>(s.Voter ? 1 : 0, Server(c.Key, s.Name)))),
            description: "1 for a server that votes in raft, 0 for one that does not (yet)");
        meter.CreateObservableGauge("consul_operator_server_last_index", () => consul.SelectMany(c => c.Value.Servers.Select(s => new Measurement<long>(s.LastIndex, Server(c.Key, s.Name)))),
            description: "The index of a server's last raft log entry, from autopilot health");
        meter.CreateObservableGauge("consul_operator_members", () => consul.SelectMany(c => c.Value.Members.Select(m => new Measurement<int>(
            m.Value, [.. Cluster(c.Key), new KeyValuePair<string, object?>("status", m.Key)]))), description: "The cluster's LAN gossip members by status (alive, leaving, left, failed)");
        meter.CreateObservableGauge("consul_operator_clusters", () => readiness.GroupBy(r => r.Value).Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("ready", g.Key ? "true" : "false"))), description: "ConsulClusters by readiness");
    }

    /// <summary>Reconciles finished so far, for tests and benchmarks that wait for one.</summary>
    public long Reconciles => Interlocked.Read(ref reconcileCount);

    public void Reconciled(string controller, string result, TimeSpan duration)
    {
        Interlocked.Increment(ref reconcileCount);
        reconciles.Add(1, new KeyValuePair<string, object?>("controller", controller), new KeyValuePair<string, object?>("result", result));
        reconcileDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("controller", controller));
        if (result == "error")
        {
            reconcileErrors.Add(1, new KeyValuePair<string, object?>("controller", controller));
        }
    }

    public void ApiRequest(string verb, string resource) =>
        apiRequests.Add(1, new KeyValuePair<string, object?>("verb", verb), new KeyValuePair<string, object?>("resource", resource));

    public void TrackQueue(string controller, Func<int> depth) => queueDepths[controller] = depth;

    public void CertificateExpiry(string ns, string cluster, string certificate, DateTimeOffset notAfter) => expiries[(ns, cluster, certificate)] = notAfter;

    public void ClusterReady(string ns, string cluster, bool ready) => readiness[(ns, cluster)] = ready;

    /// <summary>What the last poll of Consul found: a leader or none, the servers in raft, the gossip members.</summary>
    public void Consul(string ns, string cluster, ConsulView view) => consul[(ns, cluster)] = view;

    public void ClusterGone(string ns, string cluster)
    {
        readiness.TryRemove((ns, cluster), out _);
        consul.TryRemove((ns, cluster), out _);
        foreach (var key in expiries.Keys.Where(k => k.Namespace == ns && k.Cluster == cluster))
        {
            expiries.TryRemove(key, out _);
        }
    }

    public void Dispose() => meter.Dispose();

    private static KeyValuePair<string, object?>[] Cluster((string Namespace, string Cluster) key) =>
        [new("namespace", key.Namespace), new("cluster", key.Cluster)];

    private static KeyValuePair<string, object?>[] Server((string Namespace, string Cluster) key, string server) =>
        [.. Cluster(key), new("server", server)];
}

/// <summary>A cluster's Consul as the operator's last poll saw it.</summary>
public sealed record ConsulView(bool Leader, IReadOnlyList<ServerView> Servers, IReadOnlyDictionary<string, int> Members);

public sealed record ServerView(string Name, bool Voter, long LastIndex);
