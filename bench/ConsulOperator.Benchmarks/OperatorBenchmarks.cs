using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Testing;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Testing.KubeApi;
using k8s;
using k8s.Models;

namespace ConsulOperator.Benchmarks;

/// <summary>
/// The published operator against the test API server: convergence of N clusters, steady state over resyncs, reaction
/// to a change, a watch storm, and start-up. Prints Markdown.
/// </summary>
internal static partial class OperatorBenchmarks
{
    private static readonly ResourceInfo Clusters = ResourceCatalog.ForKind(ApiGroup.ApiVersion, V1Alpha1ConsulCluster.KindName);
    private static readonly ResourceInfo Secrets = ResourceCatalog.ForKind("v1", "Secret");

    public static async Task RunAsync(string binary, int[] counts, TimeSpan resync, int reactions, bool storm, TextWriter output)
    {
        output.WriteLine("### Convergence");
        output.WriteLine();
        output.WriteLine("| clusters | to all Ready | reads per cluster (GET / LIST / WATCH) | writes per cluster | CPU time | peak working set | working set when converged |");
        output.WriteLine("|---:|---:|---|---:|---:|---:|---:|");
        foreach (var count in counts)
        {
            var last = count == counts[^1];
            await using var run = await ConvergedRun.StartAsync(binary, count, resync, output);
            if (last)
            {
                await SteadyStateAsync(run, resync, output);
                if (reactions > 0)
                {
                    await ReactionAsync(run, reactions, output);
                }

                if (storm)
                {
                    await StormAsync(run, output);
                }
            }
        }
    }

    public static async Task StartupAsync(string binary, int runs, TextWriter output)
    {
        var ready = new List<double>();
        var leading = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            await using var server = await NewServerAsync();
            var kubeconfig = server.WriteKubeconfig(Path.GetTempFileName());
            var clock = Stopwatch.StartNew();
            await using var process = OperatorProcess.Start(binary, kubeconfig, $"startup{i}", TimeSpan.FromMinutes(10));
            using var http = new HttpClient();
            await Until(async () => (await Try(() => http.GetAsync(new Uri($"http://127.0.0.1:{process.MetricsPort}/readyz")))) is { IsSuccessStatusCode: true });
            ready.Add(clock.Elapsed.TotalMilliseconds);
            await Until(() => Task.FromResult((string?)server.Store.Get(ResourceCatalog.ForKind("coordination.k8s.io/v1", "Lease"), "consul-operator", "consul-operator-leader")?["spec"]?["holderIdentity"] is { } h && h.StartsWith($"startup{i}_", StringComparison.Ordinal)));
            leading.Add(clock.Elapsed.TotalMilliseconds);
            File.Delete(kubeconfig);
        }

