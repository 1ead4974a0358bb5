using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Hosting;
using ConsulOperator.Runtime;
using ConsulOperator.Testing;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Testing.KubeApi;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Tests.Integration;

/// <summary>The real operator host (one or more replicas) against the test API server, with helpers to look and wait.</summary>
public sealed class OperatorHarness : IAsyncDisposable
{
    public const string Namespace = "consul";
    public static readonly string KubeadmCorefile = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Desired", "Dns", "Corefiles", "kubeadm.Corefile"));

    private static readonly LeaderElectionTiming FastElection = new(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(300));
    private readonly List<WebApplication> replicas = [];

    private OperatorHarness(TestApiServer api, TestConsulFleet consul)
    {
        Api = api;
        Consul = consul;
    }

    public TestApiServer Api { get; }

    /// <summary>The simulated Consul datacenters of the clusters in <see cref="Api"/>.</summary>
    public TestConsulFleet Consul { get; }

    public IReadOnlyList<WebApplication> Replicas => replicas;

    /// <summary>What every replica logged at Information and above.</summary>
    public LogRecorder Logs { get; } = new();

    public static async Task<OperatorHarness> StartAsync(int replicas = 1, bool leaderElection = true, string? corefile = null)
    {
        var api = await TestApiServer.StartAsync(bookmarkInterval: TimeSpan.FromMilliseconds(500));
        foreach (var ns in new[] { "kube-system", "consul-operator", Namespace })
        {
            api.CreateNamespace(ns);
        }

        api.Seed(new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta { Name = "coredns", NamespaceProperty = "kube-system" },
            Data = new Dictionary<string, string> { ["Corefile"] = corefile ?? KubeadmCorefile },
        });
        var harness = new OperatorHarness(api, await TestConsulFleet.StartAsync(api));
        for (var i = 0; i < replicas; i++)
        {
            await harness.StartReplicaAsync($"replica-{i}", leaderElection);
        }

