using System.Net;
using ConsulOperator.Runtime;
using ConsulOperator.Testing;
using k8s;
using k8s.Models;

namespace ConsulOperator.Tests.Testing;

/// <summary>The test API server keeps the semantics the operator relies on; what it let slip, users would hit.</summary>
public sealed class TestApiServerTests : IAsyncLifetime
{
    private TestApiServer server = null!;
    private KubeApi api = null!;

    public async Task InitializeAsync()
    {
        server = await TestApiServer.StartAsync(bookmarkInterval: TimeSpan.FromMilliseconds(200));
        server.CreateNamespace("ns");
        api = new KubeApi(new Kubernetes(server.ClientConfiguration()), new OperatorMetrics(), "test");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Writes_with_a_stale_resource_version_conflict()
    {
        var created = await api.CreateAsync(ConfigMap("a"), CancellationToken.None);
        created.Data = new Dictionary<string, string> { ["k"] = "1" };
        await api.ReplaceAsync(created, CancellationToken.None);

        created.Data["k"] = "2";
        var error = await Assert.ThrowsAsync<KubeApiException>(() => api.ReplaceAsync(created, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Equal("Conflict", error.Reason);
    }

    [Fact]
    public async Task Generation_moves_with_the_spec_only_and_no_op_writes_change_nothing()
    {
        var set = await api.CreateAsync(new V1StatefulSet { ApiVersion = "apps/v1", Kind = "StatefulSet", Metadata = new V1ObjectMeta { Name = "s", NamespaceProperty = "ns" }, Spec = new V1StatefulSetSpec { Replicas = 1, ServiceName = "s", Selector = new V1LabelSelector(), Template = new V1PodTemplateSpec() } }, CancellationToken.None);
        Assert.Equal(1, set.Metadata.Generation);

        // The simulated StatefulSet controller has written status meanwhile, as the real one would.
        set = (await api.GetAsync<V1StatefulSet>("ns", "s", CancellationToken.None))!;
        var same = await api.ReplaceAsync(set, CancellationToken.None);
        Assert.Equal(set.Metadata.ResourceVersion, same.Metadata.ResourceVersion);

        same.Metadata.Labels = new Dictionary<string, string> { ["x"] = "y" };
        var labelled = await api.ReplaceAsync(same, CancellationToken.None);
        Assert.Equal(1, labelled.Metadata.Generation);

        labelled = (await api.GetAsync<V1StatefulSet>("ns", "s", CancellationToken.None))!;
        labelled.Spec.Replicas = 3;
        labelled.Status = new V1StatefulSetStatus { ReadyReplicas = 99 };
        var scaled = await api.ReplaceAsync(labelled, CancellationToken.None);
        Assert.Equal(2, scaled.Metadata.Generation);
        Assert.NotEqual(99, scaled.Status?.ReadyReplicas);

        scaled = (await api.GetAsync<V1StatefulSet>("ns", "s", CancellationToken.None))!;
        scaled.Spec.ServiceName = "other";
        var immutable = await Assert.ThrowsAsync<KubeApiException>(() => api.ReplaceAsync(scaled, CancellationToken.None));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, immutable.StatusCode);
    }

    [Fact]
    public async Task Finalizers_hold_deletion_and_owners_take_their_dependents_with_them()
    {
        var owner = ConfigMap("owner");
        owner.Metadata.Finalizers = ["test/hold"];
        owner = await api.CreateAsync(owner, CancellationToken.None);
        var dependent = ConfigMap("dependent");
        dependent.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid }];
        await api.CreateAsync(dependent, CancellationToken.None);

        await api.DeleteAsync<V1ConfigMap>("ns", "owner", CancellationToken.None);
        var held = await api.GetAsync<V1ConfigMap>("ns", "owner", CancellationToken.None);
        Assert.NotNull(held!.Metadata.DeletionTimestamp);
        Assert.NotNull(await api.GetAsync<V1ConfigMap>("ns", "dependent", CancellationToken.None));

        held.Metadata.Finalizers = [.. held.Metadata.Finalizers, "test/another"];
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await Assert.ThrowsAsync<KubeApiException>(() => api.ReplaceAsync(held, CancellationToken.None))).StatusCode);

        held.Metadata.Finalizers = [];
        await api.ReplaceAsync(held, CancellationToken.None);
        Assert.Null(await api.GetAsync<V1ConfigMap>("ns", "owner", CancellationToken.None));
        Assert.Null(await api.GetAsync<V1ConfigMap>("ns", "dependent", CancellationToken.None));
    }

    [Fact]
    public async Task Watches_resume_from_a_version_send_bookmarks_and_answer_410_once_compacted()
    {
        var list = await api.ListAsync<V1ConfigMap>("ns", null, CancellationToken.None);
        await api.CreateAsync(ConfigMap("a"), CancellationToken.None);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var types = new List<string>();
        await foreach (var change in api.WatchAsync<V1ConfigMap>("ns", null, list.ResourceVersion, 1, timeout.Token))
        {
            types.Add(change.Type);
        }

        Assert.Equal("ADDED", types[0]);
        Assert.Contains("BOOKMARK", types);

        server.Store.Compact();
        var gone = await Assert.ThrowsAsync<KubeApiException>(async () =>
        {
            await foreach (var _ in api.WatchAsync<V1ConfigMap>("ns", null, list.ResourceVersion, 1, timeout.Token))
            {
            }
        });
        Assert.True(gone.IsGone);
    }

    [Fact]
    public async Task Lists_filter_by_label_and_leave_kind_off_builtin_items_which_the_client_puts_back()
    {
        var labelled = ConfigMap("labelled");
        labelled.Metadata.Labels = new Dictionary<string, string> { ["app"] = "consul" };
        await api.CreateAsync(labelled, CancellationToken.None);
        await api.CreateAsync(ConfigMap("other"), CancellationToken.None);

        var list = await api.ListAsync<V1ConfigMap>("ns", "app=consul", CancellationToken.None);

        var item = Assert.Single(list.Items);
        Assert.Equal(("v1", "ConfigMap"), (item.ApiVersion, item.Kind));
    }

    [Fact]
    public async Task Services_get_a_cluster_ip_that_later_writes_keep()
    {
        var service = await api.CreateAsync(new V1Service { ApiVersion = "v1", Kind = "Service", Metadata = new V1ObjectMeta { Name = "s", NamespaceProperty = "ns" }, Spec = new V1ServiceSpec() }, CancellationToken.None);
        var ip = service.Spec.ClusterIP;
        service.Spec.ClusterIP = null;

        var updated = await api.ReplaceAsync(service, CancellationToken.None);

        Assert.StartsWith("10.96.", ip, StringComparison.Ordinal);
        Assert.Equal(ip, updated.Spec.ClusterIP);
    }

    [Fact]
    public async Task Requests_without_the_token_or_into_a_missing_namespace_are_refused()
    {
        var wrongToken = server.ClientConfiguration();
        wrongToken.AccessToken = "wrong";
        var anonymous = new KubeApi(new Kubernetes(wrongToken), new OperatorMetrics(), "anonymous");

        Assert.Equal(HttpStatusCode.Unauthorized, (await Assert.ThrowsAsync<KubeApiException>(() => anonymous.ListAsync<V1ConfigMap>("ns", null, CancellationToken.None))).StatusCode);
        var missing = ConfigMap("x");
        missing.Metadata.NamespaceProperty = "nowhere";
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<KubeApiException>(() => api.CreateAsync(missing, CancellationToken.None))).StatusCode);
    }

    private static V1ConfigMap ConfigMap(string name) => new() { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns" } };
}
