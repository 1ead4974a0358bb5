using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using ConsulOperator.Pki;
using ConsulOperator.Testing.KubeApi;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Testing;

/// <summary>
/// An in-process stand-in for kube-apiserver over real HTTPS on loopback, so that the real KubernetesClient and the real
/// operator host run against it unchanged. See <see cref="ObjectStore"/> for the semantics it keeps.
/// </summary>
public sealed class TestApiServer : IAsyncDisposable
{
    public const string Token = "test-operator-token";

    private readonly WebApplication app;
    private readonly CertificateAuthority ca;

    private readonly ApiHandler handler;

    private TestApiServer(WebApplication app, ApiHandler handler, CertificateAuthority ca, ObjectStore store, Faults faults, RequestLog requests)
    {
        this.app = app;
        this.handler = handler;
        this.ca = ca;
        Store = store;
        Faults = faults;
        Requests = requests;
        StatefulSets = new StatefulSetSimulator(store);
        EndpointSlices = new EndpointSliceSimulator(store);
    }

    public ObjectStore Store { get; }

    public Faults Faults { get; }

    public RequestLog Requests { get; }

    public StatefulSetSimulator StatefulSets { get; }

    public EndpointSliceSimulator EndpointSlices { get; }

    public Uri BaseUri { get; private set; } = null!;

    public static async Task<TestApiServer> StartAsync(int port = 0, TimeSpan? bookmarkInterval = null, TimeProvider? time = null)
    {
        var ca = CertificateAuthority.Create(30, [], "test/kube-apiserver", TimeProvider.System);
        var serving = ca.Issue(new LeafRequest(CertificateRole.Server, "kube-apiserver", ["localhost"], [IPAddress.Loopback]), 30, TimeProvider.System);
        var certificate = serving.ToX509Certificate2();

        var store = new ObjectStore(time ?? TimeProvider.System);
        var faults = new Faults();
        var requests = new RequestLog();
        var handler = new ApiHandler(store, faults, requests, Token, bookmarkInterval ?? TimeSpan.FromSeconds(1));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate })));
        var app = builder.Build();
        app.Run(handler.HandleAsync);
        await app.StartAsync();

        var server = new TestApiServer(app, handler, ca, store, faults, requests);
        server.BaseUri = new Uri(app.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
        return server;
    }

    /// <summary>Installs the Prometheus Operator's CRDs: from now on their kinds are served.</summary>
    public void InstallPrometheusOperatorCrds() => handler.Install(ResourceCatalog.PrometheusOperator);

    /// <summary>A client configuration that trusts the server's CA and presents the token, as a kubeconfig would.</summary>
    public KubernetesClientConfiguration ClientConfiguration() => new()
    {
        Host = BaseUri.ToString(),
        AccessToken = Token,
        SslCaCerts = [X509Certificate2.CreateFromPem(ca.CertificatePem)],
    };

    /// <summary>A kubeconfig file for `consul-operator run --kubeconfig` and kubectl.</summary>
    public string WriteKubeconfig(string path)
    {
        var caData = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(ca.CertificatePem));
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: {BaseUri.ToString().TrimEnd('/')}
                certificate-authority-data: {caData}
            users:
            - name: operator
              user:
                token: {Token}
            contexts:
            - name: test
              context:
                cluster: test
                user: operator
            current-context: test
            """);
        return path;
    }

    /// <summary>Writes through the store directly, as another client would: no request is logged.</summary>
    public JsonObject Seed(IKubernetesObject item)
    {
        var node = JsonNode.Parse(KubernetesJson.Serialize(item))!.AsObject();
        var resource = ResourceCatalog.ForKind(item.ApiVersion, item.Kind);
        return Store.Create(resource, (string?)node["metadata"]?["namespace"] ?? "", node);
    }

    public void CreateNamespace(string name) =>
        Store.Create(ResourceCatalog.ForKind("v1", "Namespace"), "", new JsonObject { ["metadata"] = new JsonObject { ["name"] = name } });

    public async ValueTask DisposeAsync()
    {
        Store.DropWatches();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
