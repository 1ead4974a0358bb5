using System.Globalization;
using System.Net;
using ConsulOperator.Consul;
using ConsulOperator.Controllers;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace ConsulOperator.Hosting;

/// <summary>The operator process: controllers, leader election, /metrics, /healthz and /readyz, JSON logs.</summary>
public static class OperatorHost
{
    public static WebApplication Build(
        OperatorOptions options, KubernetesClientConfiguration? client = null, TimeProvider? time = null, Action<ILoggingBuilder>? logging = null,
        LeaderElectionTiming? leaderElection = null, ConsulEndpoints? consulEndpoints = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.MetricsAddress);
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(json =>
        {
            json.IncludeScopes = true;
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        logging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddSingleton(_ => new Kubernetes(client ?? ClientConfiguration(options)));
        services.AddSingleton<OperatorMetrics>();
        services.AddSingleton(s => new KubeApi(s.GetRequiredService<Kubernetes>(), s.GetRequiredService<OperatorMetrics>(), $"consul-operator/{options.Identity}"));
        services.AddSingleton(s => new Applier(s.GetRequiredService<KubeApi>(), Labels.SpecHashAnnotation));
        services.AddSingleton(s => new OperatorCaches(
            s.GetRequiredService<KubeApi>(), options.Namespaces.Count == 0 ? [null] : [.. options.Namespaces], options.DnsNamespace,
            s.GetRequiredService<ILoggerFactory>(), s.GetRequiredService<TimeProvider>(), options.NotServedRetry));
        services.AddSingleton(s => new EventRecorder(s.GetRequiredService<KubeApi>(), "consul-operator", s.GetRequiredService<TimeProvider>(), s.GetRequiredService<ILogger<EventRecorder>>()));
        services.AddSingleton(s => new CoreDnsForwarding(s.GetRequiredService<KubeApi>(), s.GetRequiredService<OperatorCaches>().DnsConfigMaps, options.DnsNamespace));
        services.AddSingleton<ParsedSecrets>();
        services.AddSingleton(s => new ConsulConnections(consulEndpoints ?? ConsulEndpointsFor(options), ConsulRetry.Default, s.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ConsulAcl>();
        services.AddSingleton<GossipRotation>();
        services.AddSingleton<ClusterObjects>();
        services.AddSingleton<ConsulClusterReconciler>();
        services.AddSingleton<ClusterConnections>();
        services.AddSingleton<ServiceCatalogSync>();
        services.AddSingleton<ConsulServiceReconciler>();
        services.AddSingleton<ConsulAclPolicyReconciler>();
        services.AddSingleton<ConsulAclTokenReconciler>();
        services.AddSingleton<ConsulSnapshotRestoreReconciler>();
        services.AddSingleton<ConsulExternalAgentReconciler>();
        services.AddSingleton(s => new OperatorControllers(
            ControllerFor(s, s.GetRequiredService<ConsulClusterReconciler>(), options.Workers),
            ControllerFor(s, s.GetRequiredService<ConsulServiceReconciler>(), options.Workers),
            ControllerFor(s, s.GetRequiredService<ConsulAclPolicyReconciler>(), options.Workers),
            ControllerFor(s, s.GetRequiredService<ConsulAclTokenReconciler>(), options.Workers),
            ControllerFor(s, s.GetRequiredService<ConsulSnapshotRestoreReconciler>(), options.Workers),
            ControllerFor(s, s.GetRequiredService<ConsulExternalAgentReconciler>(), options.Workers)));
        if (options.LeaderElection)
        {
            services.AddSingleton(s => new LeaderElector(
                s.GetRequiredService<KubeApi>(), options.OperatorNamespace, options.LeaseName, options.Identity, leaderElection ?? LeaderElectionTiming.Default,
                s.GetRequiredService<TimeProvider>(), s.GetRequiredService<ILogger<LeaderElector>>()));
        }

        services.AddHostedService(s => new OperatorService(
            s.GetRequiredService<OperatorCaches>(), s.GetRequiredService<OperatorControllers>(), s.GetService<LeaderElector>(), s.GetRequiredService<ILogger<OperatorService>>()));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(OperatorMetrics.MeterName, "System.Runtime").AddPrometheusExporter());

        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (OperatorCaches caches) => caches.HasSynced ? Results.Text("ok") : Results.Text("caches not synced", statusCode: 503));
        return app;
    }

    private static Controller ControllerFor(IServiceProvider services, IReconciler reconciler, int workers) => new(
        reconciler,
        new WorkQueue(services.GetRequiredService<TimeProvider>(), TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(5)),
        workers, services.GetRequiredService<OperatorMetrics>(), services.GetRequiredService<ILogger<Controller>>());

    private static ConsulEndpoints ConsulEndpointsFor(OperatorOptions options)
    {
        if (options.ConsulDial is not { Length: > 0 } dial)
        {
            return new ConsulEndpoints();
        }

        var separator = dial.LastIndexOf(':');
        var target = new DnsEndPoint(dial[..separator], int.Parse(dial[(separator + 1)..], CultureInfo.InvariantCulture));
        return new ConsulEndpoints((_, _) => ValueTask.FromResult(target));
    }

    /// <summary>A kubeconfig file when given, else in-cluster, else ~/.kube/config, as kubectl does.</summary>
    public static KubernetesClientConfiguration ClientConfiguration(OperatorOptions options) =>
        options.Kubeconfig is { Length: > 0 } path
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
            : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildDefaultConfig();
}
