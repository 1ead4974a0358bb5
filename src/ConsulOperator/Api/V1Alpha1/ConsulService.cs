using System.ComponentModel.DataAnnotations;
using k8s;
using k8s.Models;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>
/// A service registered into a ConsulCluster's catalog: one outside Kubernetes at a fixed address, so that pods resolve
/// &lt;name&gt;.service.&lt;domain&gt;, or a Kubernetes Service (serviceRef), so that machines outside Kubernetes do.
/// </summary>
[KubernetesEntity(Group = ApiGroup.Name, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
public sealed class V1Alpha1ConsulService : IKubernetesObject<V1ObjectMeta>, ISpec<ConsulServiceSpec>, IStatus<ConsulServiceStatus?>
{
    public const string KindName = "ConsulService";
    public const string Plural = "consulservices";

    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The service to register.</summary>
    public ConsulServiceSpec Spec { get; set; } = new();

    /// <summary>What the operator last observed.</summary>
    public ConsulServiceStatus? Status { get; set; }
}

/// <summary>The service to register.</summary>
[CelRule("has(self.address) != has(self.serviceRef)", "exactly one of address and serviceRef must be set")]
[CelRule("has(self.address) == has(self.port)", "port goes with address; a serviceRef names the Service's port")]
public sealed class ConsulServiceSpec
{
    /// <summary>The ConsulCluster in this namespace to register into.</summary>
    [Required]
    public ClusterReference ClusterRef { get; set; } = new();

    /// <summary>Consul service name, a DNS label; defaults to metadata.name.</summary>
    [RegularExpression(Patterns.DnsLabel), AtMost(63)]
    public string? Name { get; set; }

    /// <summary>Tags; each is also a DNS label under the service (&lt;tag&gt;.&lt;name&gt;.service.&lt;domain&gt;).</summary>
    [AtMost(64)]
    public List<string>? Tags { get; set; }

    /// <summary>IP address or host name of a service outside Kubernetes.</summary>
    [AtMost(253)]
    public string? Address { get; set; }

    /// <summary>Port of the service at address.</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>A Kubernetes Service in this namespace to keep in Consul's catalog instead, one instance per address an outside machine can reach.</summary>
    public ServiceReference? ServiceRef { get; set; }

    /// <summary>Service metadata.</summary>
    public Dictionary<string, string>? Meta { get; set; }

    /// <summary>Health checks the Consul agent runs against the service.</summary>
    [AtMost(16)]
    public List<ServiceCheck>? Checks { get; set; }
}

/// <summary>A Kubernetes Service, one of its ports, and which of its addresses outside machines are to use.</summary>
public sealed class ServiceReference
{
    /// <summary>The Service's name, in the ConsulService's namespace.</summary>
    [Required, RegularExpression(Patterns.DnsLabel), AtMost(63)]
    public string Name { get; set; } = "";

    /// <summary>The Service's port, by its name or its number.</summary>
    [Required, RegularExpression("^([0-9]{1,5}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$"), AtMost(63)]
    public string Port { get; set; } = "";

    /// <summary>
    /// LoadBalancer: the load balancer's ingress addresses. NodePort: every ready node's InternalIP with the node port.
    /// Endpoints: each endpoint of the Service's EndpointSlices (pod IPs, for a flat network). Auto: by the Service's type.
    /// </summary>
    public ServiceAddressType AddressType { get; set; } = ServiceAddressType.Auto;
}

public enum ServiceAddressType
{
    Auto,
    LoadBalancer,
    NodePort,
    Endpoints,
}

/// <summary>A reference to a ConsulCluster in the same namespace.</summary>
public sealed class ClusterReference
{
    /// <summary>Name of the ConsulCluster.</summary>
    [Required, RegularExpression(Patterns.DnsName), AtMost(253)]
    public string Name { get; set; } = "";
}

/// <summary>One health check; exactly one of tcp, http, grpc and ttl.</summary>
[CelRule("[has(self.tcp), has(self.http), has(self.grpc), has(self.ttl)].filter(x, x).size() == 1", "exactly one of tcp, http, grpc and ttl must be set")]
[CelRule("has(self.ttl) || has(self.interval)", "interval is required for tcp, http and grpc checks")]
public sealed class ServiceCheck
{
    /// <summary>Check name; defaults to the check type and the service name.</summary>
    [AtMost(128)]
    public string? Name { get; set; }

    /// <summary>host:port to open a TCP connection to.</summary>
    [AtMost(260)]
    public string? Tcp { get; set; }

    /// <summary>URL to send an HTTP request to; 2xx is passing, 429 warning, anything else critical.</summary>
    [AtMost(2048)]
    public string? Http { get; set; }

    /// <summary>HTTP method of an http check.</summary>
    public HttpCheckMethod? Method { get; set; }

    /// <summary>HTTP headers of an http check.</summary>
    public Dictionary<string, List<string>>? Headers { get; set; }

    /// <summary>Skip certificate verification of an https check.</summary>
    public bool? TlsSkipVerify { get; set; }

    /// <summary>host:port[/service] of a gRPC health endpoint.</summary>
    [AtMost(512)]
    public string? Grpc { get; set; }

    /// <summary>Use TLS for a grpc check.</summary>
    public bool? GrpcUseTls { get; set; }

    /// <summary>A TTL check: something must report to Consul within this duration.</summary>
    [RegularExpression(Patterns.Duration)]
    public string? Ttl { get; set; }

    /// <summary>How often to run the check.</summary>
    [RegularExpression(Patterns.Duration)]
    public string? Interval { get; set; }

    /// <summary>Timeout of one run of the check.</summary>
    [RegularExpression(Patterns.Duration)]
    public string? Timeout { get; set; }

    /// <summary>Deregister the service when the check has been critical this long.</summary>
    [RegularExpression(Patterns.Duration)]
    public string? DeregisterCriticalServiceAfter { get; set; }
}

public enum HttpCheckMethod
{
    GET,
    HEAD,
    POST,
    PUT,
    OPTIONS,
}

/// <summary>What the operator last observed of the registration.</summary>
public sealed class ConsulServiceStatus
{
    /// <summary>The metadata.generation the status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready, Registered, Degraded.</summary>
    public List<V1Condition>? Conditions { get; set; }

    /// <summary>Whether the service was registered in Consul when the operator last could look (the Registered condition says why not, if not).</summary>
    public bool? Registered { get; set; }

    /// <summary>The Consul agent (node) the service is registered on.</summary>
    public string? RegisteredOn { get; set; }

    /// <summary>Aggregated check status: passing, warning or critical.</summary>
    public string? Health { get; set; }

    /// <summary>A serviceRef's instances in the catalog, as address:port and health.</summary>
    public List<string>? Instances { get; set; }
}