        return harness;
    }

    public async Task<WebApplication> StartReplicaAsync(string identity, bool leaderElection = true)
    {
        var options = new OperatorOptions
        {
            Identity = identity,
            LeaderElection = leaderElection,
            OperatorNamespace = "consul-operator",
            MetricsAddress = "http://127.0.0.1:0",
            Workers = 2,
            ConsulPollInterval = TimeSpan.FromMilliseconds(500),
            NotServedRetry = TimeSpan.FromMilliseconds(200),

            // Raft indexes go into status at once, so that a test sees them follow Consul and a quiet cluster is quiet at
            // once; the 5-minute default is tested in RaftLagTests and measured by the benchmark.
            RaftIndexRefresh = TimeSpan.Zero,
        };
        var host = OperatorHost.Build(
            options, Api.ClientConfiguration(), logging: l => l.SetMinimumLevel(LogLevel.Information).AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(level => level >= LogLevel.Warning).AddProvider(Logs),
            leaderElection: FastElection, consulEndpoints: new ConsulEndpoints(Consul.RouteAsync));
        await host.StartAsync();
        replicas.Add(host);
        return host;
    }

    public async Task StopReplicaAsync(WebApplication replica)
    {
        await replica.StopAsync();
        await replica.DisposeAsync();
        replicas.Remove(replica);
    }

    public OperatorMetrics Metrics(int replica) => replicas[replica].Services.GetRequiredService<OperatorMetrics>();

    /// <summary>What a replica's informers hold.</summary>
    public ConsulOperator.Controllers.OperatorCaches Caches(int replica) => replicas[replica].Services.GetRequiredService<ConsulOperator.Controllers.OperatorCaches>();

    public static Uri MetricsUri(WebApplication replica) =>
        new(replica.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public JsonObject Create(IKubernetesObject item) => Api.Seed(item);

    /// <summary>
    /// Records, in order, what <paramref name="select"/> picks from every change of the store from now on (null picks
    /// nothing). Collapsing repeats, <paramref name="from"/> is the value before the recording (not recorded itself): a
    /// write that leaves it as it was, such as a status update, records nothing.
    /// </summary>
    public Recording Record(Func<ConsulOperator.Testing.KubeApi.WatchEvent, string?> select, bool collapseRepeats = false, string? from = null)
    {
        var recording = new Recording(collapseRepeats, from);
        Api.Store.Changed += change =>
        {
            if (select(change) is { } value)
            {
                recording.Add(value);
            }
        };
        return recording;
    }

    public T? Get<T>(string name, string ns = Namespace)
        where T : class, IKubernetesObject
    {
        return Api.Store.Get(Resource<T>(), ns, name) is { } item ? KubernetesJson.Deserialize<T>(item) : null;
    }

    public IReadOnlyList<JsonObject> List(string apiVersion, string kind, string? ns = Namespace) =>
        Api.Store.List(ResourceCatalog.ForKind(apiVersion, kind), ns, Selector.Parse(null, null)).Items;

    /// <summary>
    /// Changes an object directly, as a human with <c>kubectl edit</c> would (not through the operator, not logged). A
    /// conflict with a write that came in between (the operator's status, a Lease renewal) applies the change again to
    /// the latest version, as client-go's <c>retry.RetryOnConflict</c> does; the change must depend only on what it is given.
    /// </summary>
    public void Edit<T>(string name, Action<T> change, string ns = Namespace)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var resource = Resource<T>();
        for (var attempt = 1; ; attempt++)
        {
            var item = Get<T>(name, ns) ?? throw new InvalidOperationException($"{resource.Kind} {ns}/{name} does not exist");
            change(item);
            try
            {
                Api.Store.Update(resource, ns, name, JsonNode.Parse(KubernetesJson.Serialize(item))!.AsObject(), statusOnly: false);
                return;
            }
            catch (ApiException e) when (e.Code == 409 && attempt < 10)
            {
            }
        }
    }

    public void Delete<T>(string name, string ns = Namespace)
        where T : class, IKubernetesObject => Api.Store.Delete(Resource<T>(), ns, name);

    private static ResourceInfo Resource<T>() => ResourceCatalog.ForKind(Kinds.Of<T>().ApiVersion, Kinds.Of<T>().Kind);

    /// <summary>Waits until the ConsulCluster reports Ready for the given generation, and returns it.</summary>
    public async Task<V1Alpha1ConsulCluster> WaitForReadyAsync(string name = "consul", long generation = 1, TimeSpan? timeout = null)
    {
        V1Alpha1ConsulCluster? cluster = null;
        try
        {
            await WaitUntilAsync(
                () => (cluster = Get<V1Alpha1ConsulCluster>(name)) is { } c && c.Status?.ObservedGeneration == generation && Conditions.IsTrue(c.Status?.Conditions, Conditions.Ready),
                $"ConsulCluster {name} to become Ready",
                timeout);
        }
        catch (TimeoutException e)
        {
            // The status as it stood when the wait gave up, not when it began.
            throw new TimeoutException(
                $"{e.Message} (last status: {(cluster?.Status is null ? "none" : KubernetesJson.Serialize(cluster.Status))}; last operator log lines: {string.Join(" | ", Logs.Lines.TakeLast(12))})", e);
        }

        return cluster!;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Waits until the replicas have finished <paramref name="count"/> more reconciles: proof that the operator looked
    /// again, for the assertions that something did not happen.
    /// </summary>
    public async Task WaitForReconcilesAsync(int count, string why)
    {
        long Total() => replicas.Sum(r => r.Services.GetRequiredService<OperatorMetrics>().Reconciles);
        var start = Total();
        await WaitUntilAsync(() => Total() >= start + count, $"{count} more reconciles ({why})");
    }

    /// <summary>Waits until the operator has written nothing for a while: it has converged.</summary>
    public async Task WaitForQuietAsync(TimeSpan quiet)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var count = Writes().Count;
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow - since < quiet)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the operator kept writing");
            }

            await Task.Delay(50);
            var now = Writes().Count;
            if (now != count)
            {
                (count, since) = (now, DateTime.UtcNow);
            }
        }
    }

    /// <summary>Writes the operator sent (replicas' Lease renewals left out), optionally of one replica.</summary>
    public IReadOnlyList<LoggedRequest> Writes(string? identity = null) =>
        [.. OperatorRequests(identity).Where(r => RequestLog.IsWrite(r) && r.Plural != "leases")];

    public IReadOnlyList<LoggedRequest> OperatorRequests(string? identity = null) =>
        [.. Api.Requests.Snapshot().Where(r => r.UserAgent.StartsWith(identity is null ? "consul-operator/" : $"consul-operator/{identity}", StringComparison.Ordinal))];

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in replicas.ToList())
        {
            await StopReplicaAsync(replica);
        }

        await Consul.DisposeAsync();
        await Api.DisposeAsync();
    }
}

/// <summary>Values recorded from store changes, safe to read while the operator writes.</summary>
public sealed class Recording(bool collapseRepeats, string? from = null)
{
    private readonly List<string> values = [];
    private string? last = from;

    public void Add(string value)
    {
        lock (values)
        {
            if (!collapseRepeats || last != value)
            {
                values.Add(value);
                last = value;
            }
        }
    }

    public List<string> Snapshot()
    {
        lock (values)
        {
            return [.. values];
        }
    }
}