        output.WriteLine("### Start-up of the published binary");
        output.WriteLine();
        output.WriteLine($"Over {runs} runs, median (min to max): process start to `/readyz` answering 200: {Median(ready):F0} ms ({ready.Min():F0} to {ready.Max():F0}); to holding the leader Lease: {Median(leading):F0} ms ({leading.Min():F0} to {leading.Max():F0}).");
        output.WriteLine();
    }

    private static async Task SteadyStateAsync(ConvergedRun run, TimeSpan resync, TextWriter output)
    {
        var before = run.Server.Requests.Count;
        var (rssBefore, _) = run.Operator.WorkingSetMiB();
        var reconcilesBefore = await Metric(run, "consul_operator_reconciles_total");
        var durationBefore = await Metric(run, "consul_operator_reconcile_duration_seconds_sum");

        // Two full resync periods: every cluster is reconciled at least once more with nothing to change.
        await Task.Delay(resync * 2 + TimeSpan.FromSeconds(2));

        var requests = run.Server.Requests.Snapshot().Skip(before).Where(r => r.Verb != "watch" && r.Plural != "leases").ToList();
        var reconciles = await Metric(run, "consul_operator_reconciles_total") - reconcilesBefore;
        var seconds = await Metric(run, "consul_operator_reconcile_duration_seconds_sum") - durationBefore;
        var (rssAfter, _) = run.Operator.WorkingSetMiB();
        var heap = await Metric(run, "dotnet_gc_last_collection_heap_size_bytes") / (1024 * 1024);
        output.WriteLine();
        output.WriteLine($"### Steady state ({run.Count} converged clusters, {resync.TotalSeconds:F0} s resync period, {(resync * 2).TotalSeconds:F0} s)");
        output.WriteLine();
        output.WriteLine($"- reconciles: {reconciles:F0} ({reconciles / run.Count:F1} per cluster); mean time of one reconcile of an unchanged cluster: {seconds / Math.Max(1, reconciles) * 1000:F2} ms");
        var writes = requests.Where(ConsulOperator.Testing.KubeApi.RequestLog.IsWrite).ToList();
        output.WriteLine($"- write requests: {writes.Count}{(writes.Count == 0 ? "" : $" ({string.Join(", ", writes.GroupBy(w => $"{w.Verb} {w.Plural}").Select(g => $"{g.Count()} {g.Key}"))})")}; GET requests: {requests.Count(r => r.Verb == "get")}; LIST requests: {requests.Count(r => r.Verb == "list")}");
        output.WriteLine($"- working set: {rssBefore:F0} MiB before, {rssAfter:F0} MiB after ({rssAfter - rssBefore:+0;-0} MiB); GC heap after the last collection: {heap:F0} MiB");
    }

    private static async Task ReactionAsync(ConvergedRun run, int events, TextWriter output)
    {
        var latencies = new List<double>();
        for (var i = 0; i < events; i++)
        {
            var name = ClusterName(i % run.Count);
            var secret = $"{name}-server-1-tls";
            var recreated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnChange(WatchEvent change)
            {
                if (change.Type == "ADDED" && change.Resource == Secrets && (string?)change.Item["metadata"]!["name"] == secret)
                {
                    recreated.TrySetResult();
                }
            }

            run.Server.Store.Changed += OnChange;
            var clock = Stopwatch.StartNew();
            run.Server.Store.Delete(Secrets, "bench", secret);
            await recreated.Task.WaitAsync(TimeSpan.FromSeconds(30));
            latencies.Add(clock.Elapsed.TotalMilliseconds);
            run.Server.Store.Changed -= OnChange;
        }

        latencies.Sort();
        output.WriteLine();
        output.WriteLine($"### Reaction ({events} deleted Secrets, one at a time, while {run.Count} clusters are managed)");
        output.WriteLine();
        output.WriteLine($"From the delete to the write that repairs it: median {Median(latencies):F1} ms, p99 {latencies[(int)Math.Ceiling(latencies.Count * 0.99) - 1]:F1} ms, max {latencies[^1]:F1} ms.");
    }

    private static async Task StormAsync(ConvergedRun run, TextWriter output)
    {
        var maxDepth = 0d;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                maxDepth = Math.Max(maxDepth, await Metric(run, "consul_operator_workqueue_depth"));
                await Task.Delay(20);
            }
        });

        // 10,000 events: label changes spread over every cluster, as fast as the store takes them.
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 10_000; i++)
        {
            var name = ClusterName(i % run.Count);
            var item = run.Server.Store.Get(Clusters, "bench", name)!;
            item["metadata"]!["labels"] = new JsonObject { ["storm"] = i.ToString(CultureInfo.InvariantCulture) };
            run.Server.Store.Update(Clusters, "bench", name, item, statusOnly: false);
        }

        var elapsed = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2));
        await sampling.CancelAsync();
        await sampler;
        output.WriteLine();
        output.WriteLine($"### Watch storm ({run.Count} clusters)");
        output.WriteLine();
        output.WriteLine($"10,000 ConsulCluster updates in {elapsed.TotalMilliseconds:F0} ms; the largest work queue depth seen (sampled every 20 ms) was {maxDepth:F0}, against {run.Count} distinct keys.");
    }

    private static async Task<double> Metric(ConvergedRun run, string name)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{run.Operator.MetricsPort}/metrics"));
        return MetricLine().Matches(text).Where(m => m.Groups[1].Value == name).Sum(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static string ClusterName(int i) => $"c{i:D4}";

    private static async Task<TestApiServer> NewServerAsync()
    {
        var server = await TestApiServer.StartAsync();
        foreach (var ns in new[] { "kube-system", "consul-operator", "bench" })
        {
            server.CreateNamespace(ns);
        }

        return server;
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("benchmark condition not reached within 10 minutes");
            }

            await Task.Delay(10);
        }
    }

    private static async Task<T?> Try<T>(Func<Task<T>> call)
        where T : class
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    [GeneratedRegex("^([a-z_]+)(?:\\{[^}]*\\})? ([0-9.eE+-]+)$", RegexOptions.Multiline)]
    private static partial Regex MetricLine();

    /// <summary>A fresh server with N clusters (DNS patching off: one Corefile cannot forward one zone to N clusters) converged by a fresh operator.</summary>
    private sealed class ConvergedRun : IAsyncDisposable
    {
        private ConvergedRun(TestApiServer server, TestConsulFleet consul, OperatorProcess process, int count, string kubeconfig)
        {
            Server = server;
            Consul = consul;
            Operator = process;
            Count = count;
            Kubeconfig = kubeconfig;
        }

        public TestApiServer Server { get; }

        public TestConsulFleet Consul { get; }

        public OperatorProcess Operator { get; }

        public int Count { get; }

        private string Kubeconfig { get; }

        public static async Task<ConvergedRun> StartAsync(string binary, int count, TimeSpan resync, TextWriter output)
        {
            var server = await NewServerAsync();
            var consul = await TestConsulFleet.StartAsync(server);
            var kubeconfig = server.WriteKubeconfig(Path.GetTempFileName());
            var process = OperatorProcess.Start(binary, kubeconfig, "bench", resync, $"127.0.0.1:{consul.Address.Port}");
            var run = new ConvergedRun(server, consul, process, count, kubeconfig);
            await Until(() => Task.FromResult(server.Store.Get(ResourceCatalog.ForKind("coordination.k8s.io/v1", "Lease"), "consul-operator", "consul-operator-leader") is not null));

            var sample = Samples.Cluster();
            sample.Spec.Dns.CoreDns.Patch = false;
            var requestsBefore = server.Requests.Count;
            var cpuBefore = process.CpuTime();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                sample.Metadata = new V1ObjectMeta { Name = ClusterName(i), NamespaceProperty = "bench" };
                server.Seed(sample);
            }

            var peak = 0d;
            await Until(() =>
            {
                peak = Math.Max(peak, process.WorkingSetMiB().Peak);
                return Task.FromResult(server.Store.List(Clusters, "bench", Selector.Parse(null, null)).Items
                    .Count(c => (c["status"]?["conditions"] as JsonArray)?.Any(x => (string?)x?["type"] == "Ready" && (string?)x["status"] == "True") == true) == count);
            });
            var converged = clock.Elapsed;
            var cpu = process.CpuTime() - cpuBefore;
            var requests = server.Requests.Snapshot().Skip(requestsBefore).Where(r => r.UserAgent.StartsWith("consul-operator/", StringComparison.Ordinal) && r.Plural != "leases").ToList();
            var (current, peakNow) = process.WorkingSetMiB();
            double PerCluster(Func<ConsulOperator.Testing.KubeApi.LoggedRequest, bool> which) => requests.Count(which) / (double)count;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {count} | {converged.TotalSeconds:F2} s | {PerCluster(r => r.Verb == "get"):F2} / {PerCluster(r => r.Verb == "list"):F2} / {PerCluster(r => r.Verb == "watch"):F2} | {PerCluster(ConsulOperator.Testing.KubeApi.RequestLog.IsWrite):F1} | {cpu.TotalSeconds:F1} s | {Math.Max(peak, peakNow):F0} MiB | {current:F0} MiB |"));
            return run;
        }

        public async ValueTask DisposeAsync()
        {
            await Operator.DisposeAsync();
            await Consul.DisposeAsync();
            await Server.DisposeAsync();
            File.Delete(Kubeconfig);
        }
    }
}
