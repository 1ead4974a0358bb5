using System.Text.Json;
using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Desired.Dns;
using ConsulOperator.Pki;
using ConsulOperator.Yaml;
using k8s;
using k8s.Models;

namespace ConsulOperator.Cli;

/// <summary>
/// <c>render</c>: a ConsulCluster (and its ConsulServices) to every Kubernetes object the operator would create,
/// through the same builders the operator runs. Writes nothing when any input is bad.
/// </summary>
public static class RenderCommand
{
    public static int Run(IReadOnlyList<string> files, string? secretsFile, string? outputDirectory, TimeProvider time, TextReader stdin, TextWriter output, TextWriter error)
    {
        var input = InputDocuments.Read(files, stdin);
        var secrets = secretsFile is null ? new InputDocuments() : InputDocuments.Read([secretsFile], stdin, secretsOnly: true);
        var problems = input.Problems.Concat(secrets.Problems).ToList();
        if (problems.Count == 0 && input.Clusters.Count == 0)
        {
            problems.Add("no ConsulCluster in the input; render needs one to build from");
        }

        foreach (var service in input.Services.Where(s => FindCluster(input, s) is null))
        {
            problems.Add($"ConsulService {service.Metadata.Name}: spec.clusterRef.name \"{service.Spec.ClusterRef.Name}\" names no ConsulCluster of namespace {Namespace(service)} in the input");
        }

        // Adopted Secrets come from --secrets, as the operator would find them in the namespace.
        foreach (var cluster in input.Clusters)
        {
            problems.AddRange(AdoptedSecrets.Problems(cluster, SecretsOf(cluster, secrets.Secrets), time.GetUtcNow())
                .Select(p => $"ConsulCluster {cluster.Metadata.Name}: {p}{(secretsFile is null ? " (render reads Secrets from --secrets)" : "")}"));
        }

        var rendered = new List<(string File, string Text)>();
        if (problems.Count == 0)
        {
            try
            {
                rendered.AddRange(input.Clusters.SelectMany(cluster => Render(cluster, secrets.Secrets, input.Services, time)));
            }
            catch (KeyMaterialException e)
            {
                problems.Add($"{secretsFile}: {e.Message}; an existing CA or gossip key is never replaced, fix or remove the Secret");
            }
        }

        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                error.WriteLine($"error: {problem}");
            }

            return ExitCodes.InvalidInput;
        }

        if (outputDirectory is null)
        {
            foreach (var (_, text) in rendered)
            {
                output.Write(text);
            }
        }
        else
        {
            Directory.CreateDirectory(outputDirectory);
            foreach (var (file, text) in rendered)
            {
                File.WriteAllText(Path.Combine(outputDirectory, file), text);
            }

            error.WriteLine($"wrote {rendered.Count} files to {outputDirectory}");
        }

        foreach (var agent in input.ExternalAgents)
        {
            error.WriteLine($"note: ConsulExternalAgent {agent.Metadata.Name} is a machine's bundle, not Kubernetes objects: render it with --external-agent {agent.Metadata.Name} --join <server address> -o <dir>");
        }

        error.WriteLine("note: the output holds private keys (CA, agents, CLI) and the gossip key; treat it as a Secret");
        return ExitCodes.Success;
    }

    // A Secret without a namespace in the file belongs to whichever cluster reads it, as kubectl apply -n would place it.
    private static IEnumerable<V1Secret> SecretsOf(V1Alpha1ConsulCluster cluster, IEnumerable<V1Secret> secrets) =>
        secrets.Where(s => (s.Metadata.NamespaceProperty ?? Namespace(cluster)) == Namespace(cluster));

    private static IEnumerable<(string File, string Text)> Render(V1Alpha1ConsulCluster cluster, IReadOnlyList<V1Secret> secrets, IReadOnlyList<V1Alpha1ConsulService> services, TimeProvider time)
    {
        var ns = Namespace(cluster);
        var plan = KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, SecretsOf(cluster, secrets)), KeyMaterialSecrets.Requirements(cluster), time);
        foreach (var item in DesiredState.Build(cluster, plan.Material, ServerPlan.AtRest(cluster)))
        {
            var node = JsonNode.Parse(KubernetesJson.Serialize(item))!;
            yield return ($"{ns}-{item.Kind.ToLowerInvariant()}-{item.Metadata.Name}.yaml", YamlDocuments.Write([node]));
        }

        if (cluster.Spec.Dns.CoreDns.Patch && cluster.Spec.Dns.Service.ClusterIP is { } ip)
        {
            var block = new ForwardingBlock($"{ns}/{cluster.Metadata.Name}", ConsulClusterValidator.ForwardedZone(cluster.Spec), ip, cluster.Spec.Dns.Service.Port);
            yield return ($"{ns}-coredns-{cluster.Metadata.Name}.txt", Commented($"The operator adds this block to the Corefile of {cluster.Spec.Dns.CoreDns.Namespace}/{cluster.Spec.Dns.CoreDns.ConfigMapName ?? "coredns"}:", block.MarkedServerBlock));
        }

        foreach (var service in services.Where(s => FindCluster([cluster], s) is not null))
        {
            var body = ServiceRegistration.Build(service).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            yield return ($"{ns}-consulservice-{service.Metadata.Name}.txt", Commented(
                $"ConsulService {service.Metadata.Name} is registered on the cluster's agents with PUT /v1/agent/service/register?replace-existing-checks=true:", body + "\n"));
        }
    }

    private static V1Alpha1ConsulCluster? FindCluster(InputDocuments input, V1Alpha1ConsulService service) => FindCluster(input.Clusters, service);

    private static V1Alpha1ConsulCluster? FindCluster(IEnumerable<V1Alpha1ConsulCluster> clusters, V1Alpha1ConsulService service) =>
        clusters.FirstOrDefault(c => c.Metadata.Name == service.Spec.ClusterRef.Name && Namespace(c) == Namespace(service));

    private static string Namespace(IKubernetesObject<V1ObjectMeta> item) => item.Metadata.NamespaceProperty ?? "default";

    private static string Commented(string title, string body) =>
        $"# {title}\n" + string.Concat(body.TrimEnd('\n').Split('\n').Select(line => $"#   {line}\n"));
}

public static class ExitCodes
{
    public const int Success = 0;
    public const int InvalidInput = 1;
}
