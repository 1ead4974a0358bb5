using System.CommandLine;
using ConsulOperator.Cli;
using ConsulOperator.Hosting;

namespace ConsulOperator;

internal static class Program
{
    public static int Main(string[] args) => Run(args, Console.In, Console.Out, Console.Error);

    internal static int Run(string[] args, TextReader stdin, TextWriter output, TextWriter error)
    {
        var files = new Option<string[]>("--file", "-f") { Description = "A YAML file with ConsulCluster, ConsulService and ConsulExternalAgent objects ('-' for standard input); repeatable", Required = true, Arity = ArgumentArity.OneOrMore };
        var secrets = new Option<string?>("--secrets") { Description = "A YAML file of Secrets (as render wrote them, or kubectl get secrets -o yaml) whose CA, gossip key and certificates are reused" };
        var outputDirectory = new Option<string?>("--output-dir", "-o") { Description = "Write one file per object into this directory instead of printing" };
        var externalAgent = new Option<string?>("--external-agent") { Description = "Write this ConsulExternalAgent's bundle (the files for the machine's /etc/consul.d) into --output-dir instead" };
        var join = new Option<string[]>("--join") { Description = "With --external-agent: an address the machine reaches the servers at; repeatable", Arity = ArgumentArity.OneOrMore };
        var render = new Command("render", "Print every Kubernetes object the operator would create for a ConsulCluster, with fresh or given key material") { files, secrets, outputDirectory, externalAgent, join };
        render.SetAction(result =>
        {
            if (result.GetValue(externalAgent) is { } agent)
            {
                return RenderExternalAgent.Run(result.GetValue(files)!, result.GetValue(secrets), agent, result.GetValue(join) ?? [], result.GetValue(outputDirectory), TimeProvider.System, stdin, error);
            }

            if (result.GetValue(join) is { Length: > 0 })
            {
                error.WriteLine("error: --join applies only with --external-agent: a cluster's own servers are joined through its Services");
                return ExitCodes.InvalidInput;
            }

            return RenderCommand.Run(result.GetValue(files)!, result.GetValue(secrets), result.GetValue(outputDirectory), TimeProvider.System, stdin, output, error);
        });

        var root = new Option<string>("--root") { Description = "The repository root to write config/crds and config/rbac under", DefaultValueFactory = _ => "." };
        var manifests = new Command("manifests", "Write the CRDs and RBAC manifests generated from the code") { root };
        manifests.SetAction(result => ManifestsCommand.Run(result.GetValue(root)!, error));

        var defaults = new OperatorOptions();
        var namespaces = new Option<string[]>("--namespace", "-n") { Description = "A namespace to watch; repeatable; all namespaces when none is given (env WATCH_NAMESPACE, comma-separated)", DefaultValueFactory = _ => WatchNamespaceFromEnvironment() };
        var workers = new Option<int>("--workers") { Description = "Reconciles running at once", DefaultValueFactory = _ => defaults.Workers };
        var leaderElect = new Option<bool>("--leader-elect") { Description = "Elect a leader through a Lease so that several replicas are safe", DefaultValueFactory = _ => defaults.LeaderElection };
        var leaderNamespace = new Option<string>("--leader-election-namespace") { Description = "Namespace of the Lease (env POD_NAMESPACE)", DefaultValueFactory = _ => defaults.OperatorNamespace };
        var metricsAddress = new Option<string>("--metrics-address") { Description = "Where /metrics, /healthz and /readyz listen", DefaultValueFactory = _ => defaults.MetricsAddress };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "A kubeconfig file (env KUBECONFIG); else in-cluster, else ~/.kube/config", DefaultValueFactory = _ => defaults.Kubeconfig };
        var dnsNamespace = new Option<string>("--dns-namespace") { Description = "Namespace of the cluster DNS ConfigMaps to watch", DefaultValueFactory = _ => defaults.DnsNamespace };
        var resync = new Option<TimeSpan>("--resync-period") { Description = "Reconcile every cluster this often even without changes (hh:mm:ss)", DefaultValueFactory = _ => defaults.ResyncPeriod };
        var consulPoll = new Option<TimeSpan>("--consul-poll-interval") { Description = "Ask each healthy cluster's Consul about its health this often (hh:mm:ss)", DefaultValueFactory = _ => defaults.ConsulPollInterval };
        var consulDial = new Option<string?>("--consul-dial") { Description = "host:port to dial for every Consul agent, for an operator outside the cluster (certificates are still verified)" };
        var run = new Command("run", "Run the operator against a Kubernetes API server") { namespaces, workers, leaderElect, leaderNamespace, metricsAddress, kubeconfig, dnsNamespace, resync, consulPoll, consulDial };
        run.SetAction(async (result, cancel) =>
        {
            var options = defaults with
            {
                Namespaces = result.GetValue(namespaces)!,
                Workers = result.GetValue(workers),
                LeaderElection = result.GetValue(leaderElect),
                OperatorNamespace = result.GetValue(leaderNamespace)!,
                MetricsAddress = result.GetValue(metricsAddress)!,
                Kubeconfig = result.GetValue(kubeconfig),
                DnsNamespace = result.GetValue(dnsNamespace)!,
                ResyncPeriod = result.GetValue(resync),
                ConsulPollInterval = result.GetValue(consulPoll),
                ConsulDial = result.GetValue(consulDial),
            };
            await using var host = OperatorHost.Build(options);
            await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.RunAsync(host, cancel);
            return ExitCodes.Success;
        });

        var command = new RootCommand("consul-operator: runs HashiCorp Consul clusters on Kubernetes") { render, manifests, run };
        return command.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    private static string[] WatchNamespaceFromEnvironment() =>
        (Environment.GetEnvironmentVariable("WATCH_NAMESPACE") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
