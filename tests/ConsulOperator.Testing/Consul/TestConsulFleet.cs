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
/// One simulated Consul datacenter per ConsulCluster in the test API server, started the first time the operator dials
/// one of its names. Each reads what real agents would: its TLS material from the cluster's Secrets, its settings from
/// the cluster's spec, and which agents run from the StatefulSets' ready pods.
/// </summary>
public sealed class TestConsulFleet(ObjectStore store) : IAsyncDisposable
{
    private static readonly ResourceInfo Secrets = ResourceCatalog.ForKind("v1", "Secret");
    private static readonly ResourceInfo StatefulSets = ResourceCatalog.ForKind("apps/v1", "StatefulSet");
    private static readonly ResourceInfo Clusters = ResourceCatalog.ForKind(ApiGroup.ApiVersion, V1Alpha1ConsulCluster.KindName);
    private readonly ConcurrentDictionary<string, Lazy<Task<TestConsulServer>>> servers = new();
    private readonly ConcurrentDictionary<string, (string Version, X509Certificate2 Certificate)> certificates = new();

    /// <summary>Where a name the operator dials is served: the loopback port of its cluster's simulated datacenter.</summary>
    public async ValueTask<DnsEndPoint> RouteAsync(DnsEndPoint target, CancellationToken cancel)
    {
        var labels = target.Host.Split('.');
        var svc = Array.IndexOf(labels, "svc");
        var ns = labels[svc - 1];
        var cluster = ClusterOf(labels[0]);
        var server = await GetAsync(ns, cluster).WaitAsync(cancel);
        return new DnsEndPoint("127.0.0.1", server.Port);
    }

    /// <summary>The cluster's datacenter, started if it was not yet.</summary>
    public Task<TestConsulServer> GetAsync(string ns, string cluster) =>
        servers.GetOrAdd($"{ns}/{cluster}", _ => new Lazy<Task<TestConsulServer>>(() => StartAsync(ns, cluster))).Value;

    public async ValueTask DisposeAsync()
    {
        foreach (var server in servers.Values.Where(s => s.IsValueCreated))
        {
            await (await server.Value).DisposeAsync();
        }
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

    private async Task<TestConsulServer> StartAsync(string ns, string cluster)
    {
        var item = store.Get(Clusters, ns, cluster) ?? throw new InvalidOperationException($"no ConsulCluster {ns}/{cluster} to simulate");
        var spec = KubernetesJson.Deserialize<V1Alpha1ConsulCluster>(item.ToJsonString()).Spec;
        var names = new Names(cluster, ns, spec.ClusterDomain);
        var datacenter = new ConsulDatacenter(spec.Datacenter, spec.Version, TimeProvider.System)
        {
            AclEnabled = spec.Acl.Enabled,
            AclDefaultDeny = spec.Acl.DefaultPolicy == AclPolicy.Deny,
        };
        if (Text(ns, names.GossipSecret, KeyMaterialSecrets.GossipKeyKey) is { } key)
        {
            datacenter.InstallInitialGossipKey(key);
        }

        var tls = new ConsulTls(
            () => X509Certificate2.CreateFromPem(Text(ns, names.CaSecret, KeyMaterialSecrets.CertificateKey)!),
            serverName => Serving(ns, serverName?.Split('.')[0] is { } pod && store.Get(Secrets, ns, $"{pod}-tls") is not null ? $"{pod}-tls" : names.PodSecret(Components.Server, 0)));
        return await TestConsulServer.StartAsync(datacenter, tls, () => datacenter.ObservePods(
            $"{names.Servers}-", ReadyReplicas(ns, names.Servers), $"{names.Clients}-", ReadyReplicas(ns, names.Clients)));
    }

    private int ReadyReplicas(string ns, string statefulSet) =>
        store.Get(StatefulSets, ns, statefulSet)?["status"]?["readyReplicas"] is { } ready ? (int)ObjectStore.Number(ready) : 0;

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
