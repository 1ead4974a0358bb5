using System.Text.Json.Nodes;
using ConsulOperator.Tests.Support;
using ConsulOperator.Yaml;

namespace ConsulOperator.Tests.Cli;

public sealed class RenderCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("render-").FullName;

    private static readonly string ClusterSample = Repository.PathOf("config/samples/consulcluster.yaml");
    private static readonly string ServiceSample = Repository.PathOf("config/samples/consulservice.yaml");
    private static readonly string ExternalAgentSample = Repository.PathOf("config/samples/consulexternalagent.yaml");

    [Fact]
    public void Rendering_the_samples_prints_every_object_and_the_service_registration()
    {
        var (exitCode, output, error) = Run("render", "-f", ClusterSample, "-f", ServiceSample);

        Assert.Equal(0, exitCode);
        var documents = YamlDocuments.Parse(output);
        Assert.Equal(19, documents.Count);
        Assert.Equal(["ConfigMap", "PodDisruptionBudget", "Secret", "Service", "StatefulSet"], documents.Select(d => (string?)d["kind"]).Distinct().Order());
        Assert.All(documents, d => Assert.Equal("consul", (string?)d["metadata"]!["namespace"]));
        Assert.Contains("#     \"Name\": \"r-3306-mysql\",", output, StringComparison.Ordinal);
        Assert.Contains("\"TCP\": \"172.16.0.2:3306\",", output, StringComparison.Ordinal);
        Assert.Contains("private keys", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rendering_again_with_the_secrets_of_the_first_run_reuses_every_key()
    {
        var (_, first, _) = Run("render", "-f", ClusterSample);
        var secretsFile = Path.Combine(directory, "secrets.yaml");
        File.WriteAllText(secretsFile, YamlDocuments.Write(YamlDocuments.Parse(first).Where(d => (string?)d["kind"] == "Secret")));

        var (exitCode, second, _) = Run("render", "-f", ClusterSample, "--secrets", secretsFile);

        Assert.Equal(0, exitCode);
        Assert.Equal(Secrets(first), Secrets(second));
    }

    [Fact]
    public void Without_secrets_every_run_makes_new_keys()
    {
        Assert.NotEqual(Secrets(Run("render", "-f", ClusterSample).Output), Secrets(Run("render", "-f", ClusterSample).Output));
    }

    [Fact]
    public void An_output_directory_gets_one_file_per_object()
    {
        var output = Path.Combine(directory, "out");

        var (exitCode, stdout, _) = Run("render", "-f", ClusterSample, "-f", ServiceSample, "-o", output);

        Assert.Equal(0, exitCode);
        Assert.Empty(stdout);
        Assert.Equal(20, Directory.GetFiles(output).Length);
        Assert.True(File.Exists(Path.Combine(output, "consul-statefulset-consul-server.yaml")));
    }

    [Fact]
    public void Bad_input_fails_with_every_problem_and_writes_nothing()
    {
        var file = Write("bad.yaml", """
            apiVersion: consul.operator.dev/v1alpha1
            kind: ConsulCluster
            metadata:
              name: consul
            spec:
              servers:
                replicas: 4
              gossip:
                encrypted: true
              acl:
                defaultPolicy: maybe
            ---
            apiVersion: consul.operator.dev/v1alpha1
            kind: ConsulService
            metadata:
              name: mysql
            spec:
              clusterRef:
                name: consul
              address: 172.16.0.2
              port: "3306"
            """);
        var output = Path.Combine(directory, "never");

        var (exitCode, stdout, error) = Run("render", "-f", file, "-o", output);

        Assert.Equal(1, exitCode);
        Assert.Empty(stdout);
        Assert.False(Directory.Exists(output));
        Assert.Contains($"{file}: ConsulCluster consul: spec.gossip.encrypted: unknown field", error, StringComparison.Ordinal);
        Assert.Contains($"{file}: ConsulCluster consul: spec.acl.defaultPolicy: unsupported value \"maybe\"", error, StringComparison.Ordinal);
        Assert.Contains($"{file}: ConsulService mysql: spec.port: must be an integer, got the string \"3306\"", error, StringComparison.Ordinal);

        // With the schema's problems: what only the validators see, in the same run.
        Assert.Contains($"{file}: ConsulCluster consul: spec.servers.replicas: 4 is even", error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n'), line => line.Contains("spec.acl.defaultPolicy", StringComparison.Ordinal));
    }

    [Fact]
    public void Semantic_problems_are_reported_once_the_types_are_right()
    {
        var file = Write("even.yaml", "apiVersion: consul.operator.dev/v1alpha1\nkind: ConsulCluster\nmetadata:\n  name: consul\nspec:\n  servers:\n    replicas: 4\n  extraConfig:\n    encrypt: abc\n");

        var (exitCode, _, error) = Run("render", "-f", file);

        Assert.Equal(1, exitCode);
        Assert.Contains("spec.servers.replicas: 4 is even", error, StringComparison.Ordinal);
        Assert.Contains("spec.extraConfig.encrypt: is managed by the operator", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing.yaml", "Could not find file")]
    [InlineData("not-yaml", "While parsing")]
    [InlineData("other-kind", "unsupported apiVersion/kind v1/ConfigMap")]
    [InlineData("dangling-service", "names no ConsulCluster of namespace consul in the input")]
    public void Unusable_input_is_refused_with_a_clear_message(string input, string message)
    {
        var file = input switch
        {
            "missing.yaml" => Path.Combine(directory, "missing.yaml"),
            "not-yaml" => Write("x.yaml", "a: [unclosed\n"),
            "other-kind" => Write("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
            _ => ServiceSample,
        };

        var (exitCode, _, error) = Run("render", "-f", file);

        Assert.Equal(1, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_ca_in_the_secrets_file_is_refused_rather_than_replaced()
    {
        var secrets = Write("secrets.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: consul-ca\n  namespace: consul\ndata:\n  tls.crt: bm90IGEgY2VydA==\n  tls.key: bm90IGEga2V5\n");

        var (exitCode, stdout, error) = Run("render", "-f", ClusterSample, "--secrets", secrets);

        Assert.Equal(1, exitCode);
        Assert.Empty(stdout);
        Assert.Contains("Secret consul-ca", error, StringComparison.Ordinal);
        Assert.Contains("never replaced", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_adopted_ca_from_the_secrets_file_signs_the_rendered_leaves_and_is_not_rendered_itself()
    {
        using var handBuilt = new HandBuiltDatacenter();
        var cluster = Write("adopting.yaml", File.ReadAllText(ClusterSample).Replace("  tls:\n", $"  tls:\n    caSecretRef:\n      name: {HandBuiltDatacenter.CaSecret}\n", StringComparison.Ordinal));
        var secrets = Write("secrets.yaml", YamlDocuments.Write([JsonNode.Parse(k8s.KubernetesJson.Serialize(handBuilt.Secrets()[0]))!]));

        var (refused, _, missing) = Run("render", "-f", cluster);
        Assert.Equal(1, refused);
        Assert.Contains($"spec.tls.caSecretRef: Secret {HandBuiltDatacenter.CaSecret} was not found", missing, StringComparison.Ordinal);
        Assert.Contains("render reads Secrets from --secrets", missing, StringComparison.Ordinal);

        var (exitCode, output, error) = Run("render", "-f", cluster, "--secrets", secrets);
        Assert.True(exitCode == 0, error);
        var rendered = YamlDocuments.Parse(output).Where(d => (string?)d["kind"] == "Secret").ToDictionary(d => (string)d["metadata"]!["name"]!);
        Assert.DoesNotContain("consul-ca", rendered.Keys);
        Assert.DoesNotContain(HandBuiltDatacenter.CaSecret, rendered.Keys);
        var leaf = System.Text.Encoding.ASCII.GetString(Convert.FromBase64String((string)rendered["consul-server-0-tls"]["data"]!["tls.crt"]!));
        var (verified, said) = handBuilt.Verify(leaf, "sslserver", "server.dc1.consul");
        Assert.True(verified == 0, said);
    }

    [Fact]
    public void Render_reads_standard_input()
    {
        var (exitCode, output, _) = RunWithInput(File.ReadAllText(ClusterSample), "render", "-f", "-");

        Assert.Equal(0, exitCode);
        Assert.Equal(19, YamlDocuments.Parse(output).Count);
    }

    [Fact]
    public void Help_lists_the_commands()
    {
        var (exitCode, output, _) = Run("--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("render", output, StringComparison.Ordinal);
        Assert.Contains("manifests", output, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void An_external_agents_bundle_renders_from_the_clusters_secrets_into_the_tree_a_machine_starts_from()
    {
        var secretsFile = RenderedSecrets();
        var bundle = Path.Combine(directory, "db-1");

        var (exitCode, stdout, error) = Run("render", "-f", ClusterSample, "-f", ExternalAgentSample, "--secrets", secretsFile, "--external-agent", "db-1", "--join", "10.0.0.10", "--join", "consul-vm-1.corp.example:8301", "-o", bundle);

        Assert.True(exitCode == 0, error);
        Assert.Empty(stdout);
        Assert.Equal(["agent.crt", "agent.key", "ca.crt", "config.json", "consul.env", "consul.service"], Directory.GetFiles(bundle).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(bundle, "config.json")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(bundle, "agent.key")));

        // The CA is the cluster's, from --secrets; the agent starts from the tree alone, joining where it was told.
        var caSecret = YamlDocuments.Parse(File.ReadAllText(secretsFile)).Single(d => (string?)d["metadata"]!["name"] == "consul-ca");
        Assert.Equal(System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)caSecret["data"]!["tls.crt"]!)), File.ReadAllText(Path.Combine(bundle, "ca.crt")));
        var files = Directory.GetFiles(bundle).ToDictionary(f => Path.GetFileName(f), File.ReadAllText);
        var (start, problem) = ConsulOperator.Testing.Consul.BundleMachine.Read("1.16.1", files, "/etc/consul.d", []);
        Assert.True(start is { Problems.Count: 0 }, problem ?? string.Join("; ", start!.Problems));
        Assert.Equal(["10.0.0.10", "consul-vm-1.corp.example:8301"], start.JoinAddresses);
        Assert.Equal("db-1", start.NodeName);

        // The token is new: the note says how to create it, without printing its secret.
        var secret = (string)JsonNode.Parse(files["config.json"])!["acl"]!["tokens"]!["agent"]!;
        Assert.Contains("consul acl token create", error, StringComparison.Ordinal);
        Assert.Contains("-node-identity db-1:dc1 -service-identity postgres", error, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_external_agents_bundle_keeps_the_token_of_its_secret_when_given_one()
    {
        var secretsFile = RenderedSecrets();
        const string tokenSecret = """
            apiVersion: v1
            kind: Secret
            metadata:
              name: db-1-agent-token
              namespace: consul
            stringData:
              token: 6e0b5c1a-1111-4b2c-9d3e-5f6a7b8c9d0e
              accessorID: 0f1e2d3c-2222-4b5a-8c7d-9e0f1a2b3c4d
              state: done
            """;
        File.AppendAllText(secretsFile, "---\n" + tokenSecret);
        var bundle = Path.Combine(directory, "db-1");

        var (exitCode, _, error) = Run("render", "-f", ClusterSample, "-f", ExternalAgentSample, "--secrets", secretsFile, "--external-agent", "db-1", "--join", "10.0.0.10", "-o", bundle);

        Assert.True(exitCode == 0, error);
        Assert.Equal("6e0b5c1a-1111-4b2c-9d3e-5f6a7b8c9d0e", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "config.json")))!["acl"]!["tokens"]!["agent"]);
        Assert.DoesNotContain("consul acl token create", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_external_agents_bundle_without_the_clusters_ca_joins_or_directory_reports_every_problem_and_writes_nothing()
    {
        var (exitCode, _, error) = Run("render", "-f", ClusterSample, "-f", ExternalAgentSample, "--external-agent", "db-1", "--join", "provider=aws tag_key=consul");

        Assert.Equal(1, exitCode);
        Assert.Contains("error: --external-agent writes a directory tree: give it with -o DIR", error, StringComparison.Ordinal);
        Assert.Contains("error: --join \"provider=aws tag_key=consul\" looks like a cloud auto-join setting", error, StringComparison.Ordinal);
        Assert.Contains("error: --secrets holds no CA Secret consul-ca", error, StringComparison.Ordinal);
        Assert.Contains("error: --secrets holds no gossip key Secret consul-gossip", error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(directory));
    }

    [Fact]
    public void Rendering_a_cluster_with_an_external_agent_says_how_to_render_the_agents_bundle()
    {
        var (exitCode, _, error) = Run("render", "-f", ClusterSample, "-f", ExternalAgentSample);

        Assert.Equal(0, exitCode);
        Assert.Contains("note: ConsulExternalAgent db-1 is a machine's bundle, not Kubernetes objects: render it with --external-agent db-1", error, StringComparison.Ordinal);
        Assert.Equal(1, Run("render", "-f", ClusterSample, "--join", "10.0.0.10").ExitCode);
    }

    // The Secrets of a first render, as a team that keeps them would hand them back.
    private string RenderedSecrets()
    {
        var (_, first, _) = Run("render", "-f", ClusterSample);
        var secretsFile = Path.Combine(directory, "secrets.yaml");
        File.WriteAllText(secretsFile, YamlDocuments.Write(YamlDocuments.Parse(first).Where(d => (string?)d["kind"] == "Secret")));
        return secretsFile;
    }

    private static Dictionary<string, string> Secrets(string yaml) =>
        YamlDocuments.Parse(yaml).Where(d => (string?)d["kind"] == "Secret").ToDictionary(d => (string)d["metadata"]!["name"]!, d => d["data"]!.ToJsonString());

    private string Write(string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int ExitCode, string Output, string Error) Run(params string[] args) => RunWithInput("", args);

    private static (int ExitCode, string Output, string Error) RunWithInput(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = Program.Run(args, new StringReader(stdin), output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

public class ManifestsCommandTests
{
    [Fact]
    public void The_checked_in_crds_and_rbac_are_what_the_code_generates()
    {
        foreach (var (path, text) in ConsulOperator.Cli.ManifestsCommand.Generate())
        {
            var file = Repository.PathOf(path);
            Assert.True(File.Exists(file), $"{path} is missing; run `consul-operator manifests`");
            Assert.True(text == File.ReadAllText(file), $"{path} is stale; run `consul-operator manifests`");
        }
    }

    [Fact]
    public void The_crds_parse_back_and_carry_status_printer_columns_and_short_names()
    {
        var crd = Assert.Single(YamlDocuments.Parse(File.ReadAllText(Repository.PathOf("config/crds/consul.operator.dev_consulclusters.yaml"))));
        var version = crd["spec"]!["versions"]![0]!;

        Assert.Equal("consulclusters.consul.operator.dev", (string?)crd["metadata"]!["name"]);
        Assert.NotNull(version["subresources"]!["status"]);
        Assert.Contains(version["additionalPrinterColumns"]!.AsArray(), c => (string?)c!["name"] == "Ready");
        Assert.Equal("ccl", (string?)crd["spec"]!["names"]!["shortNames"]![0]);
        Assert.True(JsonNode.DeepEquals(ConsulOperator.Manifests.CustomResourceDefinitions.ConsulCluster(), crd));
    }

    [Fact]
    public void The_cluster_role_grants_no_wildcards_and_can_never_delete_a_volume_or_key_material()
    {
        var role = ConsulOperator.Manifests.Rbac.ClusterRole();
        var rules = role["rules"]!.AsArray();

        foreach (var rule in rules)
        {
            Assert.DoesNotContain("*", rule!["verbs"]!.AsArray().Select(v => (string?)v));
            Assert.DoesNotContain("*", rule["resources"]!.AsArray().Select(v => (string?)v));
        }

        // Data and key material are never deleted: the operator deletes agent pods it restarts, the token Secrets of
        // agent pods scaled away (in ConsulAcl, the only Secret deletion there is), and objects that hold no data once the
        // spec no longer asks for them (Desired/Pruning). No volume claims, no ConfigMaps.
        var deletable = rules.Where(r => r!["verbs"]!.AsArray().Any(v => (string?)v == "delete")).SelectMany(r => r!["resources"]!.AsArray().Select(v => (string?)v));
        Assert.Equal(["cronjobs", "ingresses", "podmonitors", "pods", "prometheusrules", "secrets"], deletable.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(rules, r => r!["resources"]!.AsArray().Any(v => (string?)v == "persistentvolumes"));
    }
}
