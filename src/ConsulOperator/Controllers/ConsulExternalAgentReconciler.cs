using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Hosting;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>
/// Keeps a ConsulExternalAgent's bundle: its agent token through a ConsulACLToken of its own (which keeps the token in
/// Consul and revokes it when it goes), its certificate renewed on the pods' policy, and the files built from both, the
/// cluster's gossip key and the servers' current addresses. Status says when the bundle changed, and whether the node is
/// a member. Deletion force-leaves the node; the token goes with its ConsulACLToken.
/// </summary>
public sealed class ConsulExternalAgentReconciler(
    KubeApi api, Applier applier, OperatorCaches caches, ClusterConnections clusters, ParsedSecrets parsed, EventRecorder events, OperatorOptions options, TimeProvider time,
    ILogger<ConsulExternalAgentReconciler> logger) : IReconciler
{
    /// <summary>Held while the node may be a member of the datacenter, which Kubernetes garbage collection cannot reach.</summary>
    public const string Finalizer = "consul.operator.dev/external-agent";

    public const string Joined = "Joined";

    private readonly AclObjectReports<V1Alpha1ConsulExternalAgent> reports = new(api, events, time, a => a.Status?.Conditions, (a, conditions, cancel) => WriteStatusAsync(api, a, conditions, null, cancel));

    public string Name => "consulexternalagent";

    public async Task<ReconcileResult> ReconcileAsync(string ns, string name, CancellationToken cancel)
    {
        var agent = caches.ExternalAgents.Find(ns, name);
        if (agent is null)
        {
            return ReconcileResult.Done;
        }

        var (connection, waiting) = clusters.For(ns, agent.Spec.ClusterRef, "machine's bundle");
        if (agent.Metadata.DeletionTimestamp is not null)
        {
            return await ReleaseAsync(agent, connection, waiting, cancel);
        }

        var cluster = connection?.Cluster ?? caches.Clusters.Find(ns, agent.Spec.ClusterRef.Name);
        var problems = ConsulExternalAgentValidator.Validate(agent)
            .Concat(cluster is null ? [] : ExternalAgents.Problems(agent, KeyMaterialSecrets.NamesOf(cluster), connection?.Ca))
            .ToList();
        if (problems.Count > 0)
        {
            return await reports.RefuseAsync(agent, "InvalidSpec", string.Join("; ", problems), cancel);
        }

        if (connection is null)
        {
            return await reports.WaitAsync(agent, waiting, cancel);
        }

        var secret = caches.Secrets.Find(ns, ConsulExternalAgentValidator.SecretName(agent));
        if (secret is not null && !ExternalAgents.IsOwnedBy(secret, agent))
        {
            return await reports.RefuseAsync(agent, "SecretNotOurs", $"Secret {ns}/{secret.Metadata.Name} exists and belongs to something else; the bundle is never written into it. Choose another spec.secretName", cancel);
        }

        agent = await api.AddFinalizerAsync(agent, Finalizer, cancel);
        var spec = connection.Cluster.Spec;
        try
        {
            var (token, tokenWait) = await AgentTokenAsync(agent, connection.Cluster, cancel);
            if (tokenWait is not null)
            {
                return await reports.WaitAsync(agent, tokenWait, cancel);
            }

            var members = await connection.Client.MembersAsync(connection.Client.Servers, cancel);
            var join = members.Where(m => m.IsServer && m.Status == AgentMember.Alive).OrderBy(m => m.Name, StringComparer.Ordinal).Select(JoinAddress).ToList();
            if (join.Count == 0)
            {
                return await reports.WaitAsync(agent, new("NoServers", "no server is an alive member; the bundle needs addresses to join through"), cancel);
            }

            var now = time.GetUtcNow();
            var files = secret is null ? null : ExternalAgents.Read(secret);
            var leaf = Certificate(agent, connection, files, secret, now);
            var gossipKey = spec.Gossip.Encryption ? KeyMaterialSecrets.Read(connection.Cluster, caches.KeySecrets(ns), parsed).GossipKey : null;
            var bundle = ExternalAgents.Bundle(agent, connection.Cluster, ExternalAgents.Files(agent, connection.Cluster, new(connection.Ca.CertificatePem, leaf, gossipKey, token?.SecretId, join)));
            var outcome = await applier.ApplyAsync(bundle, caches.Secrets, cancel, new ComputedFrom(secret?.Metadata.ResourceVersion));
            var changedAt = agent.Status?.BundleChangedAt;
            if (outcome != ApplyOutcome.Unchanged)
            {
                changedAt = now.UtcDateTime;
                var what = outcome == ApplyOutcome.Created ? "created" : "changed: copy it to the machine again";
                logger.LogInformation("ConsulExternalAgent {Namespace}/{Name}: bundle {What}", ns, name, what);
                await events.RecordAsync(agent, EventRecorder.Normal, "BundleUpdated", $"bundle in Secret {bundle.Metadata.Name} {what}", cancel);
            }

            var node = ConsulExternalAgentValidator.NodeName(agent);
            var member = members.FirstOrDefault(m => m.Name == node);
            var conditions = reports.Ready(agent, "BundleCurrent", $"the bundle in Secret {bundle.Metadata.Name} is current");
            conditions = member is { Status: AgentMember.Alive }
                ? Conditions.Set(conditions, Joined, true, "Alive", $"node {node} is an alive member", agent.Metadata.Generation, now)
                : Conditions.Set(conditions, Joined, false, member is null ? "NotJoined" : "NotAlive",
                    member is null ? $"node {node} has not joined; start the agent on the machine from the bundle" : $"node {node} is {member.StatusName}", agent.Metadata.Generation, now);
            await WriteStatusAsync(api, agent, conditions, new ConsulExternalAgentStatus
            {
                SecretName = bundle.Metadata.Name,
                BundleHash = bundle.Metadata.Annotations[ExternalAgents.BundleHashAnnotation],
                BundleChangedAt = changedAt,
                CertificateNotAfter = leaf.NotAfter.UtcDateTime,
                TokenAccessorID = token?.AccessorId,
                JoinAddresses = join,
                Member = member?.StatusName,
            }, cancel);

            // Back when the certificate is due, and on the poll interval for membership and server addresses.
            var renewAt = leaf.NotAfter - RotateBefore(spec);
            var poll = options.ConsulPollInterval;
            return ReconcileResult.After(renewAt - now < poll ? renewAt > now ? renewAt - now : TimeSpan.FromSeconds(1) : poll);
        }
        catch (ConsulApiException e)
        {
            return await reports.ConsulErrorAsync(agent, e, cancel);
        }
    }

    // The token's ConsulACLToken (and its node policy on versions without node identities) are kept as desired; the
    // token itself is read from that object's Secret once it is in Consul. None while ACLs are off.
    private async Task<(AclObjects.TokenSecret? Token, ClusterWait? Waiting)> AgentTokenAsync(V1Alpha1ConsulExternalAgent agent, V1Alpha1ConsulCluster cluster, CancellationToken cancel)
    {
        if (!cluster.Spec.Acl.Enabled)
        {
            return (null, null);
        }

        var servers = caches.OldestServerVersion(cluster);
        if (ExternalAgents.NodePolicy(agent, cluster, servers) is { } policy)
        {
            await applier.ApplyAsync(policy, caches.AclPolicies, cancel);
        }

        var desired = ExternalAgents.Token(agent, cluster, servers);
        await applier.ApplyAsync(desired, caches.AclTokens, cancel);
        var ns = agent.Metadata.NamespaceProperty;
        var token = caches.AclTokens.Find(ns, desired.Metadata.Name);
        var ready = Conditions.Find(token?.Status?.Conditions, Conditions.Ready);
        var stored = caches.Secrets.Find(ns, desired.Metadata.Name) is { } secret ? AclObjects.Read(secret, parsed) : null;
        if (token is null || ready is not { Status: "True" } || ready.ObservedGeneration != token.Metadata.Generation || stored is not { State: AclObjects.Done })
        {
            var why = ready is null ? "is not in Consul yet" : $"is not ready ({ready.Reason}: {ready.Message})";
            return (null, new("TokenNotReady", $"the agent token ConsulACLToken {ns}/{desired.Metadata.Name} {why}; the bundle waits for it"));
        }

        return (stored, null);
    }

    // Issued when missing, unreadable, from another CA, for other names or due for renewal, on the pods' policy.
    private IssuedCertificate Certificate(V1Alpha1ConsulExternalAgent agent, ClusterConnection connection, IReadOnlyDictionary<string, string>? files, V1Secret? secret, DateTimeOffset now)
    {
        var spec = connection.Cluster.Spec;
        var current = files is null ? null : parsed.GetOrParse(secret!, () => LeafState.Read(
            files.GetValueOrDefault(ExternalAgents.CertificateFile), files.GetValueOrDefault(ExternalAgents.KeyFile), $"Secret {secret!.Metadata.Name}"));
        var wanted = ExternalAgents.Certificate(agent, spec);
        return ReissuePolicy.Evaluate(new ReissueInput(current, wanted, connection.Ca, RotateBefore(spec), now)) is null && current?.Certificate is { } kept
            ? kept
            : connection.Ca.Issue(wanted, spec.Tls.LeafValidityDays, time);
    }

    private static TimeSpan RotateBefore(ConsulClusterSpec spec) => GoDuration.TryParse(spec.Tls.RotateBefore, out var before) ? before : TimeSpan.Zero;

    // retry_join takes an address with the port only when it is not the default LAN port (IPv6 in brackets then).
    private static string JoinAddress(AgentMember member)
    {
        if (member.Port == AgentConfig.SerfLanPort)
        {
            return member.Addr;
        }

        var host = IPAddress.TryParse(member.Addr, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{member.Addr}]" : member.Addr;
        return $"{host}:{member.Port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// Deletion: a node that is down is force-left and pruned from the member list before the finalizer goes; the token
    /// goes with its ConsulACLToken. An agent still running on the machine refutes a force-leave (hashicorp/serf
    /// handleNodeLeaveIntent), so it is left to the machine's people, with a Warning; one that never joined needs nothing.
    /// </summary>
    private Task<ReconcileResult> ReleaseAsync(V1Alpha1ConsulExternalAgent agent, ClusterConnection? connection, ClusterWait waiting, CancellationToken cancel)
    {
        var node = ConsulExternalAgentValidator.NodeName(agent);
        Func<ConsulClient, CancellationToken, Task>? leave = clusters.Stands(agent.Metadata.NamespaceProperty, agent.Spec.ClusterRef)
            ? async (client, c) =>
            {
                var member = (await client.MembersAsync(client.Servers, c)).FirstOrDefault(m => m.Name == node);
                if (member is { Status: AgentMember.Alive })
                {
                    await events.RecordAsync(agent, EventRecorder.Warning, "StillRunning",
                        $"node {node} is an alive member: its agent still runs on the machine, and its token is being deleted; stop it there with 'consul leave'", c);
                }
                else if (member is not null)
                {
                    await client.ForceLeaveAsync(node, prune: true, c);
                }
            }
        : null;
        return reports.ReleaseAsync(agent, Finalizer, $"node {node}", leave, connection, waiting, cancel);
    }

    private static Task WriteStatusAsync(KubeApi api, V1Alpha1ConsulExternalAgent agent, List<V1Condition> conditions, ConsulExternalAgentStatus? observed, CancellationToken cancel)
    {
        var status = observed ?? new ConsulExternalAgentStatus
        {
            SecretName = agent.Status?.SecretName,
            BundleHash = agent.Status?.BundleHash,
            BundleChangedAt = agent.Status?.BundleChangedAt,
            CertificateNotAfter = agent.Status?.CertificateNotAfter,
            TokenAccessorID = agent.Status?.TokenAccessorID,
            JoinAddresses = agent.Status?.JoinAddresses,
            Member = agent.Status?.Member,
        };
        status.ObservedGeneration = agent.Metadata.Generation;
        status.Conditions = conditions;
        return api.WriteStatusAsync<V1Alpha1ConsulExternalAgent, ConsulExternalAgentStatus>(agent, status, cancel);
    }
}
