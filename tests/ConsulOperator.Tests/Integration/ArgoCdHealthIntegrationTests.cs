using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsulOperator.Testing.KubeApi;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Integration;

/// <summary>The documented Argo CD health check, run by a real Lua interpreter on status objects the operator wrote.</summary>
public sealed class ArgoCdHealthIntegrationTests() : IntegrationTest()
{
    [Fact]
    public async Task The_health_check_reads_progressing_healthy_and_degraded_from_real_status()
    {
        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", 1);
        Harness.Create(Clusters.Sample());
        // One server of bootstrap_expect 3 runs: raft never bootstraps, so no agent knows a leader and none passes its
        // probe. A datacenter that never had a leader is coming up, not degraded.
        await OperatorHarness.WaitUntilAsync(
            () => (Cluster()["status"]?["conditions"] as JsonArray)?.Any(c => (string?)c?["type"] == "ConsulHealthy" && (string?)c["reason"] == "NoLeader") == true,
            "a status saying raft has no leader yet");
        Assert.Equal(("Progressing", "PodsNotReady: 0/3 servers and 0/2 clients ready"), Health(Cluster()));

        Harness.Api.StatefulSets.LimitReady("consul", "consul-server", null);
        await WaitForReadyAsync();
        Assert.Equal("Healthy", Health(Cluster()).Status);

        // The Ready status as it stands the moment a new spec is written, before the operator has looked at it.
        var stale = Cluster();
        stale["metadata"]!["generation"] = 2;
        Assert.Equal(("Progressing", "Waiting for the operator to observe generation 2"), Health(stale));

        Harness.Edit<ConsulOperator.Api.V1Alpha1.V1Alpha1ConsulCluster>("consul", invalid => invalid.Spec.Servers.Replicas = 4);
        await OperatorHarness.WaitUntilAsync(() => (long?)Cluster()["status"]?["observedGeneration"] == 2, "the invalid spec to be observed");
        var (status, message) = Health(Cluster());
        Assert.Equal("Degraded", status);
        Assert.StartsWith("InvalidSpec: spec.servers.replicas: 4 is even", message, StringComparison.Ordinal);
    }

    private JsonObject Cluster() => Harness.Api.Store.Get(ResourceCatalog.ForKind("consul.operator.dev/v1alpha1", "ConsulCluster"), "consul", "consul")!;

    private static (string Status, string Message) Health(JsonObject item)
    {
        var script = Repository.PathOf("docs/gitops/argocd/health.lua");
        var program = $"obj = {LuaTable(item)}\nlocal health = dofile({LuaString(script)})\nio.write(health.status .. \"\\n\" .. (health.message or \"\"))";
        var (exitCode, output, error) = Tools.Run(Tools.Lua, "-e", program);
        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n', 2);
        return (lines[0], lines.Length > 1 ? lines[1] : "");
    }

    // JSON as a Lua table constructor, which is how Argo CD hands the object to the script.
    private static string LuaTable(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.Select(p => $"[{LuaString(p.Key)}]={LuaTable(p.Value)}")) + "}",
        JsonArray a => "{" + string.Join(",", a.Select(LuaTable)) + "}",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => LuaString(v.GetValue<string>()),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
        JsonValue v => double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        _ => "nil",
    };

    private static string LuaString(string text)
    {
        var escaped = new StringBuilder("\"");
        foreach (var c in text)
        {
            escaped.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                _ when c < ' ' => $"\\{(int)c:D3}",
                _ => c.ToString(),
            });
        }

        return escaped.Append('"').ToString();
    }
}
