using System.Text.Json.Nodes;
using ConsulOperator.Manifests;
using ConsulOperator.Tests.Support;
using ConsulOperator.Yaml;

namespace ConsulOperator.Tests.Packaging;

/// <summary>The Helm chart and the kustomize base, checked with the real helm and kubectl.</summary>
public class ChartTests
{
    private const string Chart = "charts/consul-operator";
    private const string NamespacedValues = "charts/consul-operator/ci/namespaced-values.yaml";

    [Theory]
    [InlineData(null)]
    [InlineData(NamespacedValues)]
    public void The_chart_lints_strictly(string? values)
    {
        string[] extra = values is null ? [] : ["-f", values];
        var (exitCode, output, error) = Tools.Run(Tools.Helm, ["lint", "--strict", Chart, .. extra]);

        Assert.True(exitCode == 0, output + error);
    }

    [Fact]
    public void By_default_the_chart_grants_exactly_the_generated_cluster_role_and_runs_locked_down()
    {
        var objects = Template();

        Assert.True(JsonNode.DeepEquals(Rbac.ClusterRole()["rules"], Single(objects, "ClusterRole")["rules"]));
        Assert.True(JsonNode.DeepEquals(Rbac.LeaderElectionRole()["rules"], Single(objects, "Role")["rules"]));
        var pod = Single(objects, "Deployment")["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;
        Assert.Equal(["run", "--metrics-address=http://0.0.0.0:8080", "--leader-elect=true", "--workers=2", "--dns-namespace=kube-system"], container["args"]!.AsArray().Select(a => (string?)a));
        Assert.True((bool)pod["securityContext"]!["runAsNonRoot"]!);
        Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!);
        Assert.Equal("ALL", (string?)container["securityContext"]!["capabilities"]!["drop"]![0]);
        Assert.Equal(("/healthz", "/readyz"), ((string?)container["livenessProbe"]!["httpGet"]!["path"], (string?)container["readinessProbe"]!["httpGet"]!["path"]));
        Assert.Contains(container["env"]!.AsArray(), e => (string?)e!["name"] == "POD_NAMESPACE" && (string?)e["valueFrom"]!["fieldRef"]!["fieldPath"] == "metadata.namespace");
        Assert.DoesNotContain(objects, o => (string?)o["kind"] is "ServiceMonitor" or "PrometheusRule");
    }

