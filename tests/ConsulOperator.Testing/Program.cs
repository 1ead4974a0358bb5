using ConsulOperator.Testing;

// Runs the test API server on its own, for trying `consul-operator run` by hand:
//   dotnet run --project tests/ConsulOperator.Testing -- --port 6443 --kubeconfig /tmp/test-kubeconfig
var port = args.SkipWhile(a => a != "--port").Skip(1).Select(int.Parse).FirstOrDefault(6443);
var kubeconfig = args.SkipWhile(a => a != "--kubeconfig").Skip(1).FirstOrDefault() ?? Path.Combine(Path.GetTempPath(), "consul-operator-test-kubeconfig");
var namespaces = new[] { "default", "kube-system", "consul", "consul-operator" };

await using var server = await TestApiServer.StartAsync(port);
foreach (var ns in namespaces)
{
    server.CreateNamespace(ns);
}

server.Seed(new k8s.Models.V1ConfigMap
{
    ApiVersion = "v1",
    Kind = "ConfigMap",
    Metadata = new() { Name = "coredns", NamespaceProperty = "kube-system" },
    Data = new Dictionary<string, string> { ["Corefile"] = ".:53 {\n    errors\n    forward . /etc/resolv.conf\n    cache 30\n    reload\n}\n" },
});
server.WriteKubeconfig(kubeconfig);
Console.WriteLine($"test API server at {server.BaseUri} with namespaces {string.Join(", ", namespaces)} and kube-system/coredns");
Console.WriteLine($"kubeconfig: {kubeconfig}; stop with Ctrl+C");
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
await stop.Task;
