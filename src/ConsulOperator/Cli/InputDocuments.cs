using System.Text.Json;
using System.Text.Json.Nodes;
using ConsulOperator.Api;
using ConsulOperator.Api.Schema;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Yaml;
using k8s;
using k8s.Models;
using YamlDotNet.Core;

namespace ConsulOperator.Cli;

/// <summary>The objects read from the files given on the command line, or every problem found in them.</summary>
public sealed class InputDocuments
{
    private static readonly Lazy<JsonObject> ClusterSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulCluster)));
    private static readonly Lazy<JsonObject> ServiceSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulService)));
    private static readonly Lazy<JsonObject> PolicySchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulACLPolicy)));
    private static readonly Lazy<JsonObject> TokenSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulACLToken)));
    private static readonly Lazy<JsonObject> ExternalAgentSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulExternalAgent)));

    public List<V1Alpha1ConsulCluster> Clusters { get; } = [];

    public List<V1Alpha1ConsulService> Services { get; } = [];

    public List<V1Alpha1ConsulACLPolicy> AclPolicies { get; } = [];

    public List<V1Alpha1ConsulACLToken> AclTokens { get; } = [];

    public List<V1Alpha1ConsulExternalAgent> ExternalAgents { get; } = [];

    public List<V1Secret> Secrets { get; } = [];

    /// <summary>Problems, each as "file: Kind name: path: message".</summary>
    public List<string> Problems { get; } = [];

    public static InputDocuments Read(IEnumerable<string> files, TextReader stdin, bool secretsOnly = false)
    {
        var input = new InputDocuments();
        foreach (var file in files)
        {
            IReadOnlyList<JsonNode> documents;
            try
            {
                documents = YamlDocuments.Parse(file == "-" ? stdin.ReadToEnd() : File.ReadAllText(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or YamlException)
            {
                input.Problems.Add($"{file}: {e.Message}");
                continue;
            }

            for (var i = 0; i < documents.Count; i++)
            {
                input.Add(file, i, documents[i], secretsOnly);
            }
        }

        return input;
    }

    private void Add(string file, int index, JsonNode document, bool secretsOnly)
    {
        var kind = (string?)(document as JsonObject)?["kind"] as string;
        var apiVersion = (string?)(document as JsonObject)?["apiVersion"] as string;
        var name = (string?)document["metadata"]?["name"] ?? $"document {index + 1}";
        var where = $"{file}: {kind ?? "document"} {name}";
        try
        {
            switch (apiVersion, kind)
            {
                case ("v1", "Secret"):
                    Secrets.Add(KubernetesJson.Deserialize<V1Secret>(document));
                    break;
                case (_, _) when secretsOnly:
                    Problems.Add($"{where}: expected Secrets only, got {apiVersion}/{kind}");
                    break;
                case (ApiGroup.ApiVersion, V1Alpha1ConsulCluster.KindName):
                    AddChecked(where, ClusterSchema.Value, document, ConfigValidation.Validate, Clusters);
                    break;
                case (ApiGroup.ApiVersion, V1Alpha1ConsulService.KindName):
                    AddChecked(where, ServiceSchema.Value, document, ConsulServiceValidator.Validate, Services);
                    break;
                // Nothing to render for these (they live in Consul and in a Secret the operator fills), but they are checked.
                case (ApiGroup.ApiVersion, V1Alpha1ConsulACLPolicy.KindName):
                    AddChecked(where, PolicySchema.Value, document, (V1Alpha1ConsulACLPolicy p) => ConsulAclValidator.Validate(p, null), AclPolicies);
                    break;
                case (ApiGroup.ApiVersion, V1Alpha1ConsulACLToken.KindName):
                    AddChecked(where, TokenSchema.Value, document, (V1Alpha1ConsulACLToken t) => ConsulAclValidator.Validate(t, null), AclTokens);
                    break;
                case (ApiGroup.ApiVersion, V1Alpha1ConsulExternalAgent.KindName):
                    AddChecked(where, ExternalAgentSchema.Value, document, ConsulExternalAgentValidator.Validate, ExternalAgents);
                    break;
                default:
                    Problems.Add($"{where}: unsupported apiVersion/kind {apiVersion}/{kind}; expected {ApiGroup.ApiVersion} {V1Alpha1ConsulCluster.KindName}, {V1Alpha1ConsulService.KindName}, {V1Alpha1ConsulACLPolicy.KindName}, {V1Alpha1ConsulACLToken.KindName} or {V1Alpha1ConsulExternalAgent.KindName}");
                    break;
            }
        }
        catch (JsonException e)
        {
            Problems.Add($"{where}: {e.Path}: {e.Message}");
        }
    }

    // Every problem at once: the schema's, then the validators' on the rest of the document (read into the C# type with
    // every field the schema faulted left out, so they take their defaults). A faulted path is not reported twice.
    private void AddChecked<T>(string where, JsonObject schema, JsonNode document, Func<T, IReadOnlyList<ValidationProblem>> validate, List<T> into)
    {
        var problems = SchemaValidator.Validate(schema, document);
        Report(where, problems);
        var rest = document.DeepClone();
        foreach (var problem in problems)
        {
            Remove(rest, problem.Path);
        }

        T typed;
        try
        {
            typed = KubernetesJson.Deserialize<T>(rest);
        }
        catch (System.Text.Json.JsonException)
        {
            return;
        }

        var faulted = problems.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        Report(where, validate(typed).Where(p => !faulted.Contains(p.Path)));
        if (problems.Count == 0)
        {
            into.Add(typed);
        }
    }

    // A problem's path: dotted fields, with [i] for list items (spec.checks[0].tcp).
    private static void Remove(JsonNode root, string path)
    {
        var steps = path.Split('.').SelectMany(part => part.Split('[').Select((step, i) => i == 0 ? step : "[" + step)).Where(s => s.Length > 0).ToList();
        JsonNode? parent = root;
        foreach (var step in steps[..^1])
        {
            parent = step.StartsWith('[') ? (parent as JsonArray)?.ElementAtOrDefault(int.Parse(step.Trim('[', ']'), System.Globalization.CultureInfo.InvariantCulture)) : parent?[step];
        }

        if (parent is JsonObject obj && !steps[^1].StartsWith('['))
        {
            obj.Remove(steps[^1]);
        }
    }

    private void Report(string where, IEnumerable<ValidationProblem> problems) =>
        Problems.AddRange(problems.Select(p => $"{where}: {p}"));
}
