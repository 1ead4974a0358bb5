using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Testing.KubeApi;
using k8s;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// One simulated Consul datacenter per ConsulCluster in the test API server, all behind one loopback port, each set up
/// the first time the operator dials one of its names. Each reads what real agents would: its TLS material from the
/// cluster's Secrets, its settings from the cluster's spec, and which agents run from the StatefulSets' ready pods.
/// </summary>
public sealed class TestConsulFleet : IAsyncDisposable
{
    private static readonly ResourceInfo Secrets = ResourceCatalog.ForKind("v1", "Secret");
    private static readonly ResourceInfo Pods = ResourceCatalog.ForKind("v1", "Pod");
    private static readonly ResourceInfo Clusters = ResourceCatalog.ForKind(ApiGroup.ApiVersion, V1Alpha1ConsulCluster.KindName);
    private readonly ObjectStore store;
    private readonly ConcurrentDictionary<string, Lazy<ConsulSite?>> sites = new();
    private readonly ConcurrentDictionary<string, (string Version, X509Certificate2 Certificate)> certificates = new();
    private TestConsulServer server = null!;

    // The agent pods of every cluster, kept from the store's changes: looking them up per request must not scan the store.
    // Events can arrive out of order (a handler that recreates a pod runs inside the deletion's event), so the newest
    // resourceVersion wins.
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, (long Version, ConsulDatacenter.PodView? Pod)>> pods = new();

    private TestConsulFleet(ObjectStore store)
    {
        this.store = store;
        store.Changed += OnChanged;
        foreach (var pod in store.List(Pods, null, Selector.Parse(null, null)).Items)
        {
            Track("ADDED", ObjectStore.Number(pod["metadata"]!["resourceVersion"]), pod);
        }
    }

    public TestConsulServer Server => server;

    /// <summary>The address every agent name is dialled at.</summary>
    public DnsEndPoint Address => new("127.0.0.1", server.Port);

    public static async Task<TestConsulFleet> StartAsync(ObjectStore store, int port = 0)
    {
        var fleet = new TestConsulFleet(store);
        fleet.server = await TestConsulServer.StartAsync(fleet.SiteFor, port);
        return fleet;
    }

    /// <summary>Where the operator dials a name: every name of every cluster reaches this fleet.</summary>
    public ValueTask<DnsEndPoint> RouteAsync(DnsEndPoint target, CancellationToken cancel) => ValueTask.FromResult(Address);

    /// <summary>The cluster's simulated datacenter, set up if it was not yet; null while the cluster has no CA to serve with.</summary>
    public ConsulDatacenter? Datacenter(string ns, string cluster) => Site(ns, cluster)?.Datacenter;

    /// <summary>The cluster's raft leader as of the pods Kubernetes reports right now (agents otherwise catch up on the next request).</summary>
    public string? CurrentLeader(string ns, string cluster)
    {
        var site = Site(ns, cluster);
        site?.Refresh?.Invoke();
        return site?.Datacenter.Leader;
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();

    // consul-server-0.consul-server.ns.svc.cluster.local, consul-server.ns.svc.cluster.local → (ns, consul)
    private ConsulSite? SiteFor(string host)
    {
        var labels = host.Split('.');
        var svc = Array.IndexOf(labels, "svc");
        return svc < 1 ? null : Site(labels[svc - 1], ClusterOf(labels[0]));
    }

    private ConsulSite? Site(string ns, string cluster)
    {
        var site = sites.GetOrAdd($"{ns}/{cluster}", _ => new Lazy<ConsulSite?>(() => Create(ns, cluster))).Value;
        if (site is null)
        {
            // Not there yet: try again on the next request rather than remember the absence.
            sites.TryRemove($"{ns}/{cluster}", out _);
        }

        return site;
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

    private ConsulSite? Create(string ns, string cluster)
    {
        var item = store.Get(Clusters, ns, cluster);
        if (item is null)
        {
            return null;
        }

        var spec = KubernetesJson.Deserialize<V1Alpha1ConsulCluster>(item.ToJsonString()).Spec;
        var names = new Names(cluster, ns, spec.ClusterDomain);
        if (Text(ns, names.CaSecret, KeyMaterialSecrets.CertificateKey) is null)
        {
            return null;
        }

        var datacenter = new ConsulDatacenter(spec.Datacenter, spec.Version, TimeProvider.System)
        {
            AclEnabled = spec.Acl.Enabled,
            AclDefaultDeny = spec.Acl.DefaultPolicy == AclPolicy.Deny,
            BootstrapExpect = spec.Servers.Replicas,
            MountedAgentToken = agent => Text(ns, names.AclAgentSecret, agent),
        };
        if (Text(ns, names.GossipSecret, KeyMaterialSecrets.GossipKeyKey) is { } key)
        {
            datacenter.InstallInitialGossipKey(key);
        }

        var tls = new ConsulTls(
            () => X509Certificate2.CreateFromPem(Text(ns, names.CaSecret, KeyMaterialSecrets.CertificateKey)!),
            serverName => Serving(ns, serverName?.Split('.')[0] is { } pod && store.Get(Secrets, ns, $"{pod}-tls") is not null ? $"{pod}-tls" : names.PodSecret(Components.Server, 0)));
        return new ConsulSite(datacenter, tls, () => datacenter.ObservePods([.. pods.GetValueOrDefault($"{ns}/{cluster}")?.Values.Select(v => v.Pod).OfType<ConsulDatacenter.PodView>() ?? []]));
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
        if ((string?)metadata["labels"]?[Labels.Instance] is not { } cluster || (string?)metadata["labels"]?[Labels.Component] is not { } component)
        {
            return;
        }

        var name = (string)metadata["name"]!;
        var ordinal = int.Parse(name[(name.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var ready = (pod["status"]?["conditions"] as JsonArray)?.Any(c => (string?)c?["type"] == "Ready" && (string?)c["status"] == "True") == true;
        var view = type == "DELETED" ? null : new ConsulDatacenter.PodView(name, ordinal, component == Components.Server, (string)metadata["uid"]!, ready, (string?)metadata["labels"]?[Labels.Version]);
        pods.GetOrAdd($"{(string)metadata["namespace"]!}/{cluster}", _ => new())
            .AddOrUpdate(name, (version, view), (_, known) => known.Version > version ? known : (version, view));
    }

    private X509Certificate2? Serving(string ns, string secretName)
    {
        var secret = store.Get(Secrets, ns, secretName);
        if (secret is null)
        {
            return null;
        }

        var version = (string)secret["metadata"]!["resourceVersion"]!;
        var cached = certificates.AddOrUpdate(
            $"{ns}/{secretName}",
            _ => (version, Load(secret)),
            (_, existing) => existing.Version == version ? existing : (version, Load(secret)));
        return cached.Certificate;
    }

    private static X509Certificate2 Load(JsonObject secret) =>
        IssuedCertificate.Load(Data(secret, KeyMaterialSecrets.CertificateKey)!, Data(secret, KeyMaterialSecrets.PrivateKeyKey)!, "test Secret").ToX509Certificate2();

    private string? Text(string ns, string secretName, string key) => store.Get(Secrets, ns, secretName) is { } secret ? Data(secret, key) : null;

    private static string? Data(JsonObject secret, string key) =>
        secret["data"]?[key] is { } encoded ? Encoding.UTF8.GetString(Convert.FromBase64String((string)encoded!)) : (string?)secret["stringData"]?[key];
}
