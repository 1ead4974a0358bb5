namespace ConsulOperator.Api;

/// <summary>Regular expressions shared by the CRD schema and the validator.</summary>
public static class Patterns
{
    /// <summary>An RFC 1123 DNS label: lower case, digits and '-', starting and ending with an alphanumeric.</summary>
    public const string DnsLabel = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

    /// <summary>A DNS name made of RFC 1123 labels, without a trailing dot.</summary>
    public const string DnsName = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    /// <summary>A Consul ACL policy, service or node identity name: letters, digits, '-' and '_' (agent/consul/acl_endpoint.go validPolicyName).</summary>
    public const string ConsulAclName = "^[A-Za-z0-9_-]+$";

    /// <summary>A key of a Secret's or ConfigMap's data: letters, digits, '-', '_' and '.' (apimachinery validation IsConfigMapKey).</summary>
    public const string SecretKey = "^[-._a-zA-Z0-9]+$";

    /// <summary>A semantic version: MAJOR.MINOR.PATCH with an optional pre-release or build suffix.</summary>
    public const string SemVer = "^[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]+)?$";

    /// <summary>A Go-style duration as Consul and Kubernetes write them: 30s, 10m, 720h, 1h30m.</summary>
    public const string Duration = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

    /// <summary>A Kubernetes resource quantity such as 10Gi or 500M.</summary>
    public const string Quantity = "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$";

    /// <summary>A file directly on a volume (no directory part, not a dot file), or "latest".</summary>
    public const string SnapshotFile = "^[A-Za-z0-9_][-._A-Za-z0-9]*$";

    /// <summary>A dotted IPv4 address.</summary>
    public const string IPv4 = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
}
