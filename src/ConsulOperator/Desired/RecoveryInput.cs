using System.Text.Json;
using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// What a recovery gives the servers it resets: a ConfigMap with each listed server's raft/peers.json while the recovery
/// runs, and an init container, always in the server template, that copies the file for its own pod into the data
/// directory before Consul starts. Keeping the container when there is nothing to copy leaves the template, and so the
/// pods, alone when a recovery starts or ends. Once it ends the ConfigMap's files are emptied rather than the ConfigMap
/// deleted, since a grant to delete ConfigMaps would cover every ConfigMap the operator can read, CoreDNS's included.
/// </summary>
public static class RecoveryInput
{
    public const string RequestKey = "request";
    public const string VolumeName = "recovery";
    public const string MountPath = "/consul/recovery";

    /// <summary>
    /// Where the init container notes the request whose peers.json it delivered. Consul deletes peers.json once it has
    /// recovered (agent/consul/server.go setupRaft), but a pod restarted while the input is still there would copy it
    /// again and reset raft a second time, dropping every server that joined since: the note makes it once per request.
    /// </summary>
    public const string DeliveredFile = AgentConfig.DataDirectory + "/recovery-request";

    public static string FileFor(string pod) => $"{pod}.json";

    /// <summary>The input of the recovery status.recovery describes: the peers while its servers restart or wait for a leader, empty files once it ended; none before the first recovery started.</summary>
    public static V1ConfigMap? ConfigMap(V1Alpha1ConsulCluster cluster)
    {
        if (cluster.Status?.Recovery is not { Peers: { Count: > 0 } peers } recovery)
        {
            return null;
        }

        var data = new Dictionary<string, string> { [RequestKey] = recovery.Request };
        var protocol = RaftProtocol(cluster.Spec);
        // Emptied, not left out: what the operator applies only adds to a live object's data.
        var running = recovery.Phase is RecoveryPhase.Restarting or RecoveryPhase.WaitingForLeader;
        foreach (var peer in peers)
        {
            data[FileFor(peer.Pod)] = running ? PeersJson(peers, peer.Pod, protocol) : "";
        }

        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = ObjectMetadata.For(cluster, KeyMaterialSecrets.NamesOf(cluster).RecoveryConfigMap, Components.Server),
            Data = data,
        };
    }

    /// <summary>Stands for the pod's own IP in its peers.json until the init container, which knows it, puts it in.</summary>
    public const string PodIpPlaceholder = "__POD_IP__";

    /// <summary>
    /// raft/peers.json for one server, as the servers' raft protocol reads it (agent/consul/server.go setupRaft): from
    /// protocol 3 on, hashicorp/raft ReadConfigJSON's entries of <c>id</c>, <c>address</c> and <c>non_voter</c>; before it,
    /// ReadPeersJSON's plain list of addresses. The server's own entry is its new pod's IP, the address it advertises and
    /// raft's leader address names, so that a leader is found in its own configuration; the others are DNS names, which
    /// still reach them after their pods are replaced, and which the leader rewrites to their IPs once elected
    /// (agent/consul/leader.go joinConsulServer).
    /// </summary>
    public static string PeersJson(IEnumerable<RecoveryPeer> peers, string pod, int raftProtocol)
    {
        string AddressOf(RecoveryPeer peer) => peer.Pod == pod ? $"{PodIpPlaceholder}:{AgentConfig.ServerRpcPort}" : peer.Address;
        var entries = raftProtocol < 3
            ? new JsonArray([.. peers.Select(p => (JsonNode)JsonValue.Create(AddressOf(p)))])
            : new JsonArray([.. peers.Select(p => (JsonNode)new JsonObject { ["id"] = p.Id, ["address"] = AddressOf(p), ["non_voter"] = false })]);
        return entries.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>raft_protocol defaults to 3 in every supported version (docs: agent configuration, raft_protocol); extraConfig may set it.</summary>
    public static int RaftProtocol(ConsulClusterSpec spec) =>
        spec.ExtraConfig?["raft_protocol"] is JsonValue value && value.TryGetValue<int>(out var protocol) ? protocol : 3;

    /// <summary>The ConfigMap as a volume that is empty while the ConfigMap does not exist: the pod starts either way.</summary>
    public static V1Volume Volume(Names names) => new()
    {
        Name = VolumeName,
        ConfigMap = new V1ConfigMapVolumeSource { Name = names.RecoveryConfigMap, Optional = true },
    };

    /// <summary>Runs as the agent does (image, user, read-only root), with the agent's data volume and the recovery input.</summary>
    public static V1Container InitContainer(V1Container agent) => new()
    {
        Name = "raft-recovery",
        Image = agent.Image,
        ImagePullPolicy = agent.ImagePullPolicy,
        Command = ["/bin/sh", "-ec", Script],
        Env = [.. agent.Env.Where(e => e.Name is AgentConfig.PodNameVariable or AgentConfig.PodIpVariable)],
        Resources = agent.Resources,
        VolumeMounts =
        [
            agent.VolumeMounts.First(m => m.MountPath == AgentConfig.DataDirectory),
            new V1VolumeMount { Name = VolumeName, MountPath = MountPath, ReadOnlyProperty = true },
        ],
        SecurityContext = agent.SecurityContext,
    };

    private static readonly string Script =
        $$"""
        input="{{MountPath}}/${{{AgentConfig.PodNameVariable}}}.json"
        if [ ! -s "$input" ]; then
          exit 0
        fi
        request="$(cat {{MountPath}}/{{RequestKey}})"
        if [ -f {{DeliveredFile}} ] && [ "$(cat {{DeliveredFile}})" = "$request" ]; then
          echo "raft/peers.json of recovery $request was put in place before; not again"
          exit 0
        fi
        mkdir -p {{AgentConfig.DataDirectory}}/raft
        sed "s/{{PodIpPlaceholder}}/${{{AgentConfig.PodIpVariable}}}/" "$input" > {{AgentConfig.DataDirectory}}/raft/peers.json
        printf '%s' "$request" > {{DeliveredFile}}
        echo "raft/peers.json of recovery $request put in place"
        """;
}
