using System.Net;
using System.Text.RegularExpressions;
using ConsulOperator.Api.Schema;
using k8s;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>
/// Everything wrong with a ConsulCluster, each problem with its field path: the CRD schema's checks (the API server
/// has run them already, but <c>render</c> reads files), the CEL rules, and the rules that span fields.
/// </summary>
public static partial class ConsulClusterValidator
{
    /// <summary>Kubernetes names derived from the cluster's (<c>&lt;name&gt;-client</c> for a StatefulSet, whose pods get a 63-character revision label) must stay valid.</summary>
    public const int MaxNameLength = 45;

    private static readonly Lazy<System.Text.Json.Nodes.JsonObject> ResourceSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulCluster)));

    public static IReadOnlyList<ValidationProblem> Validate(V1Alpha1ConsulCluster cluster)
    {
        var problems = new List<ValidationProblem>(SchemaValidator.Validate(ResourceSchema.Value, System.Text.Json.Nodes.JsonNode.Parse(KubernetesJson.Serialize(cluster))));
        var spec = cluster.Spec;

        var name = cluster.Metadata?.Name;
        if (string.IsNullOrEmpty(name))
        {
            problems.Add(new("metadata.name", "is required"));
        }
        else if (!Dns1035Label().IsMatch(name) || name.Length > MaxNameLength)
        {
            problems.Add(new("metadata.name", $"\"{name}\" must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter) of at most {MaxNameLength} characters, since Services and StatefulSets are named after it"));
        }

        if (ConsulVersion.TryParse(spec.Version, out var version) && version < ConsulVersion.OldestSupported)
        {
            problems.Add(new("spec.version", $"\"{spec.Version}\" is older than the oldest supported Consul version {ConsulVersion.OldestSupported}"));
        }

        if (spec.Servers.Replicas % 2 == 0)
        {
            problems.Add(new("spec.servers.replicas", $"{spec.Servers.Replicas} is even; use 1, 3, 5 or 7 so that a quorum survives the loss of (replicas-1)/2 servers"));
        }

        // agent/agent_endpoint.go AgentMetrics: a retention time that is not positive turns Prometheus output off (415).
        if (spec.Telemetry.Enabled && GoDuration.TryParse(spec.Telemetry.PrometheusRetentionTime, out var retention) && retention <= TimeSpan.Zero)
        {
            problems.Add(new("spec.telemetry.prometheusRetentionTime", $"\"{spec.Telemetry.PrometheusRetentionTime}\" is not positive; Consul serves no Prometheus metrics then. Use 1m or more, or set spec.telemetry.enabled to false"));
        }

        var telemetry = spec.Telemetry;
        foreach (var (field, wanted) in new[] { ("dashboard", telemetry.Dashboard), ("podMonitor", telemetry.PodMonitor?.Enabled == true), ("prometheusRule", telemetry.PrometheusRule?.Enabled == true) })
        {
            if (wanted && !telemetry.Enabled)
            {
                problems.Add(new($"spec.telemetry.{field}", "needs spec.telemetry.enabled: without it Consul keeps no metrics for Prometheus"));
            }
        }

        // The dashboard's and the alerts' queries name gauges as Consul writes them with disable_hostname (docs: agent
        // telemetry); otherwise every gauge name carries the agent's host name.
        foreach (var (field, wanted) in new[] { ("dashboard", telemetry.Dashboard), ("prometheusRule", telemetry.PrometheusRule?.Enabled == true) })
        {
            if (wanted && telemetry.Enabled && !telemetry.DisableHostname)
            {
                problems.Add(new($"spec.telemetry.{field}", "needs spec.telemetry.disableHostname: true; with host names in the gauge names its queries find nothing"));
            }
        }

        if (spec.Ui.BrowserAccess && (!spec.Ui.Enabled || !spec.Acl.Enabled || spec.Acl.DefaultPolicy != AclPolicy.Deny))
        {
            problems.Add(new("spec.ui.browserAccess", "turns off client certificates on the servers' HTTPS API, so it needs spec.ui.enabled and ACLs on with defaultPolicy deny; otherwise anyone who reaches the UI can do anything"));
        }

        if (spec.Ui.Ingress is not null && !spec.Ui.Enabled)
        {
            problems.Add(new("spec.ui.ingress", "needs spec.ui.enabled: the Ingress leads to the UI Service"));
        }

        CheckTls(spec, problems);
        CheckDns(spec, problems);
        CheckAdopted(spec, problems);
        CheckJoin(spec, problems);
        return problems;
    }

    // An adopted Secret is never written, so nothing that would write it may be asked for alongside it.
    private static void CheckAdopted(ConsulClusterSpec spec, List<ValidationProblem> problems)
    {
        if (spec.Gossip.KeySecretRef is not null && !spec.Gossip.Encryption)
        {
            problems.Add(new("spec.gossip.keySecretRef", "needs spec.gossip.encryption: without encryption no key is used"));
        }

        if (spec.Gossip.KeySecretRef is { } key && !string.IsNullOrEmpty(spec.Gossip.Rotation))
        {
            problems.Add(new("spec.gossip.rotation", $"\"{spec.Gossip.Rotation}\" cannot be used with spec.gossip.keySecretRef: a rotation stores the new key in the Secret, and the operator never writes Secret {key.Name}. Rotate with consul keyring and update the Secret, or hand the key to the operator: copy it to key 'key' of Secret <name>-gossip, then remove keySecretRef"));
        }

        if (spec.Acl.BootstrapTokenSecretRef is not null && !spec.Acl.Enabled)
        {
            problems.Add(new("spec.acl.bootstrapTokenSecretRef", "needs spec.acl.enabled: without ACLs there is no management token to use"));
        }
    }

    // Joining a datacenter that runs elsewhere: its servers accept only agents with its CA, its gossip key, and (with
    // ACLs) tokens its own management token makes; its ACLs are bootstrapped already, so no new token can be.
    private static void CheckJoin(ConsulClusterSpec spec, List<ValidationProblem> problems)
    {
        if (spec.Join is not { Count: > 0 } join)
        {
            return;
        }

        for (var i = 0; i < join.Count; i++)
        {
            if (JoinAddressProblem(join[i]) is { } problem)
            {
                problems.Add(new($"spec.join[{i}]", $"\"{join[i]}\" {problem}"));
            }
        }

        foreach (var duplicate in join.GroupBy(a => a, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Add(new("spec.join", $"\"{duplicate.Key}\" is listed {duplicate.Count()} times"));
        }

        const string outside = "spec.join joins a datacenter that already runs";
        if (spec.Tls.CaSecretRef is null)
        {
            problems.Add(new("spec.tls.caSecretRef", $"is required with spec.join: {outside}, and its servers trust only certificates from its own CA; put that CA in a Secret and name it here"));
        }

        if (spec.Gossip.Encryption && spec.Gossip.KeySecretRef is null)
        {
            problems.Add(new("spec.gossip.keySecretRef", $"is required with spec.join and gossip encryption: {outside}, and its members talk only with its own gossip key"));
        }

        if (spec.Acl.Enabled && spec.Acl.BootstrapTokenSecretRef is null)
        {
            problems.Add(new("spec.acl.bootstrapTokenSecretRef", $"is required with spec.join and ACLs: {outside}, whose ACLs were bootstrapped once already; name the Secret with its management token"));
        }

        if (spec.Recovery is not null)
        {
            problems.Add(new("spec.recovery", "cannot be used with spec.join: the servers outside Kubernetes are in the same raft, and a reset of raft must be written on them too, by hand (docs/operations.md, \"Lost quorum\")"));
        }
    }

    /// <summary>What is wrong with one retry_join address (spec.join, render --join), or null: a DNS name, an IPv4 address or a bracketed IPv6 address, each with an optional port.</summary>
    public static string? JoinAddressProblem(string address)
    {
        if (address.Contains('='))
        {
            return "looks like a cloud auto-join setting (provider=...); only addresses are supported, list the servers' names or IPs";
        }

        var (host, port) = address.StartsWith('[') && address.IndexOf(']') is var close and > 0
            ? (address[1..close], address[(close + 1)..] is { Length: > 0 } rest ? rest.StartsWith(':') ? rest[1..] : null : "")
            : address.Split(':') switch
            {
                [var h] => (h, ""),
                [var h, var p] => (h, p),
                _ => ("", null),
            };
        var bracketed = address.StartsWith('[');
        var hostValid = bracketed
            ? IPAddress.TryParse(host, out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            : Regex.IsMatch(host, Patterns.IPv4) || (host.Length <= 253 && Regex.IsMatch(host, Patterns.DnsName));
        if (!hostValid || port is null)
        {
            return "is not an address: use a DNS name, an IPv4 address or [an IPv6 address], optionally followed by :port";
        }

        return port.Length == 0 || int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number is >= 1 and <= 65535
            ? null
            : $"has port \"{port}\"; a port is 1 to 65535 (Consul's LAN gossip port is 8301)";
    }

    private static void CheckTls(ConsulClusterSpec spec, List<ValidationProblem> problems)
    {
        var tls = spec.Tls;
        if (tls.LeafValidityDays > tls.CaValidityDays)
        {
            problems.Add(new("spec.tls.leafValidityDays", $"{tls.LeafValidityDays} days is longer than the CA's {tls.CaValidityDays}; a certificate cannot outlive its CA"));
        }

        if (GoDuration.TryParse(tls.RotateBefore, out var rotateBefore) && rotateBefore >= TimeSpan.FromDays(tls.LeafValidityDays))
        {
            problems.Add(new("spec.tls.rotateBefore", $"\"{tls.RotateBefore}\" is not shorter than the certificates' validity of {tls.LeafValidityDays} days; every certificate would be reissued at once, forever"));
        }

        if (spec.Clients.AutoEncrypt && spec.Clients.Replicas > 0 && !tls.VerifyIncoming)
        {
            problems.Add(new("spec.tls.verifyIncoming", "must be true when spec.clients.autoEncrypt is true: servers hand out client certificates only over verified RPC (Consul 1.6 refuses to start otherwise)"));
        }

        if (tls.VerifyServerHostname && !tls.VerifyOutgoing)
        {
            problems.Add(new("spec.tls.verifyOutgoing", "must be true when spec.tls.verifyServerHostname is true; Consul would turn it on anyway"));
        }
    }

    private static void CheckDns(ConsulClusterSpec spec, List<ValidationProblem> problems)
    {
        var dns = spec.Dns;
        if (dns.Service.ClusterIP is { } ip && !IPAddress.TryParse(ip, out _))
        {
            problems.Add(new("spec.dns.service.clusterIP", $"\"{ip}\" is not an IP address"));
        }

        if (!dns.CoreDns.Patch)
        {
            return;
        }

        if (!dns.Service.Enabled)
        {
            problems.Add(new("spec.dns.coreDns.patch", "needs spec.dns.service.enabled: CoreDNS forwards to the DNS Service's ClusterIP"));
        }

        var zone = ForwardedZone(spec).TrimEnd('.');
        var domain = spec.Domain.TrimEnd('.');
        if (zone != domain && !zone.EndsWith("." + domain, StringComparison.Ordinal))
        {
            problems.Add(new("spec.dns.coreDns.zone", $"\"{zone}\" is outside the Consul domain \"{domain}\"; Consul answers only names under its domain"));
        }
    }

    /// <summary>The zone CoreDNS forwards: spec.dns.coreDns.zone, or service.&lt;domain&gt;.</summary>
    public static string ForwardedZone(ConsulClusterSpec spec) => spec.Dns.CoreDns.Zone ?? $"service.{spec.Domain}";

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1035Label();
}
