using System.Text.Json.Nodes;
using ConsulOperator.Testing;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Testing.KubeApi;
using ConsulOperator.Yaml;

// Runs the test API server on its own, for trying `consul-operator run` by hand (see README):
//   dotnet run --project tests/ConsulOperator.Testing -- --port 6443 --consul-port 8501 --kubeconfig /tmp/test-kubeconfig --apply config/samples/consulcluster.yaml
// The consul CLI's simulated commands, for the containers the simulated kubelet runs (ConsulCli).
if (args is ["consul", .. var cli])
{
    return await ConsulCli.RunAsync(cli, Console.Out, Console.Error);
}

var port = Value("--port") is { } p ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : 6443;
var kubeconfig = Value("--kubeconfig") ?? Path.Combine(Path.GetTempPath(), "consul-operator-test-kubeconfig");
var namespaces = new[] { "default", "kube-system", "consul", "consul-operator" };

await using var server = await TestApiServer.StartAsync(port);
await using var consul = await TestConsulFleet.StartAsync(server, Value("--consul-port") is { } c ? int.Parse(c, System.Globalization.CultureInfo.InvariantCulture) : 8501);
foreach (var ns in namespaces)
{
    server.CreateNamespace(ns);
}

server.Store.Create(ResourceCatalog.ForKind("v1", "ConfigMap"), "kube-system", new JsonObject
{
    ["metadata"] = new JsonObject { ["name"] = "coredns" },
    ["data"] = new JsonObject { ["Corefile"] = ".:53 {\n    errors\n    forward . /etc/resolv.conf\n    cache 30\n    reload\n}\n" },
});

// Say what the operator reports, as `kubectl get consulclusters -w` would.
server.Store.Changed += change =>
{
    if (change.Resource.Kind == "ConsulCluster" && change.Item["status"]?["conditions"] is JsonArray conditions)
    {
        var ready = conditions.FirstOrDefault(c => (string?)c?["type"] == "Ready");
        Console.WriteLine($"{change.Type} ConsulCluster {change.Namespace}/{change.Item["metadata"]!["name"]}: Ready={ready?["status"]} ({ready?["reason"]}: {ready?["message"]})");
    }
};

foreach (var file in args.Select((a, i) => (a, i)).Where(x => x.a == "--apply").Select(x => args[x.i + 1]))
{
    foreach (var document in YamlDocuments.Parse(File.ReadAllText(file)).OfType<JsonObject>())
    {
        var resource = ResourceCatalog.ForKind((string)document["apiVersion"]!, (string)document["kind"]!);
        server.Store.Create(resource, (string?)document["metadata"]?["namespace"] ?? "default", document);
        Console.WriteLine($"applied {document["kind"]} {document["metadata"]?["name"]} from {file}");
    }
}

server.WriteKubeconfig(kubeconfig);
Console.WriteLine($"test API server at {server.BaseUri} with namespaces {string.Join(", ", namespaces)} and kube-system/coredns");
Console.WriteLine($"simulated Consul for every cluster at {consul.Address.Host}:{consul.Address.Port} (consul-operator run --consul-dial {consul.Address.Host}:{consul.Address.Port})");
Console.WriteLine($"kubeconfig: {kubeconfig}; stop with Ctrl+C");
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
await stop.Task;
return 0;

string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
