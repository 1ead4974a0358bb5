using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsulOperator.Api.Schema;
using k8s;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>Everything wrong with a ConsulService, each problem with its field path.</summary>
public static partial class ConsulServiceValidator
{
    private static readonly Lazy<JsonObject> ResourceSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulService)));

    public static IReadOnlyList<ValidationProblem> Validate(V1Alpha1ConsulService service)
    {
        var problems = new List<ValidationProblem>(SchemaValidator.Validate(ResourceSchema.Value, JsonNode.Parse(KubernetesJson.Serialize(service))));
        var spec = service.Spec;
        if (string.IsNullOrEmpty(service.Metadata?.Name))
        {
            problems.Add(new("metadata.name", "is required"));
        }
        else if (spec.Name is null && !Regex.IsMatch(service.Metadata.Name, Patterns.DnsLabel))
        {
            problems.Add(new("spec.name", $"is required because metadata.name \"{service.Metadata.Name}\" is not a DNS label and cannot name a Consul service"));
        }

        if (string.IsNullOrEmpty(spec.ClusterRef.Name))
        {
            problems.Add(new("spec.clusterRef.name", "is required"));
        }

        if ((spec.Address is null) == (spec.ServiceRef is null))
        {
            problems.Add(new("spec", "exactly one of address and serviceRef must be set: a service at a fixed address, or a Kubernetes Service to keep in the catalog"));
        }

        if (spec.Address is { } address && !IPAddress.TryParse(address, out _) && !Regex.IsMatch(address.ToLowerInvariant(), Patterns.DnsName))
        {
            problems.Add(new("spec.address", $"\"{address}\" is neither an IP address nor a DNS name"));
        }

        if (spec.Address is not null && spec.Port is null)
        {
            problems.Add(new("spec.port", "is required with spec.address"));
        }

        if (spec.Port is < 1 or > 65535)
        {
            problems.Add(new("spec.port", $"{spec.Port} is not a port (1-65535)"));
        }

        if (spec.ServiceRef is not null && spec.Port is not null)
        {
            problems.Add(new("spec.port", "does not apply with spec.serviceRef: spec.serviceRef.port names the Service's port"));
        }

        if (spec.ServiceRef is not null && spec.Checks is { Count: > 0 })
        {
            problems.Add(new("spec.checks", "do not apply with spec.serviceRef: each instance's health is its endpoints' readiness, which Kubernetes already checks"));
        }

        CheckTagsAndChecks(spec.Tags, spec.Checks, "spec", problems);
        return problems;
    }

    /// <summary>The tags and health checks of a service, wherever it is described (a ConsulService, a ConsulExternalAgent's services).</summary>
    internal static void CheckTagsAndChecks(List<string>? tags, List<ServiceCheck>? checks, string path, List<ValidationProblem> problems)
    {
        for (var i = 0; i < (tags?.Count ?? 0); i++)
        {
            if (!TagPattern().IsMatch(tags![i]))
            {
                problems.Add(new($"{path}.tags[{i}]", $"\"{tags[i]}\" must be a DNS label (letters, digits, '-' and '_'), so that <tag>.<name>.service resolves"));
            }
        }

        for (var i = 0; i < (checks?.Count ?? 0); i++)
        {
            CheckHealthCheck(checks![i], $"{path}.checks[{i}]", problems);
        }
    }

    private static void CheckHealthCheck(ServiceCheck check, string path, List<ValidationProblem> problems)
    {
        var kinds = new[] { ("tcp", check.Tcp), ("http", check.Http), ("grpc", check.Grpc), ("ttl", check.Ttl) }.Where(k => k.Item2 is not null).Select(k => k.Item1).ToList();
        if (kinds.Count != 1)
        {
            problems.Add(new(path, kinds.Count == 0 ? "exactly one of tcp, http, grpc and ttl must be set; none is" : $"exactly one of tcp, http, grpc and ttl must be set; {string.Join(" and ", kinds)} are"));
        }

        if (check.Ttl is null && check.Interval is null)
        {
            problems.Add(new($"{path}.interval", "is required for tcp, http and grpc checks"));
        }

        if (check.Ttl is not null && check.Interval is not null)
        {
            problems.Add(new($"{path}.interval", "does not apply to a ttl check"));
        }

        if (check.Http is null && (check.Method is not null || check.Headers is not null || check.TlsSkipVerify is not null))
        {
            problems.Add(new(path, "method, headers and tlsSkipVerify apply only to an http check"));
        }

        if (check.Grpc is null && check.GrpcUseTls is not null)
        {
            problems.Add(new($"{path}.grpcUseTls", "applies only to a grpc check"));
        }

        if (check.Http is not null && !(Uri.TryCreate(check.Http, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            problems.Add(new($"{path}.http", $"\"{check.Http}\" is not an http:// or https:// URL"));
        }

        if (check.Tcp is not null && !HostPort().IsMatch(check.Tcp))
        {
            problems.Add(new($"{path}.tcp", $"\"{check.Tcp}\" is not host:port"));
        }

        if (check.Interval is not null && check.Timeout is not null
            && GoDuration.TryParse(check.Interval, out var interval) && GoDuration.TryParse(check.Timeout, out var timeout) && timeout > interval)
        {
            problems.Add(new($"{path}.timeout", $"\"{check.Timeout}\" is longer than the interval \"{check.Interval}\"; runs would overlap"));
        }
    }

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$")]
    private static partial Regex TagPattern();

    [GeneratedRegex("^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")]
    private static partial Regex HostPort();
}
