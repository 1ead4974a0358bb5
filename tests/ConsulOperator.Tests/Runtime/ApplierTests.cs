using ConsulOperator.Runtime;
using ConsulOperator.Testing;
using k8s;
using k8s.Models;

namespace ConsulOperator.Tests.Runtime;

/// <summary>The applier against the test API server, with a cache whose view the test sets: what it writes and what it refuses.</summary>
public sealed class ApplierTests : IAsyncLifetime
{
    private TestApiServer server = null!;
    private KubeApi api = null!;
    private Applier applier = null!;

    public async Task InitializeAsync()
    {
        server = await TestApiServer.StartAsync();
        server.CreateNamespace("consul");
        api = new KubeApi(new Kubernetes(server.ClientConfiguration()), new OperatorMetrics(), "test");
        applier = new Applier(api, "test/spec-hash");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task A_secret_computed_from_its_absence_is_not_written_over_one_the_cache_has_seen_since()
    {
        // The reconcile read no CA (the cache was behind) and built a new one; by the time it applies, the cache shows the real one.
        var real = await api.CreateAsync(Secret("real-key"), CancellationToken.None);
        var cache = new FixedCache<V1Secret>(real);

        var conflict = await Assert.ThrowsAsync<KubeApiException>(() => applier.ApplyAsync(Secret("new-key"), cache, CancellationToken.None, new ComputedFrom(null)));

        Assert.True(conflict.IsConflict);
        Assert.Equal("real-key"u8.ToArray(), (await api.GetAsync<V1Secret>("consul", "consul-ca", CancellationToken.None))!.Data["tls.key"]);
    }

    [Fact]
    public async Task A_secret_computed_from_an_older_version_is_not_written()
    {
        var first = await api.CreateAsync(Secret("first"), CancellationToken.None);
        var changed = ConsulOperator.Runtime.ObjectWrites.DeepCopy(first);
        changed.Data["tls.key"] = "second"u8.ToArray();
        var second = await api.ReplaceAsync(changed, CancellationToken.None);

        var conflict = await Assert.ThrowsAsync<KubeApiException>(() =>
            applier.ApplyAsync(Secret("third"), new FixedCache<V1Secret>(second), CancellationToken.None, new ComputedFrom(first.Metadata.ResourceVersion)));

        Assert.True(conflict.IsConflict);
        Assert.Equal("second"u8.ToArray(), (await api.GetAsync<V1Secret>("consul", "consul-ca", CancellationToken.None))!.Data["tls.key"]);
    }

    [Fact]
    public async Task A_secret_computed_from_the_version_that_is_there_is_written()
    {
        var live = await api.CreateAsync(Secret("old"), CancellationToken.None);

        var outcome = await applier.ApplyAsync(Secret("renewed"), new FixedCache<V1Secret>(live), CancellationToken.None, new ComputedFrom(live.Metadata.ResourceVersion));

        Assert.Equal(ApplyOutcome.Updated, outcome);
        Assert.Equal("renewed"u8.ToArray(), (await api.GetAsync<V1Secret>("consul", "consul-ca", CancellationToken.None))!.Data["tls.key"]);
    }

    private static V1Secret Secret(string key) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta { Name = "consul-ca", NamespaceProperty = "consul" },
        Data = new Dictionary<string, byte[]> { ["tls.key"] = System.Text.Encoding.ASCII.GetBytes(key) },
    };

    private sealed class FixedCache<T>(T? item) : ICache<T>
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        public T? Find(string ns, string name) => item is not null && item.Metadata.NamespaceProperty == ns && item.Metadata.Name == name ? item : null;

        public IReadOnlyList<T> List(string? ns = null) => item is null ? [] : [item];
    }
}
