using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using ConsulOperator.Desired;
using ConsulOperator.Testing.KubeApi;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// One simulated Consul datacenter per cluster of agent pods in the test API server, all behind one loopback port, each
/// set up the first time the operator dials one of its names. Agents start from their pods (image, start command,
/// environment, mounted ConfigMaps and Secrets: <see cref="AgentStart"/>); nothing is read from the ConsulCluster.
/// Which pods belong together is read from their <c>app.kubernetes.io/instance</c> label, as a Service selects them.
/// Each pod's volumes are real directories and its init containers really run (<see cref="PodRuntime"/>), once, when its
/// agent first starts. It also plays the kubelet's prober: every <c>probePeriod</c> it runs each running agent pod's readiness probe against
/// the pod's agent and reports the verdict to the StatefulSet simulator, so a pod is Ready only while its agent knows a
/// leader, as our probe asks.
/// </summary>
public sealed class TestConsulFleet : IAsyncDisposable
{
    private static readonly ResourceInfo Pods = ResourceCatalog.ForKind("v1", "Pod");
    private readonly ObjectStore store;
    private readonly StatefulSetSimulator kubelet;
    private readonly ConcurrentDictionary<string, ConsulSite> sites = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly PodRuntime runtime = new();

    // A directory with the image's `consul`: a script that runs the simulated CLI in this assembly, under this runtime.
    private readonly Lazy<string> cli = new(() =>
    {
        var directory = Directory.CreateTempSubdirectory("consul-cli-").FullName;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Environment.ProcessPath ?? "dotnet";
        var script = Path.Combine(directory, "consul");
        File.WriteAllText(script, $"#!/bin/sh\nexec '{dotnet}' '{typeof(ConsulCli).Assembly.Location}' consul \"$@\"\n");
        // Containers run in /bin/sh (PodRuntime), so only where there is one.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return directory;
    });
    private TestConsulServer server = null!;
    private Task probing = Task.CompletedTask;

    // The agent pods of every cluster, kept from the store's changes: looking them up per request must not scan the store.
    // Events can arrive out of order (a handler that recreates a pod runs inside the deletion's event), so the newest
    // resourceVersion wins.
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, (long Version, ConsulDatacenter.PodView? Pod)>> pods = new();

    private TestConsulFleet(ObjectStore store, StatefulSetSimulator kubelet)
    {
        this.store = store;
        this.kubelet = kubelet;
        store.Changed += OnChanged;
        foreach (var pod in store.List(Pods, null, Selector.Parse(null, null)).Items)
        {
            Track("ADDED", ObjectStore.Number(pod["metadata"]!["resourceVersion"]), pod);
        }
    }

    public TestConsulServer Server => server;

    /// <summary>The Job controller and kubelet for the operator's Jobs, which run with this fleet's consul CLI and network.</summary>
    public JobSimulator Jobs { get; private set; } = null!;

    // What the node adds to every container it runs: every name reaches this fleet.
    private Dictionary<string, string> NodeNetwork => new() { [ConsulCli.DialVariable] = $"{Address.Host}:{Address.Port}" };

    /// <summary>The address every agent name is dialled at.</summary>
    public DnsEndPoint Address => new("127.0.0.1", server.Port);

    /// <param name="probePeriod">How often the readiness probes run (the kubelet's periodSeconds, compressed); 100 ms unless given.</param>
    public static async Task<TestConsulFleet> StartAsync(TestApiServer api, int port = 0, TimeSpan? probePeriod = null)
    {
        var fleet = new TestConsulFleet(api.Store, api.StatefulSets);
        fleet.server = await TestConsulServer.StartAsync(fleet.SiteFor, port);
        fleet.Jobs = new JobSimulator(api.Store, fleet.runtime, fleet.NodeNetwork, [fleet.cli.Value]);
        fleet.probing = fleet.ProbeAsync(probePeriod ?? TimeSpan.FromMilliseconds(100), fleet.stopping.Token);
        return fleet;
    }

    // One kubelet period: every running agent pod's probe, and a report for each verdict that changed.
    private void ProbeAll()
    {
        foreach (var (key, members) in pods)
        {
            var slash = key.IndexOf('/');
            if (Site(key[..slash], key[(slash + 1)..]) is not { } site)
            {
                continue;
            }

            site.Refresh?.Invoke();
            var verdicts = members.Values.Select(v => v.Pod).OfType<ConsulDatacenter.PodView>().Where(p => p.Running)
                .Select(p => (p.Name, p.Uid, p.Ready, Passed: site.Datacenter.PassesReadinessProbe(p.Name, p.Uid)))
                .Where(v => v.Passed != v.Ready).ToList();

            // Reported outside the datacenter's lock: the report writes to the store, whose watchers may ask Consul.
            foreach (var verdict in verdicts)
            {
                kubelet.ReportReadiness(key[..slash], verdict.Name, verdict.Uid, verdict.Passed);
            }
        }
    }

