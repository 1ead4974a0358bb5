namespace ConsulOperator.Desired;

/// <summary>Label and annotation keys the operator writes, in one place.</summary>
public static class Labels
{
    public const string Name = "app.kubernetes.io/name";
    public const string Instance = "app.kubernetes.io/instance";
    public const string Component = "app.kubernetes.io/component";
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string PartOf = "app.kubernetes.io/part-of";
    public const string Version = "app.kubernetes.io/version";

    /// <summary>On agent pods only (servers and clients): what the DNS Service selects, so that no other pod of the cluster (a snapshot Job's) receives lookups.</summary>
    public const string Agent = "consul.operator.dev/agent";

    /// <summary>What Grafana's dashboard sidecar (the Grafana Helm chart's <c>sidecar.dashboards</c>) picks ConfigMaps by, by default.</summary>
    public const string GrafanaDashboard = "grafana_dashboard";

    public const string AppName = "consul";
    public const string OperatorName = "consul-operator";

    /// <summary>Hash of the agent configuration on the pod template: a config change must roll the pods, because Consul reloads only part of its configuration at runtime.</summary>
    public const string ConfigHashAnnotation = "consul.operator.dev/config-hash";

    /// <summary>Hash of everything the operator sets on an object, so that an unchanged object costs no write.</summary>
    public const string SpecHashAnnotation = "consul.operator.dev/spec-hash";
}

/// <summary>The components of a cluster, as they appear in the component label.</summary>
public static class Components
{
    public const string Server = "server";
    public const string Client = "client";
    public const string Dns = "dns";
    public const string Ui = "ui";
    public const string Pki = "pki";
    public const string Gossip = "gossip";
    public const string Acl = "acl";
    public const string AclToken = "acl-token";
    public const string Snapshot = "snapshot";
    public const string Dashboard = "dashboard";
    public const string Monitoring = "monitoring";
}