    [Fact]
    public void Watching_namespaces_gives_roles_in_them_and_in_the_dns_namespace_and_a_cluster_role_for_nodes_only()
    {
        var objects = Template("-f", NamespacedValues);

        // Nodes are cluster-scoped: a serviceRef of type NodePort reads their addresses, and nothing else is granted cluster-wide.
        var clusterRole = Assert.Single(objects, o => (string?)o["kind"] == "ClusterRole");
        Assert.True(JsonNode.DeepEquals(Rbac.NodeRules(), clusterRole["rules"]));
        foreach (var ns in new[] { "consul", "platform" })
        {
            var role = Assert.Single(objects, o => (string?)o["kind"] == "Role" && (string?)o["metadata"]!["namespace"] == ns);
            Assert.True(JsonNode.DeepEquals(Rbac.ClusterRole()["rules"], role["rules"]));
        }

        var dns = Assert.Single(objects, o => (string?)o["kind"] == "Role" && (string?)o["metadata"]!["namespace"] == "kube-system");
        Assert.True(JsonNode.DeepEquals(Rbac.DnsConfigMapRules(), dns["rules"]));
        var args = Single(objects, "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => (string?)a).ToList();
        Assert.Contains("--namespace=consul", args);
        Assert.Contains("--namespace=platform", args);
        var alerts = Single(objects, "PrometheusRule")["spec"]!["groups"]![0]!["rules"]!.AsArray().Select(r => (string?)r!["alert"]);
        Assert.Equal(["ConsulCertificateExpiringSoon", "ConsulClusterNotReady", "ConsulOperatorReconcileErrors"], alerts);
        Assert.NotNull(Single(objects, "ServiceMonitor"));
        Assert.Equal(3L, (long)Single(objects, "Deployment")["spec"]!["replicas"]!);
    }

    [Theory]
    [InlineData("replicaCount=two", "got string, want integer")]
    [InlineData("typo=1", "additional properties 'typo' not allowed")]
    [InlineData("watchNamespaces[0]=Not_A_Namespace", "watchNamespaces/0")]
    [InlineData("leaderElection.enabled=false", "replicaCount > 1 needs leaderElection.enabled")]
    public void Bad_values_fail_at_install_with_a_clear_message(string setting, string message)
    {
        var (exitCode, _, error) = Tools.Run(Tools.Helm, "template", "t", Chart, "--set", setting);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_chart_crds_are_the_generated_ones()
    {
        foreach (var file in Directory.GetFiles(Repository.PathOf("config/crds"), "*_*.yaml"))
        {
            Assert.Equal(File.ReadAllText(file), File.ReadAllText(Repository.PathOf($"{Chart}/crds/{Path.GetFileName(file)}")));
        }
    }

    [Fact]
    public void Kustomize_installs_the_same_operator_as_the_chart()
    {
        var (exitCode, output, error) = Tools.Run(Tools.Kubectl, "kustomize", "config/default");
        Assert.True(exitCode == 0, error);
        var objects = YamlDocuments.Parse(output).OfType<JsonObject>().ToList();

        Assert.Equal(CustomResourceDefinitions.All().Count, objects.Count(o => (string?)o["kind"] == "CustomResourceDefinition"));
        Assert.All(objects.Where(o => (string?)o["kind"] is not ("CustomResourceDefinition" or "ClusterRole" or "ClusterRoleBinding" or "Namespace")), o => Assert.Equal("consul-operator", (string?)o["metadata"]!["namespace"]));
        var kustomized = Single(objects, "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        var charted = Single(Template(), "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        foreach (var field in new[] { "args", "env", "ports", "livenessProbe", "readinessProbe", "resources", "securityContext", "volumeMounts" })
        {
            Assert.True(JsonNode.DeepEquals(charted[field], kustomized[field]), $"{field} differs between the chart and config/manager");
        }

        Assert.Equal("consul-operator/consul-operator:0.1.0", (string?)kustomized["image"]);
    }

    [Fact]
    public void The_gitops_examples_build_and_argo_cd_gets_the_tested_health_check_for_both_kinds()
    {
        var (exitCode, output, error) = Tools.Run(Tools.Kubectl, "kustomize", "docs/gitops/argocd");
        Assert.True(exitCode == 0, error);
        var configMap = Assert.Single(YamlDocuments.Parse(output), o => (string?)o["kind"] == "ConfigMap");
        var script = File.ReadAllText(Repository.PathOf("docs/gitops/argocd/health.lua"));
        Assert.Equal("argocd-cm", (string?)configMap["metadata"]!["name"]);
        Assert.Equal(script, (string?)configMap["data"]!["resource.customizations.health.consul.operator.dev_ConsulCluster"]);
        Assert.Equal(script, (string?)configMap["data"]!["resource.customizations.health.consul.operator.dev_ConsulService"]);

        var flux = Tools.Run(Tools.Kubectl, "kustomize", "docs/gitops/flux");
        Assert.True(flux.ExitCode == 0, flux.Error);
        Assert.Contains(YamlDocuments.Parse(flux.Output), o => (string?)o["kind"] == "HelmRelease");
    }

    [Fact]
    public void The_chart_ships_the_alerts_and_dashboard_a_cluster_renders_for_every_cluster_and_keeps_the_operators_namespace_label()
    {
        Assert.DoesNotContain(Template("--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.consul=false"),
            o => (string?)o["kind"] == "PrometheusRule" && o["spec"]!["groups"]!.AsArray().Any(g => (string?)g!["name"] == "consul"));

        var objects = Template("--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboard.enabled=true", "--set", "metrics.serviceMonitor.enabled=true");
        var groups = Single(objects, "PrometheusRule")["spec"]!["groups"]!.AsArray();
        var consul = Assert.Single(groups, g => (string?)g!["name"] == "consul")!;
        Assert.True(JsonNode.DeepEquals(ConsulOperator.Desired.Monitoring.Rules(ConsulOperator.Desired.Monitoring.MetricScope.Everywhere), consul["rules"]));

        var dashboard = Assert.Single(objects, o => (string?)o["kind"] == "ConfigMap" && (string?)o["metadata"]!["name"] == "t-consul-operator-consul-dashboard");
        Assert.Equal("1", (string?)dashboard["metadata"]!["labels"]!["grafana_dashboard"]);
        Assert.True(JsonNode.DeepEquals(
            ConsulOperator.Desired.Dashboard.Json(ConsulOperator.Desired.Monitoring.MetricScope.Everywhere, "Consul", "consul-operator-consul"),
            JsonNode.Parse((string)dashboard["data"]!["consul.json"]!)));

        // The operator's series say which ConsulCluster they are about with a namespace label of their own.
        Assert.True((bool?)Single(objects, "ServiceMonitor")["spec"]!["endpoints"]![0]!["honorLabels"]);
    }

    private static List<JsonObject> Template(params string[] arguments)
    {
        var (exitCode, output, error) = Tools.Run(Tools.Helm, ["template", "t", Chart, "--namespace", "consul-operator", .. arguments]);
        Assert.True(exitCode == 0, error);
        return [.. YamlDocuments.Parse(output).OfType<JsonObject>()];
    }

    private static JsonObject Single(IEnumerable<JsonObject> objects, string kind) => Assert.Single(objects, o => (string?)o["kind"] == kind);
}
