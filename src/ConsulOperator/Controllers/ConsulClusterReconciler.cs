using ConsulOperator.Api.PrometheusOperator;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Hosting;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>
/// Makes the objects of a ConsulCluster match its spec: validate, gather key material, build the desired objects,
/// apply what differs, forward DNS, report status. It compares and acts; every decision lives in a pure function.
/// </summary>
public sealed class ConsulClusterReconciler(
    KubeApi api, ClusterObjects objects, OperatorCaches caches, CoreDnsForwarding dns, ConsulConnections consul, ConsulAcl acl, GossipRotation gossip, EventRecorder events, OperatorMetrics metrics,
    OperatorOptions options, ParsedSecrets parsed, TimeProvider time, ILogger<ConsulClusterReconciler> logger)
    : IReconciler
{
    /// <summary>Held while our CoreDNS patch may be in place: the ConfigMap is not ours, so nothing else would clean it up.</summary>
    public const string DnsFinalizer = "consul.operator.dev/dns-forwarding";

    public string Name => "consulcluster";

    public async Task<ReconcileResult> ReconcileAsync(string ns, string name, CancellationToken cancel)
    {
        var cluster = caches.Clusters.Find(ns, name);
        if (cluster is null)
        {
            metrics.ClusterGone(ns, name);
            parsed.Forget(ns, $"{name}-");
            consul.Forget(ns, name);
            acl.Forget(ns, name);
            return ReconcileResult.Done;
        }

        if (cluster.Metadata.DeletionTimestamp is not null)
        {
            await FinalizeAsync(cluster, cancel);
            return ReconcileResult.Done;
        }

        var secretsRead = caches.KeySecrets(ns);
        var problems = ConfigValidation.Validate(cluster).Concat(AdoptedSecrets.Problems(cluster, secretsRead, time.GetUtcNow(), parsed)).ToList();
        if (problems.Count > 0)
        {
            await RefuseAsync(cluster, "InvalidSpec", string.Join("; ", problems), cancel);
            return ReconcileResult.Done;
        }

        var names = KeyMaterialSecrets.NamesOf(cluster);
        ExistingKeyMaterial existing;
        try
        {
            existing = KeyMaterialSecrets.Read(cluster, secretsRead, parsed);
        }
        catch (KeyMaterialException e)
        {
            await RefuseAsync(cluster, "KeyMaterialUnusable", $"{e.Message}. The operator never replaces an existing CA or gossip key; restore the Secret from a backup, or delete it (a CA's together with ConfigMap {names.CaCertificateConfigMap}) to start a new datacenter", cancel);
            return ReconcileResult.Done;
        }

        var sourceChanges = AdoptedSecrets.SourceChanges(cluster, existing, caches.ConfigMaps.Find(ns, names.CaCertificateConfigMap), caches.StatefulSets.Find(ns, names.Servers), secretsRead);
        if (sourceChanges.Count > 0)
        {
            await RefuseAsync(cluster, "KeyMaterialSourceChanged", string.Join("; ", sourceChanges), cancel);
            return ReconcileResult.Done;
        }

        if (OutsideServers.MergeRefusal(cluster, caches.ConfigMaps.Find(ns, names.ServerConfigMap)) is { } merge)
        {
            await RefuseAsync(cluster, "JoinWouldMergeDatacenters", merge, cancel);
            return ReconcileResult.Done;
        }

        if (cluster.Spec.Dns.CoreDns.Patch)
        {
            cluster = await api.AddFinalizerAsync(cluster, DnsFinalizer, cancel);
        }

        var requirements = KeyMaterialSecrets.Requirements(cluster);
        var plan = KeyMaterialPlanner.Plan(existing, requirements, time);
        // One Event per reason and reconcile: a new cluster issues a dozen certificates, not a dozen Events.
        foreach (var group in plan.Changes.GroupBy(c => c.Reason))
        {
            await events.RecordAsync(cluster, EventRecorder.Normal, $"Certificate{group.Key}", string.Join("; ", group.Select(c => $"{c.Subject}: {c.Message}")), cancel);
        }

        var (observation, aclOutcome, consulClient) = await AskConsulAsync(cluster, plan.Material, cancel);
        var recovery = await StepRecoveryAsync(cluster, observation, cancel);

        // The server step first; everything built and checked after reads it.
        var (servers, scaling) = await StepServerScalingAsync(cluster, observation, consulClient, cancel);
        var desired = DesiredState.Build(cluster, plan.Material, servers);
        // Secrets hold key material built from what was read above: written only while they are still what was read.
        var readVersions = secretsRead.ToDictionary(s => s.Metadata.Name, s => s.Metadata.ResourceVersion);
        await objects.ApplyAsync(cluster, desired, secret => new ComputedFrom(readVersions.GetValueOrDefault(secret)), cancel);

        // One operation on the agents at a time: scaling, then pod restarts, then a gossip key rotation.
        var waiting = recovery.Waiting ?? scaling ?? await RollPodsAsync(cluster, plan.Material, servers, observation, cancel);
        var gossipRotation = new GossipRotationOutcome(cluster.Status?.GossipRotation, null);
        if (waiting is null && consulClient is not null && ClusterStatus.AssessConsul(cluster.Spec.Servers.Replicas, observation, names).Healthy)
        {
            // Only on a settled, healthy cluster: an agent restarting mid-rotation could start with a key the others dropped.
            gossipRotation = await gossip.EnsureAsync(cluster, consulClient, cancel);
            waiting = gossipRotation.Waiting;
        }

        var dnsIp = caches.Services.Find(ns, names.DnsService)?.Spec?.ClusterIP;
        var dnsOutcome = await dns.EnsureAsync(cluster, dnsIp, cancel);
        if (!dnsOutcome.Ready && dnsOutcome.Reason != "WaitingForServiceIP")
        {
            await events.RecordAsync(cluster, EventRecorder.Warning, dnsOutcome.Reason, dnsOutcome.Message, cancel);
        }

        if (aclOutcome.Reason == ConsulAcl.BootstrappedElsewhere)
        {
            await events.RecordAsync(cluster, EventRecorder.Warning, aclOutcome.Reason, aclOutcome.Message, cancel);
        }

        var status = ClusterStatus.Observe(
            cluster, plan.Material, servers.BootstrapExpect, caches.StatefulSets.Find(ns, names.Servers), caches.StatefulSets.Find(ns, names.Clients), dnsIp, dnsOutcome,
            observation, aclOutcome, waiting, time.GetUtcNow(), options.RaftIndexRefresh);
        status.GossipRotation = gossipRotation.Completed;
        status.Recovery = recovery.Status;

        // A lost quorum needs a human: said where people look too, as the status decided it, and never acted on here.
        if (Conditions.Find(status.Conditions, Conditions.Degraded) is { Status: "True", Reason: QuorumLoss.Lost } lost)
        {
            await events.RecordAsync(cluster, EventRecorder.Warning, lost.Reason, lost.Message, cancel);
        }

        await WriteStatusAsync(cluster, status, cancel);
        metrics.ClusterReady(ns, name, Conditions.IsTrue(status.Conditions, Conditions.Ready));
        metrics.Consul(ns, name, new ConsulView(
            observation.LeaderAddress is not null,
            // What autopilot just said: status may hold older indexes that moved alone (RaftLag.Settle).
            observation.Autopilot is { } autopilot
                ? [.. autopilot.Servers.Select(s => new ServerView(s.Name, s.Voter, (long)s.LastIndex))]
                : [.. (status.Servers ?? []).Select(s => new ServerView(s.Name, s.Voter, s.LastIndex))],
            observation.Members.GroupBy(m => m.StatusName).ToDictionary(g => g.Key, g => g.Count())));
        metrics.CertificateExpiry(ns, name, "ca", plan.Material.Ca.NotAfter);
        var firstLeafExpiry = plan.Material.Leaves.Values.Min(l => l.NotAfter);
        metrics.CertificateExpiry(ns, name, "leaf", firstLeafExpiry);

        return ReconcileResult.After(NextLook(firstLeafExpiry - requirements.RotateBefore - time.GetUtcNow(), observation.Asked, Conditions.IsTrue(status.Conditions, ClusterStatus.ConsulHealthy)));
    }

    private static readonly TimeSpan UnhealthyPollInterval = TimeSpan.FromSeconds(5);

    // Come back when the first certificate enters its rotation window, to ask Consul again (sooner while it is unhealthy),
    // and at least every resync period; never sooner than a second.
    private TimeSpan NextLook(TimeSpan untilRotation, bool consulAsked, bool consulHealthy)
    {
        var poll = !consulAsked ? options.ResyncPeriod : consulHealthy ? options.ConsulPollInterval : TimeSpan.FromTicks(Math.Min(options.ConsulPollInterval.Ticks, UnhealthyPollInterval.Ticks));
        var next = new[] { untilRotation, poll, options.ResyncPeriod }.Min();
        return TimeSpan.FromTicks(Math.Max(next.Ticks, TimeSpan.FromSeconds(1).Ticks));
    }

    // Once a server's container runs there is someone to ask (readiness itself waits for a leader): keep the ACLs set
    // up, then see what Consul sees. Without a leader, ask every server for its own raft state instead.
    private async Task<(ConsulObservation Observation, AclOutcome Acl, ConsulClient? Client)> AskConsulAsync(V1Alpha1ConsulCluster cluster, KeyMaterial material, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var spec = cluster.Spec;
        var running = AgentPods(names, Components.Server).Where(p => p.Running).ToList();
        if (running.Count == 0)
        {
            return (ConsulObservation.NotAsked, spec.Acl.Enabled ? new AclOutcome(false, "WaitingForServers", "no server pod is running to ask") : AclOutcome.Disabled, null);
        }

        var anonymous = consul.For(names, spec.Datacenter, spec.Domain, material.Ca, material.Leaves[names.CliSecret], null);
        AclOutcome aclOutcome;
        string? leader;
        try
        {
            leader = await anonymous.LeaderAsync(cancel);
            if (leader is null)
            {
                return await SurveyAsync(cluster, anonymous, running, cancel);
            }

            aclOutcome = await acl.EnsureAsync(cluster, anonymous, leader, cancel);
        }
        catch (ConsulApiException e)
        {
            return (ConsulObservation.Unreachable(e.Message), new AclOutcome(false, "ConsulUnreachable", e.Message), null);
        }

        var client = aclOutcome.OperatorToken is null ? anonymous : anonymous.WithToken(aclOutcome.OperatorToken);
        var observation = await ConsulObservation.ObserveAsync(client, leader, cancel);
        if (aclOutcome.AgentTokens is not null && observation.Problem is null)
        {
            try
            {
                await acl.DeliverAgentTokensAsync(cluster, client, aclOutcome, observation.AliveAgents, cancel);
            }
            catch (ConsulApiException e)
            {
                // An agent between restarts; the next reconcile hands it over, or it reads it from the Secret at start.
                logger.LogWarning("Could not hand an agent its ACL token yet: {Problem}", e.Message);
            }
        }

        return (observation, aclOutcome, client);
    }

    // No leader: nothing ACL-related can change now, so the operator token already stored (if any) reads each server's
    // own view, which tells a finishing election from a lost quorum.
    private async Task<(ConsulObservation Observation, AclOutcome Acl, ConsulClient? Client)> SurveyAsync(
        V1Alpha1ConsulCluster cluster, ConsulClient anonymous, List<AgentPod> running, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var token = cluster.Spec.Acl.Enabled ? acl.StoredOperatorToken(names) : null;
        var client = token is null ? anonymous : anonymous.WithToken(token);
        var aclOutcome = cluster.Spec.Acl.Enabled ? new AclOutcome(false, "WaitingForLeader", "ACLs are bootstrapped and kept while raft has a leader", OperatorToken: token) : AclOutcome.Disabled;
        var survey = await QuorumSurvey.TakeAsync(client, running.OrderBy(p => p.Ordinal).Select(p => (p.Name, ConsulEndpoints.Agent(names, p.Name))), cancel);
        var observation = await ConsulObservation.ObserveAsync(client, null, cancel);
        return (observation with { Survey = survey }, aclOutcome, client);
    }

    // A recovery on request: record each step before taking the next, restart at most one listed server per reconcile.
    private async Task<OutageRecovery> StepRecoveryAsync(V1Alpha1ConsulCluster cluster, ConsulObservation observation, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var current = cluster.Status?.Recovery;
        var input = caches.ConfigMaps.Find(names.Namespace, names.RecoveryConfigMap);
        var step = OutageRecovery.Decide(
            cluster.Spec.Recovery, current, observation, cluster.Status?.QuorumLostSince, AgentPods(names, Components.Server),
            current is not null && input?.Data is { } data && data.TryGetValue(RecoveryInput.RequestKey, out var request) && request == current.Request, names, time.GetUtcNow());
        if (step.Restart is { } pod)
        {
            logger.LogWarning("Recovery {Request}: restarting {Pod} with raft/peers.json", step.Status!.Request, pod);
            await api.DeleteAsync<V1Pod>(names.Namespace, pod, cancel);
        }

        if (step.Status is { } next && (next.Phase != current?.Phase || next.Message != current.Message || next.Request != current.Request))
        {
            var warning = next.Phase is RecoveryPhase.Waiting or RecoveryPhase.Refused;
            await events.RecordAsync(cluster, warning ? EventRecorder.Warning : EventRecorder.Normal, $"Recovery{next.Phase}", $"recovery {next.Request}: {next.Message}", cancel);
        }

        return step;
    }

    // Servers come and go one at a time, each step only with a leader and every server a healthy voter; the plan of servers
    // to run now, and what the step waits for.
    private async Task<(ServerPlan Plan, string? Waiting)> StepServerScalingAsync(
        V1Alpha1ConsulCluster cluster, ConsulObservation observation, ConsulClient? client, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var live = caches.StatefulSets.Find(cluster.Metadata.NamespaceProperty, names.Servers);
        var settled = live?.Status?.ReadyReplicas == live?.Spec?.Replicas && live?.Status?.ObservedGeneration >= live?.Metadata.Generation;
        var step = ServerScalingStep.Decide(live?.Spec?.Replicas, cluster.Spec.Servers.Replicas, settled, observation, names);
        if (step.DeadPeer is { } dead && client is not null)
        {
            await client.RemoveRaftPeerAsync(dead.ID, cancel);

            // And out of the member list, where a failed member would otherwise linger for days.
            await client.ForceLeaveAsync(dead.Node, prune: true, cancel);
            await events.RecordAsync(cluster, EventRecorder.Normal, "RaftPeerRemoved", $"removed {dead.Node} ({dead.Address}), whose pod is gone, from raft and the member list", cancel);
        }

        if (step.Leaving is { } leaving)
        {
            // A step down is only decided on a healthy observation, which came with a client.
            var leaver = client ?? throw new InvalidOperationException($"no Consul client to ask {leaving} to leave");
            await leaver.LeaveAsync(ConsulEndpoints.Agent(names, leaving), cancel);
            await events.RecordAsync(cluster, EventRecorder.Normal, "ServerLeft", $"{leaving} left gossip and raft; removing its pod", cancel);
        }

        var voters = observation.Leader is null ? cluster.Status?.Voters : observation.Raft.Servers.Count(s => s.Voter);
        return (ServerPlan.AtRest(cluster) with { Current = step.Replicas, Voters = voters }, step.Waiting);
    }

    // Restart the next agent pod that is due (new template, renewed certificate), if Consul can take it now.
    private async Task<string?> RollPodsAsync(V1Alpha1ConsulCluster cluster, KeyMaterial material, ServerPlan plan, ConsulObservation observation, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var ns = names.Namespace;
        var servers = caches.StatefulSets.Find(ns, names.Servers);
        var clients = caches.StatefulSets.Find(ns, names.Clients);
        if (servers?.Status?.UpdateRevision is null || !observation.Asked)
        {
            return null;
        }

        var roll = PodRoll.Decide(
            AgentPods(names, Components.Server), AgentPods(names, Components.Client), servers.Status.UpdateRevision, clients?.Status?.UpdateRevision,
            pod => material.Leaves.GetValueOrDefault($"{pod}-tls")?.IssuedAt, plan.Current, observation, names);
        if (roll.Restart is { } pod)
        {
            logger.LogInformation("Restarting {Pod}: it {Reason}", pod, roll.Reason);
            await api.DeleteAsync<V1Pod>(ns, pod, cancel);
            await events.RecordAsync(cluster, EventRecorder.Normal, "RestartingPod", $"{pod} {roll.Reason}; restarting it", cancel);
            return $"restarting {pod}, which {roll.Reason}";
        }

        return roll.Waiting;
    }

    private List<AgentPod> AgentPods(Names names, string component) =>
        [.. caches.Pods.List(names.Namespace)
            .Where(p => Label(p, Labels.Instance) == names.Cluster && Label(p, Labels.Component) == component)
            .Select(p => new AgentPod(
                p.Metadata.Name,
                names.ParsePod(p.Metadata.Name)?.Ordinal ?? -1,
                Label(p, "controller-revision-hash"),
                p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true,
                p.Metadata.CreationTimestamp is { } created ? new DateTimeOffset(created, TimeSpan.Zero) : DateTimeOffset.MinValue,
                p.Status?.ContainerStatuses?.Any(c => c.State?.Running is not null) == true,
                p.Metadata.Uid))];

    private static string? Label(V1Pod pod, string key) => pod.Metadata.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;

    private async Task FinalizeAsync(V1Alpha1ConsulCluster cluster, CancellationToken cancel)
    {
        metrics.ClusterGone(cluster.Metadata.NamespaceProperty, cluster.Metadata.Name);
        if (cluster.Metadata.Finalizers?.Contains(DnsFinalizer) != true)
        {
            return;
        }

        await dns.RemoveAsync(cluster, cancel);
        await api.RemoveFinalizerAsync(cluster, DnsFinalizer, cancel);
        logger.LogInformation("Removed the DNS forwarding of {Namespace}/{Name} and released it", cluster.Metadata.NamespaceProperty, cluster.Metadata.Name);
    }

    // Bad input: say what and why, in status and as an Event, and touch nothing else.
    private async Task RefuseAsync(V1Alpha1ConsulCluster cluster, string reason, string message, CancellationToken cancel)
    {
        logger.LogWarning("Refusing {Namespace}/{Name}: {Reason}: {Message}", cluster.Metadata.NamespaceProperty, cluster.Metadata.Name, reason, message);
        await events.RecordAsync(cluster, EventRecorder.Warning, reason, message, cancel);
        await WriteStatusAsync(cluster, ClusterStatus.Refused(cluster, reason, message, time.GetUtcNow()), cancel);
        metrics.ClusterReady(cluster.Metadata.NamespaceProperty, cluster.Metadata.Name, false);
    }

    private Task WriteStatusAsync(V1Alpha1ConsulCluster cluster, ConsulClusterStatus status, CancellationToken cancel) =>
        api.WriteStatusAsync<V1Alpha1ConsulCluster, ConsulClusterStatus>(cluster, status, cancel);
}
