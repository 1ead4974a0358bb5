using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>A Consul datacenter run by the operator: servers, clients, a private CA with per-pod TLS, gossip encryption, ACLs and DNS forwarding.</summary>
[KubernetesEntity(Group = ApiGroup.Name, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
public sealed class V1Alpha1ConsulCluster : IKubernetesObject<V1ObjectMeta>, ISpec<ConsulClusterSpec>, IStatus<ConsulClusterStatus?>
{
    public const string KindName = "ConsulCluster";
    public const string Plural = "consulclusters";

    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    public string Kind { get; set; } = KindName;
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>What the Consul datacenter should look like.</summary>
    public ConsulClusterSpec Spec { get; set; } = new();

    /// <summary>What the operator last observed.</summary>
    public ConsulClusterStatus? Status { get; set; }
}

/// <summary>The desired Consul datacenter.</summary>
public sealed class ConsulClusterSpec
{
    /// <summary>Consul version (MAJOR.MINOR.PATCH). It decides the agent configuration layout: the tls stanza from 1.12 on, top-level verify_* keys before.</summary>
    [RegularExpression(Patterns.SemVer)]
    public string Version { get; set; } = "1.16.1";

    /// <summary>Container image; defaults to hashicorp/consul:&lt;version&gt;.</summary>
    [AtMost(512)]
    public string? Image { get; set; }

    /// <summary>Image pull policy for the agent containers.</summary>
    public ImagePullPolicy ImagePullPolicy { get; set; } = ImagePullPolicy.IfNotPresent;

    /// <summary>Consul datacenter name. Cannot change after creation: it is in every certificate.</summary>
    [RegularExpression(Patterns.DnsLabel), AtMost(63), Immutable]
    public string Datacenter { get; set; } = "dc1";

    /// <summary>Consul DNS domain. Cannot change after creation: it is in every certificate.</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253), Immutable]
    public string Domain { get; set; } = "consul";

    /// <summary>The Kubernetes cluster DNS domain, used for the pods' DNS names in their certificates.</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253)]
    public string ClusterDomain { get; set; } = "cluster.local";

    /// <summary>Consul servers.</summary>
    public ServersSpec Servers { get; set; } = new();

    /// <summary>Consul client agents.</summary>
    public ClientsSpec Clients { get; set; } = new();

    /// <summary>The private CA and the agents' TLS settings.</summary>
    public TlsSpec Tls { get; set; } = new();

    /// <summary>Gossip (Serf) encryption.</summary>
    public GossipSpec Gossip { get; set; } = new();

    /// <summary>Consul ACLs.</summary>
    public AclSpec Acl { get; set; } = new();

    /// <summary>The DNS Service and the CoreDNS forwarding of the Consul zone.</summary>
    public DnsSpec Dns { get; set; } = new();

    /// <summary>The Consul web UI.</summary>
    public UiSpec Ui { get; set; } = new();

    /// <summary>Scheduled raft snapshots (consul snapshot save) into a PersistentVolumeClaim, with retention.</summary>
    public SnapshotSpec Snapshots { get; set; } = new();

    /// <summary>Consul's own metrics for Prometheus.</summary>
    public TelemetrySpec Telemetry { get; set; } = new();

    /// <summary>
    /// A reset of raft on the surviving servers after a majority of them is lost for good: set a new request to ask for
    /// one. Refused unless quorum has been lost for minOutage and the servers listed include the survivor furthest along
    /// its log. status.recovery shows each step and the request it completed; a completed request is never run again.
    /// </summary>
    public RecoverySpec? Recovery { get; set; }

    /// <summary>
    /// Servers outside Kubernetes to join (host, host:port, IPv4 or [IPv6]:port; 8301 unless given), added to every
    /// agent's retry_join: the pods then join that datacenter's raft instead of bootstrapping one, and its servers count
    /// in every quorum check. Needs the datacenter's own CA, gossip key and management token (spec.tls.caSecretRef,
    /// spec.gossip.keySecretRef, spec.acl.bootstrapTokenSecretRef). docs/migration.md walks through it.
    /// </summary>
    [AtMost(16)]
    public List<string>? Join { get; set; }

    /// <summary>Raw agent configuration merged into both server and client configuration. Every key must be a valid Consul configuration key for the version; keys the operator manages are refused.</summary>
    [PreserveUnknownFields]
    public JsonObject? ExtraConfig { get; set; }
}

public enum ImagePullPolicy
{
    Always,
    IfNotPresent,
    Never,
}

/// <summary>How strictly pods of one role are kept on different nodes.</summary>
public enum AntiAffinity
{
    /// <summary>Never two on one node (pods stay Pending when nodes run out).</summary>
    Required,

    /// <summary>Spread when possible.</summary>
    Preferred,

    /// <summary>No rule.</summary>
    None,
}

/// <summary>What spec.recovery asks for: which surviving servers to reset raft on, and since how long quorum must be lost.</summary>
public sealed class RecoverySpec
{
    /// <summary>Any new value (a date, a ticket number) asks for one recovery; status.recovery.request shows the value it handled.</summary>
    [Required]
    [AtMost(63)]
    public string Request { get; set; } = "";

    /// <summary>The server pods to make the only voters, which must be survivors (still holding their raft data); the one furthest along its log among them.</summary>
    [Required]
    [AtMost(7)]
    public List<string> Servers { get; set; } = [];

    /// <summary>How long quorum must have been lost before the recovery starts, so that a passing outage is not answered with a reset.</summary>
    [RegularExpression(Patterns.Duration)]
    public string MinOutage { get; set; } = "10m";
}

/// <summary>Settings both servers and clients have.</summary>
public abstract class AgentPodSpec
{
    /// <summary>Resource requests and limits of the agent container.</summary>
    public V1ResourceRequirements? Resources { get; set; }

    /// <summary>Node labels the pods must match.</summary>
    public Dictionary<string, string>? NodeSelector { get; set; }

    /// <summary>Tolerations of the pods.</summary>
    public List<V1Toleration>? Tolerations { get; set; }

    /// <summary>PriorityClass of the pods.</summary>
    [AtMost(253)]
    public string? PriorityClassName { get; set; }
}

/// <summary>Consul servers.</summary>
public sealed class ServersSpec : AgentPodSpec
{
    /// <summary>Number of servers: odd, 1 to 7. Scaling down removes one server at a time and never below quorum.</summary>
    [Range(1, 7)]
    [CelRule("self % 2 == 1", "servers.replicas must be odd (1, 3, 5 or 7) so that a quorum survives the loss of (replicas-1)/2 servers")]
    public int Replicas { get; set; } = 3;

    /// <summary>The servers' data volumes.</summary>
    public StorageSpec Storage { get; set; } = new();

    /// <summary>Spreading of servers over nodes; one node failure must not cost quorum.</summary>
    public AntiAffinity AntiAffinity { get; set; } = AntiAffinity.Required;
}

/// <summary>The servers' persistent volumes.</summary>
public sealed class StorageSpec
{
    /// <summary>Size of each server's data volume.</summary>
    [RegularExpression(Patterns.Quantity)]
    public string Size { get; set; } = "10Gi";

    /// <summary>StorageClass of the volumes; the cluster default when unset.</summary>
    [AtMost(253)]
    public string? StorageClassName { get; set; }

    /// <summary>What happens to the volumes when the cluster is deleted. Retain keeps the data.</summary>
    public VolumeRetention WhenDeleted { get; set; } = VolumeRetention.Retain;

    /// <summary>What happens to a server's volume when the servers are scaled down. Retain keeps the data.</summary>
    public VolumeRetention WhenScaled { get; set; } = VolumeRetention.Retain;
}

public enum VolumeRetention
{
    Retain,
    Delete,
}

/// <summary>Consul client agents.</summary>
public sealed class ClientsSpec : AgentPodSpec
{
    /// <summary>Number of client agents; 0 for none.</summary>
    [Range(0, 1000)]
    public int Replicas { get; set; } = 2;

    /// <summary>When true, clients get their certificates from the servers (Consul auto_encrypt); when false, the operator issues one per client pod.</summary>
    public bool AutoEncrypt { get; set; }

    /// <summary>Spreading of clients over nodes.</summary>
    public AntiAffinity AntiAffinity { get; set; } = AntiAffinity.Preferred;
}

/// <summary>The private CA and TLS verification.</summary>
public sealed class TlsSpec
{
    /// <summary>Validity of the CA in days (consul tls ca create defaults to 1825; 36500 gives 100 years).</summary>
    [Range(1, 36500)]
    public int CaValidityDays { get; set; } = 1825;

    /// <summary>Validity of server, client and CLI certificates in days.</summary>
    [Range(1, 3650)]
    public int LeafValidityDays { get; set; } = 365;

    /// <summary>Renew a certificate this long before it expires (a duration such as 720h).</summary>
    [RegularExpression(Patterns.Duration)]
    public string RotateBefore { get; set; } = "720h";

    /// <summary>Limit the CA to the Consul domain, localhost and this namespace's Service names (critical name constraints).</summary>
    public bool CaNameConstraints { get; set; } = true;

    /// <summary>
    /// Use an existing CA instead of creating one: a Secret in this namespace with tls.crt and tls.key (as
    /// <c>kubectl create secret tls</c> makes it), labelled consul.operator.dev/adopted=true so that the operator watches it.
    /// The operator signs with it and never writes it; caNameConstraints does not apply.
    /// </summary>
    public SecretReference? CaSecretRef { get; set; }

    /// <summary>Require a certificate from the CA on incoming RPC connections.</summary>
    public bool VerifyIncoming { get; set; } = true;

    /// <summary>Require a certificate from the CA on the HTTPS API (probes and the operator present one).</summary>
    public bool HttpsVerifyIncoming { get; set; } = true;

    /// <summary>Verify the CA chain on outgoing connections.</summary>
    public bool VerifyOutgoing { get; set; } = true;

    /// <summary>Require server.&lt;datacenter&gt;.&lt;domain&gt; on server certificates.</summary>
    public bool VerifyServerHostname { get; set; } = true;
}

/// <summary>Gossip encryption.</summary>
public sealed class GossipSpec
{
    /// <summary>Encrypt gossip with a 32-byte key kept in a Secret.</summary>
    public bool Encryption { get; set; } = true;

    /// <summary>
    /// Set to a new value (a date, a ticket number) to rotate the gossip key once: the operator installs a new key on
    /// every member, makes it the primary key, then removes the old one. status.gossipRotation shows the value it completed.
    /// </summary>
    [AtMost(63)]
    public string? Rotation { get; set; }

    /// <summary>
    /// Use an existing gossip key instead of creating one: a key of a Secret in this namespace, labelled
    /// consul.operator.dev/adopted=true. The operator never writes it, so rotation is not available with it.
    /// </summary>
    public SecretKeyReference? KeySecretRef { get; set; }
}

public enum AclPolicy
{
    [JsonStringEnumMemberName("allow")]
    Allow,

    [JsonStringEnumMemberName("deny")]
    Deny,
}

public enum AclDownPolicy
{
    [JsonStringEnumMemberName("allow")]
    Allow,

    [JsonStringEnumMemberName("deny")]
    Deny,

    [JsonStringEnumMemberName("extend-cache")]
    ExtendCache,

    [JsonStringEnumMemberName("async-cache")]
    AsyncCache,
}

/// <summary>Consul ACLs.</summary>
public sealed class AclSpec
{
    /// <summary>Turn ACLs on.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>What a request without a matching rule gets.</summary>
    public AclPolicy DefaultPolicy { get; set; } = AclPolicy.Deny;

    /// <summary>What agents do when they cannot reach the servers to resolve a token.</summary>
    public AclDownPolicy DownPolicy { get; set; } = AclDownPolicy.ExtendCache;

    /// <summary>Persist tokens set through the API across agent restarts.</summary>
    public bool EnableTokenPersistence { get; set; } = true;

    /// <summary>
    /// Use an existing management token instead of bootstrapping: a key of a Secret in this namespace, labelled
    /// consul.operator.dev/adopted=true, holding the token's SecretID. The operator never bootstraps such a cluster and never writes the Secret.
    /// </summary>
    public SecretKeyReference? BootstrapTokenSecretRef { get; set; }
}

/// <summary>A Secret in the cluster's namespace.</summary>
public sealed class SecretReference
{
    /// <summary>Name of the Secret.</summary>
    [Required, RegularExpression(Patterns.DnsName), AtMost(253)]
    public string Name { get; set; } = "";
}

/// <summary>One key of a Secret in the cluster's namespace.</summary>
public sealed class SecretKeyReference
{
    /// <summary>Name of the Secret.</summary>
    [Required, RegularExpression(Patterns.DnsName), AtMost(253)]
    public string Name { get; set; } = "";

    /// <summary>The key within the Secret's data.</summary>
    [Required, RegularExpression(Patterns.SecretKey), AtMost(253)]
    public string Key { get; set; } = "";
}

/// <summary>DNS for *.&lt;domain&gt;.</summary>
public sealed class DnsSpec
{
    /// <summary>The Service in front of the agents' DNS port 8600.</summary>
    public DnsServiceSpec Service { get; set; } = new();

    /// <summary>Forwarding of the Consul zone from the cluster DNS.</summary>
    public CoreDnsSpec CoreDns { get; set; } = new();
}

/// <summary>The DNS Service.</summary>
public sealed class DnsServiceSpec
{
    /// <summary>Create the DNS Service.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The Service port; it forwards to the agents' DNS port 8600.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 53;

    /// <summary>A fixed ClusterIP for the Service, so the forwarding address is known in advance.</summary>
    [RegularExpression(Patterns.IPv4)]
    public string? ClusterIP { get; set; }
}

/// <summary>How the cluster DNS forwards the Consul zone.</summary>
public enum CoreDnsMode
{
    /// <summary>Patch the Corefile key of the CoreDNS ConfigMap (kubeadm, k3s, EKS, RKE2, minikube).</summary>
    Corefile,

    /// <summary>Write a &lt;name&gt;.server key into the coredns-custom ConfigMap (AKS, where the main Corefile cannot be edited).</summary>
    CustomServerBlock,

    /// <summary>Add a stubDomains entry to the kube-dns ConfigMap (clusters still running kube-dns, such as GKE).</summary>
    KubeDnsStubDomains,
}

/// <summary>Forwarding of the Consul zone from the cluster DNS.</summary>
public sealed class CoreDnsSpec
{
    /// <summary>Patch the cluster DNS configuration; when false the operator leaves it alone.</summary>
    public bool Patch { get; set; } = true;

    /// <summary>Which configuration to patch.</summary>
    public CoreDnsMode Mode { get; set; } = CoreDnsMode.Corefile;

    /// <summary>Namespace of the DNS ConfigMap.</summary>
    [RegularExpression(Patterns.DnsLabel), AtMost(63)]
    public string Namespace { get; set; } = "kube-system";

    /// <summary>Name of the DNS ConfigMap; defaults to coredns, coredns-custom or kube-dns by mode.</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253)]
    public string? ConfigMapName { get; set; }

    /// <summary>The zone to forward; defaults to service.&lt;domain&gt;. It must be the Consul domain or inside it.</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253)]
    public string? Zone { get; set; }
}

public enum UiServiceType
{
    ClusterIP,
    NodePort,
    LoadBalancer,
}

/// <summary>Scheduled snapshots: a CronJob saves one through the servers' HTTPS API and keeps the newest ones.</summary>
public sealed class SnapshotSpec
{
    /// <summary>Take snapshots on the schedule.</summary>
    public bool Enabled { get; set; }

    /// <summary>When, as a cron expression in UTC.</summary>
    [AtMost(100)]
    public string Schedule { get; set; } = "0 */6 * * *";

    /// <summary>How many snapshots to keep; older ones are deleted after each new one is saved.</summary>
    [Range(1, 1000)]
    public int Retain { get; set; } = 28;

    /// <summary>Size of the snapshot volume. The volume is never deleted by the operator, not even with the cluster.</summary>
    [RegularExpression(Patterns.Quantity)]
    public string Size { get; set; } = "10Gi";

    /// <summary>StorageClass of the snapshot volume; the cluster default when unset.</summary>
    [AtMost(253)]
    public string? StorageClassName { get; set; }
}

/// <summary>Consul's own metrics, which every agent serves at /v1/agent/metrics?format=prometheus.</summary>
public sealed class TelemetrySpec
{
    /// <summary>Keep metrics for Prometheus, and keep a scrape identity (client certificate and ACL token) for it.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long Consul keeps a metric for Prometheus after its last update; must be positive for Prometheus output.</summary>
    [RegularExpression(Patterns.Duration)]
    public string PrometheusRetentionTime { get; set; } = "1m";

    /// <summary>Leave the host name out of metric names, so that series of one metric line up across agents.</summary>
    public bool DisableHostname { get; set; } = true;

    /// <summary>A Grafana dashboard for this cluster, in a ConfigMap labelled for Grafana's dashboard sidecar.</summary>
    public bool Dashboard { get; set; }

    /// <summary>
    /// Prometheus Operator PodMonitors (monitoring.coreos.com/v1) that scrape every agent with the scrape identity: one for
    /// the servers, one for the clients, since each presents a certificate of its own name.
    /// </summary>
    public PrometheusOperatorObjectSpec? PodMonitor { get; set; }

    /// <summary>A Prometheus Operator PrometheusRule with alerts for this cluster's Consul.</summary>
    public PrometheusOperatorObjectSpec? PrometheusRule { get; set; }
}

/// <summary>An object for the Prometheus Operator, which finds it by its labels.</summary>
public sealed class PrometheusOperatorObjectSpec
{
    /// <summary>Create it.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Labels the Prometheus resource selects on (its podMonitorSelector or ruleSelector), e.g. release: kube-prometheus-stack.</summary>
    public Dictionary<string, string>? Labels { get; set; }
}

/// <summary>The Consul web UI, served by the servers over HTTPS.</summary>
public sealed class UiSpec
{
    /// <summary>Serve the UI and create its Service.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Type of the UI Service.</summary>
    public UiServiceType ServiceType { get; set; } = UiServiceType.ClusterIP;

    /// <summary>An Ingress to the UI Service, HTTPS to the servers.</summary>
    public UiIngressSpec? Ingress { get; set; }

    /// <summary>
    /// Let browsers reach the servers' HTTPS API directly (port-forward, a LoadBalancer UI Service) without a client
    /// certificate, which they cannot present, relying on ACL login instead. Off by default; the Ingress needs no such
    /// thing, since its controller presents a certificate the operator issues for it.
    /// </summary>
    public bool BrowserAccess { get; set; }
}

/// <summary>A networking.k8s.io/v1 Ingress to the UI.</summary>
public sealed class UiIngressSpec
{
    /// <summary>The IngressClass (ingressClassName).</summary>
    [AtMost(253)]
    public string? ClassName { get; set; }

    /// <summary>The host name browsers use.</summary>
    [Required, RegularExpression(Patterns.DnsName), AtMost(253)]
    public string Host { get; set; } = "";

    /// <summary>A Secret with the certificate the Ingress serves to browsers for that host.</summary>
    [RegularExpression(Patterns.DnsName), AtMost(253)]
    public string? TlsSecretName { get; set; }

    /// <summary>Annotations for the Ingress controller; they win over the ones the operator sets for ingress-nginx.</summary>
    public Dictionary<string, string>? Annotations { get; set; }
}

/// <summary>One server as autopilot reports it.</summary>
public sealed class ServerStatus
{
    /// <summary>The server's node (pod) name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Whether it is the raft leader.</summary>
    public bool Leader { get; set; }

    /// <summary>Whether it votes in raft.</summary>
    public bool Voter { get; set; }

    /// <summary>Whether autopilot calls it healthy.</summary>
    public bool Healthy { get; set; }

    /// <summary>The index of its last raft log entry.</summary>
    public long LastIndex { get; set; }

    /// <summary>The raft term of that entry.</summary>
    public long LastTerm { get; set; }

    /// <summary>Since when autopilot has seen it healthy.</summary>
    public DateTime? StableSince { get; set; }

    /// <summary>Since when it trails the leader by more than autopilot's default max_trailing_logs (250 entries).</summary>
    public DateTime? LaggingSince { get; set; }
}

/// <summary>The steps of a recovery, as the operator took them.</summary>
public enum RecoveryPhase
{
    /// <summary>Not started: the message says what it waits for (the outage to last minOutage, a survivor to answer, the servers to list).</summary>
    Waiting,

    /// <summary>Not run, and never will be: raft had a leader when the request came. Set a new request if quorum is lost again.</summary>
    Refused,

    /// <summary>The listed servers restart one at a time, each with raft/peers.json copied in before Consul starts.</summary>
    Restarting,

    /// <summary>Every listed server restarted; waiting for raft to elect a leader.</summary>
    WaitingForLeader,

    /// <summary>Raft has a leader again; the peers.json input is removed, and the servers without raft data join through the leader.</summary>
    Completed,
}

/// <summary>One server of a recovery: what its peers.json entry says, and which pod it had when the recovery started.</summary>
public sealed class RecoveryPeer
{
    /// <summary>The server pod.</summary>
    public string Pod { get; set; } = "";

    /// <summary>Its raft (node) ID, as the server reported it.</summary>
    public string Id { get; set; } = "";

    /// <summary>Its raft address in the other servers' peers.json: the pod's DNS name and server RPC port, which stay when the pod is replaced (its IP does not); its own peers.json lists its new pod's IP.</summary>
    public string Address { get; set; } = "";

    /// <summary>The UID of its pod when the recovery started: a pod with another UID has been restarted with the input.</summary>
    public string PodUid { get; set; } = "";

    /// <summary>The last raft index it reported when the recovery started.</summary>
    public long LastIndex { get; set; }
}

/// <summary>A recovery of raft on request (spec.recovery): each step is recorded before the next is taken, so that it resumes where it was.</summary>
public sealed class RecoveryStatus
{
    /// <summary>The spec.recovery.request value this describes.</summary>
    public string Request { get; set; } = "";

    /// <summary>Waiting, Refused, Restarting, WaitingForLeader or Completed.</summary>
    public RecoveryPhase Phase { get; set; }

    /// <summary>What happens now, or why nothing does, and what a human may do.</summary>
    public string Message { get; set; } = "";

    /// <summary>The servers that become the only voters, fixed when the recovery started.</summary>
    public List<RecoveryPeer>? Peers { get; set; }

    /// <summary>When the first server was about to restart.</summary>
    public DateTime? StartedAt { get; set; }

    /// <summary>When raft had a leader again.</summary>
    public DateTime? CompletedAt { get; set; }
}

/// <summary>What the operator last observed of the cluster.</summary>
public sealed class ConsulClusterStatus
{
    /// <summary>The metadata.generation the status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready, Progressing, Degraded, TLSReady, DNSReady, ConsulHealthy, ACLReady.</summary>
    public List<V1Condition>? Conditions { get; set; }

    /// <summary>bootstrap_expect as fixed at the first bootstrap; later scaling does not change it.</summary>
    public int? BootstrapExpect { get; set; }

    /// <summary>Server pods ready.</summary>
    public int? ReadyServers { get; set; }

    /// <summary>Client pods ready.</summary>
    public int? ReadyClients { get; set; }

    /// <summary>The raft leader, as Consul reports it.</summary>
    public string? Leader { get; set; }

    /// <summary>Raft peers (node names), as Consul reports them.</summary>
    public List<string>? RaftPeers { get; set; }

    /// <summary>Raft voters among the peers.</summary>
    public int? Voters { get; set; }

    /// <summary>How many servers may fail without losing quorum, as autopilot reports it.</summary>
    public int? FailureTolerance { get; set; }

    /// <summary>Each server as autopilot last reported it: leader, voter, health, raft index and term.</summary>
    public List<ServerStatus>? Servers { get; set; }

    /// <summary>
    /// When the servers' raft indexes and terms were read. They move with every write to Consul, so alone they are
    /// written at most every 5 minutes; any other change to a server is written at once.
    /// </summary>
    public DateTime? ServersObservedAt { get; set; }

    /// <summary>Gossip members (servers and clients) alive.</summary>
    public int? AliveMembers { get; set; }

    /// <summary>Gossip members failed: gone without leaving.</summary>
    public int? FailedMembers { get; set; }

    /// <summary>ClusterIP of the DNS Service that CoreDNS forwards to.</summary>
    public string? DnsServiceIP { get; set; }

    /// <summary>The spec.gossip.rotation value whose key rotation completed.</summary>
    public string? GossipRotation { get; set; }

    /// <summary>Since when raft has been without a leader with too few voters left to elect one (Degraded reason QuorumLost).</summary>
    public DateTime? QuorumLostSince { get; set; }

    /// <summary>The last recovery asked for in spec.recovery, and how far it got.</summary>
    public RecoveryStatus? Recovery { get; set; }

    /// <summary>When the CA expires.</summary>
    public DateTime? CaNotAfter { get; set; }

    /// <summary>When the first agent certificate expires.</summary>
    public DateTime? LeafNotAfter { get; set; }
}