    private async Task ProbeAsync(TimeSpan period, CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel))
            {
                ProbeAll();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped with the fleet.
        }
    }

    /// <summary>Where the operator dials a name: every name of every cluster reaches this fleet.</summary>
    public ValueTask<DnsEndPoint> RouteAsync(DnsEndPoint target, CancellationToken cancel) => ValueTask.FromResult(Address);

    /// <summary>The cluster's simulated datacenter, set up if it was not yet; null while the cluster has no agent pod.</summary>
    public ConsulDatacenter? Datacenter(string ns, string cluster) => Site(ns, cluster)?.Datacenter;

    /// <summary>The cluster's simulated datacenter, set up now if it was not yet: where machines outside Kubernetes run before the cluster has a pod.</summary>
    public ConsulDatacenter DatacenterFor(string ns, string cluster)
    {
        pods.GetOrAdd($"{ns}/{cluster}", _ => new());
        return Site(ns, cluster)!.Datacenter;
    }

    /// <summary>
    /// Runs one Job of a CronJob to the end, as <c>kubectl create job --from=cronjob/NAME</c> and then the kubelet would:
    /// its pod template's containers in a real shell (<see cref="PodRuntime.RunToCompletion"/>), with the image's
    /// <c>consul</c> on PATH (the simulated CLI, <see cref="ConsulCli"/>) and every name reaching this fleet.
    /// </summary>
    public (string? Failure, string Output) RunCronJob(string ns, string name)
    {
        var cronJob = store.Get(ResourceCatalog.ForKind("batch/v1", "CronJob"), ns, name) ?? throw new InvalidOperationException($"no CronJob {ns}/{name}");
        return RunPod(ns, $"{name}-manual", cronJob["spec"]!["jobTemplate"]!["spec"]!["template"]!["spec"]!.AsObject());
    }

    /// <summary>Runs a pod of this spec to the end (as <c>kubectl run --restart=Never</c> would), the same way as <see cref="RunCronJob"/>.</summary>
    public (string? Failure, string Output) RunPod(string ns, string name, JsonObject podSpec)
    {
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["uid"] = Guid.NewGuid().ToString() },
            ["spec"] = podSpec.DeepClone(),
        };
        return runtime.RunToCompletion(pod, store, NodeNetwork, [cli.Value]);
    }

    /// <summary>The directory behind a PersistentVolumeClaim, as pods that mount it see it.</summary>
    public string ClaimDirectory(string ns, string claim) =>
        runtime.VolumeDirectory($"pvc:{(string)store.Get(ResourceCatalog.ForKind("v1", "PersistentVolumeClaim"), ns, claim)!["metadata"]!["uid"]!}");

    /// <summary>The cluster's raft leader as of the pods Kubernetes reports right now (agents otherwise catch up on the next request).</summary>
    public string? CurrentLeader(string ns, string cluster)
    {
        var site = Site(ns, cluster);
        site?.Refresh?.Invoke();
        return site?.Datacenter.Leader;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await probing;
        stopping.Dispose();
        await server.DisposeAsync();
        runtime.Dispose();
        if (cli.IsValueCreated)
        {
            Directory.Delete(cli.Value, recursive: true);
        }
    }

    // consul-server-0.consul-server.ns.svc.cluster.local, consul-server.ns.svc.cluster.local → (ns, consul)
    private ConsulSite? SiteFor(string host)
    {
        var labels = host.Split('.');
        var svc = Array.IndexOf(labels, "svc");
        return svc < 1 ? null : Site(labels[svc - 1], ClusterOf(labels[0]));
    }

    private ConsulSite? Site(string ns, string cluster)
    {
        if (!pods.ContainsKey($"{ns}/{cluster}"))
        {
            return null;
        }

        return sites.GetOrAdd($"{ns}/{cluster}", _ =>
        {
            var datacenter = new ConsulDatacenter(TimeProvider.System);
            return new ConsulSite(datacenter, () => datacenter.ObservePods([.. pods.GetValueOrDefault($"{ns}/{cluster}")?.Values.Select(v => v.Pod).OfType<ConsulDatacenter.PodView>() ?? []]));
        });
    }

    // consul-server-0 → consul, consul-client-3 → consul, consul-server (the Service) → consul.
    private static string ClusterOf(string label)
    {
        var name = label.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9').TrimEnd('-');
        foreach (var suffix in new[] { "-server", "-client", "-ui", "-dns" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    private void OnChanged(WatchEvent change)
    {
        if (change.Resource == Pods)
        {
            Track(change.Type, change.ResourceVersion, change.Item);
        }
    }

    private void Track(string type, long version, JsonObject pod)
    {
        var metadata = pod["metadata"]!;
        if ((string?)metadata["labels"]?[Labels.Instance] is not { } cluster || (string?)metadata["labels"]?[Labels.Component] is not (Components.Server or Components.Client))
        {
            return;
        }

        var name = (string)metadata["name"]!;
        var ordinal = int.Parse(name[(name.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var running = (pod["status"]?["containerStatuses"] as JsonArray)?.Any(c => c?["state"]?["running"] is not null) == true;
        var ready = (pod["status"]?["conditions"] as JsonArray)?.Any(c => (string?)c?["type"] == "Ready" && (string?)c["status"] == "True") == true;
        var snapshot = (JsonObject)pod.DeepClone();
        var view = type == "DELETED" ? null : new ConsulDatacenter.PodView(name, ordinal, (string)metadata["uid"]!, running, ready, () => AgentStart.Read(snapshot, store, runtime));
        pods.GetOrAdd($"{(string)metadata["namespace"]!}/{cluster}", _ => new())
            .AddOrUpdate(name, (version, view), (_, known) => known.Version > version ? known : (version, view));
    }
}
