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

    public void ClusterGone(string ns, string cluster)
    {
        readiness.TryRemove((ns, cluster), out _);
        foreach (var key in expiries.Keys.Where(k => k.Namespace == ns && k.Cluster == cluster))
        {
            expiries.TryRemove(key, out _);
        }
    }

    public void Dispose() => meter.Dispose();
}
