using System.Diagnostics;
using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Runtime;
using ConsulOperator.Testing;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

/// <summary>`consul-operator run` as a user starts it: the published entry point, a kubeconfig file, SIGTERM to stop.</summary>
public sealed class CommandLineIntegrationTests : IAsyncLifetime
{
    private TestApiServer server = null!;
    private TestConsulFleet consul = null!;
    private string kubeconfig = null!;

    public async Task InitializeAsync()
    {
        server = await TestApiServer.StartAsync();
        consul = await TestConsulFleet.StartAsync(server);
        foreach (var ns in new[] { "kube-system", "consul-operator", "consul" })
        {
            server.CreateNamespace(ns);
        }

        server.Seed(new k8s.Models.V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new k8s.Models.V1ObjectMeta { Name = "coredns", NamespaceProperty = "kube-system" },
            Data = new Dictionary<string, string> { ["Corefile"] = OperatorHarness.KubeadmCorefile },
        });
        kubeconfig = server.WriteKubeconfig(Path.Combine(Path.GetTempPath(), $"kubeconfig-{Guid.NewGuid():N}"));
    }

    public async Task DisposeAsync()
    {
        File.Delete(kubeconfig);
        await consul.DisposeAsync();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Run_reconciles_with_a_kubeconfig_logs_json_and_stops_cleanly_on_sigterm()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "consul-operator.dll"), "run", "--kubeconfig", kubeconfig, "--metrics-address", "http://127.0.0.1:0", "--leader-election-namespace", "consul-operator", "--consul-dial", $"127.0.0.1:{consul.Address.Port}" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.Add(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            server.Seed(Clusters.Sample());
            await OperatorHarness.WaitUntilAsync(
                () => server.Store.Get(ConsulOperator.Testing.KubeApi.ResourceCatalog.ForKind(ApiGroup.ApiVersion, "ConsulCluster"), "consul", "consul") is { } c
                    && Conditions.IsTrue(k8s.KubernetesJson.Deserialize<V1Alpha1ConsulCluster>(c).Status?.Conditions, Conditions.Ready),
                "the cluster to become Ready through the command line operator",
                TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            lock (output)
            {
                throw new TimeoutException($"not Ready; the operator said:\n{string.Join('\n', output.TakeLast(20))}");
            }
        }
        finally
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {await errors}");
        lock (output)
        {
            var lines = output.Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Contains(lines, l => ((string?)l["Message"])?.StartsWith("Became leader", StringComparison.Ordinal) == true);
            Assert.Contains(lines, l => (string?)l["Message"] == "Released Lease consul-operator/consul-operator-leader");
            Assert.Contains(lines, l => l["Scopes"]?.AsArray().Any(s => (string?)s?["Key"] == "consul/consul") == true);
            Assert.DoesNotContain(output, l => l.Contains("PRIVATE KEY", StringComparison.Ordinal));
        }
    }
}
