using System.Collections.Concurrent;
using System.Text;
using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Runtime;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>Where a cluster's ACL setup stands, and the tokens the operator may use.</summary>
public sealed record AclOutcome(
    bool Ready, string Reason, string Message, string? ManagementToken = null, string? OperatorToken = null, IReadOnlyDictionary<string, string>? AgentTokens = null)
{
    public static readonly AclOutcome Disabled = new(true, "ACLsDisabled", "spec.acl.enabled is false");
}

/// <summary>
/// Bootstraps a cluster's ACLs exactly once and keeps the tokens a default-deny datacenter needs: the operator's own,
/// one per agent (node identities) and DNS read on the anonymous token. Every secret is chosen and stored in a Secret
/// before Consul is asked to accept it, so an operator killed between the two steps finishes the work next time.
/// </summary>
public sealed class ConsulAcl(KubeApi api, OperatorCaches caches, ILogger<ConsulAcl> logger)
{
    // The cluster's own token Secrets use the same keys and states as a ConsulACLToken's.
    public const string TokenKey = AclObjects.TokenKey;
    public const string StateKey = AclObjects.StateKey;
    public const string Pending = AclObjects.Pending;
    public const string Done = AclObjects.Done;
    public const string BootstrappedElsewhere = "AclBootstrappedElsewhere";

    // What was last set up completely per cluster: while it holds, a reconcile asks Consul nothing about ACLs.
    private readonly ConcurrentDictionary<string, string> settled = new();

    // Which token each running agent was handed, per cluster and pod.
    private readonly ConcurrentDictionary<string, string> delivered = new();

    public async Task<AclOutcome> EnsureAsync(V1Alpha1ConsulCluster cluster, ConsulClient consul, string? leader, CancellationToken cancel)
    {
        if (!cluster.Spec.Acl.Enabled)
        {
            return AclOutcome.Disabled;
        }

        var names = KeyMaterialSecrets.NamesOf(cluster);
        var adopted = AdoptedSecrets.ManagementToken(cluster);
        string management;
        if (adopted.Adopted)
        {
            // Checked when the reconcile began (AdoptedSecrets.Problems); only a deletion since then leaves nothing here.
            management = caches.FindKeySecret(names.Namespace, adopted.Secret) is { } secret ? KeyMaterialSecrets.Text(secret, adopted.Key) ?? "" : "";
        }
        else
        {
            var bootstrapSecret = await FindOrCreateAsync(cluster, names.AclBootstrapSecret, () => new() { [TokenKey] = NewSecretId(), [StateKey] = Pending }, cancel);
            management = KeyMaterialSecrets.Text(bootstrapSecret, TokenKey) ?? "";
            if (KeyMaterialSecrets.Text(bootstrapSecret, StateKey) != Done)
            {
                if (leader is null)
                {
                    return new AclOutcome(false, "WaitingForLeader", "ACLs are bootstrapped once raft has a leader");
                }

                var bootstrapped = await BootstrapAsync(cluster, consul, bootstrapSecret, management, cancel);
                if (!bootstrapped.Ready)
                {
                    return bootstrapped;
                }

                management = bootstrapped.ManagementToken!;
            }
        }

        var operatorSecret = await FindOrCreateAsync(cluster, names.AclOperatorSecret, () => new() { [TokenKey] = NewSecretId() }, cancel);
        var operatorToken = KeyMaterialSecrets.Text(operatorSecret, TokenKey)!;
        var agentTokens = await EnsureAgentTokensAsync(cluster, cancel);
        var metricsToken = cluster.Spec.Telemetry.Enabled
            ? KeyMaterialSecrets.Text(await FindOrCreateAsync(cluster, names.AclMetricsSecret, () => new() { [TokenKey] = NewSecretId() }, cancel), TokenKey)
            : null;

        var key = $"{names.Namespace}/{names.Cluster}";
        var servers = caches.OldestServerVersion(cluster);
        var fingerprint = string.Join("|", [servers.ToString(), management, operatorToken, metricsToken ?? "", .. agentTokens.OrderBy(t => t.Key).Select(t => $"{t.Key}={t.Value}")]);
        if (!settled.TryGetValue(key, out var last) || last != fingerprint)
        {
            var admin = consul.WithToken(management);
            if (adopted.Adopted && await AdoptedTokenProblemAsync(admin, adopted, leader, cancel) is { } refused)
            {
                return refused;
            }

            await EnsurePoliciesAsync(admin, AclPolicies.For(agentTokens.Keys, servers), cancel);
            await EnsureTokenAsync(admin, AclPolicies.OperatorToken(operatorToken), cancel);
            if (metricsToken is not null)
            {
                await EnsureTokenAsync(admin, AclPolicies.MetricsToken(metricsToken), cancel);
            }
            await EnsureAnonymousCanResolveAsync(admin, cancel);
            foreach (var (pod, secretId) in agentTokens)
            {
                await EnsureTokenAsync(admin, AclPolicies.AgentToken(pod, cluster.Spec.Datacenter, secretId, servers), cancel);
            }

            settled[key] = fingerprint;
            logger.LogInformation("ACL policies and tokens of {Namespace}/{Name} are in place ({Agents} agent tokens)", names.Namespace, names.Cluster, agentTokens.Count);
        }

        await RemoveTokensOfRemovedPodsAsync(cluster, consul.WithToken(management), agentTokens.Keys, cancel);

        return new AclOutcome(true, "TokensReady", $"bootstrapped; operator, DNS and {agentTokens.Count} agent tokens in place", management, operatorToken, agentTokens);
    }

    /// <summary>
    /// Hands each running agent its token through the API, once per pod and container start: no pod mounts agent tokens,
    /// so a new pod, or a container restarted without token persistence, gets it again.
    /// </summary>
    public async Task DeliverAgentTokensAsync(V1Alpha1ConsulCluster cluster, ConsulClient operatorClient, AclOutcome acl, IEnumerable<string> aliveAgents, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        foreach (var pod in aliveAgents)
        {
            var key = $"{names.Namespace}/{names.Cluster}/{pod}";
            var started = caches.Pods.Find(names.Namespace, pod) is { } running
                ? $"{running.Metadata.Uid}/{running.Status?.ContainerStatuses?.Sum(c => c.RestartCount) ?? 0}"
                : "";
            if (acl.AgentTokens?.TryGetValue(pod, out var secretId) != true)
            {
                continue;
            }

            var delivery = $"{started}/{secretId}";
            if (!delivered.TryGetValue(key, out var given) || given != delivery)
            {
                await operatorClient.SetAgentTokenAsync(ConsulEndpoints.Agent(names, pod), "agent", secretId!, cancel);
                delivered[key] = delivery;
            }
        }
    }

    public void Forget(string ns, string cluster)
    {
        settled.TryRemove($"{ns}/{cluster}", out _);
        foreach (var key in delivered.Keys.Where(k => k.StartsWith($"{ns}/{cluster}/", StringComparison.Ordinal)))
        {
            delivered.TryRemove(key, out _);
        }
    }

    private async Task<AclOutcome> BootstrapAsync(V1Alpha1ConsulCluster cluster, ConsulClient consul, V1Secret secret, string chosen, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        string accepted;
        try
        {
            accepted = (await consul.BootstrapAclAsync(chosen, cancel)).SecretID;
        }
        catch (ConsulApiException e) when (e.IsPermissionDenied)
        {
            // Bootstrapped before: by us, if Consul knows the secret we stored (we were stopped before recording it), else by someone else.
            if (await consul.WithToken(chosen).SelfTokenAsync(cancel) is null)
            {
                return new AclOutcome(false, BootstrappedElsewhere,
                    $"Consul says its ACLs were already bootstrapped ({e.Detail}), and Secret {names.AclBootstrapSecret} holds no token Consul accepts. " +
                    $"The operator never bootstraps twice. Either put the SecretID of a management token under key '{TokenKey}' of Secret {names.AclBootstrapSecret} " +
                    $"and set key '{StateKey}' to '{Done}', or reset the bootstrap (write the reset index from that message to <data_dir>/acl-bootstrap-reset on the leader) and set '{StateKey}' to '{Pending}'");
            }

            accepted = chosen;
        }
        catch (ConsulApiException e) when (e.IsNoLeader)
        {
            return new AclOutcome(false, "WaitingForLeader", "ACLs are bootstrapped once raft has a leader");
        }

        // Consul before 1.15 (hashicorp/consul PR #14437) ignores the secret we offered and makes its own; store whichever it accepted.
        var done = ObjectWrites.DeepCopy(secret);
        done.Data[TokenKey] = Encoding.UTF8.GetBytes(accepted);
        done.Data[StateKey] = Encoding.UTF8.GetBytes(Done);
        await api.ReplaceAsync(done, cancel);
        logger.LogInformation("Bootstrapped the ACLs of {Namespace}/{Name}; the management token is in Secret {Secret}", names.Namespace, names.Cluster, names.AclBootstrapSecret);
        return new AclOutcome(true, "Bootstrapped", "bootstrapped", accepted);
    }

    // An adopted token is never bootstrapped or replaced, only checked: Consul must know it, and it must be a management token.
    private static async Task<AclOutcome?> AdoptedTokenProblemAsync(ConsulClient admin, SecretKeySource adopted, string? leader, CancellationToken cancel)
    {
        if (leader is null)
        {
            return new AclOutcome(false, "WaitingForLeader", "the adopted management token is checked once raft has a leader");
        }

        var where = $"key '{adopted.Key}' of Secret {adopted.Secret} (spec.acl.bootstrapTokenSecretRef)";
        if (await admin.SelfTokenAsync(cancel) is not { } token)
        {
            return new AclOutcome(false, "AdoptedTokenNotAccepted",
                $"Consul does not accept the token in {where}. The operator never bootstraps a cluster whose management token is adopted: " +
                "store the SecretID of a management token of this datacenter there, or bootstrap the datacenter's ACLs with it");
        }

        if (token.Policies?.Any(p => p.ID == AclPolicies.GlobalManagementPolicyId) != true)
        {
            return new AclOutcome(false, "AdoptedTokenNotManagement",
                $"the token in {where} (accessor {token.AccessorID}) lacks the global-management policy; the operator writes policies and tokens, and the snapshot CronJob takes snapshots, with it");
        }

        return null;
    }

    private static async Task EnsurePoliciesAsync(ConsulClient admin, IReadOnlyList<NewAclPolicy> policies, CancellationToken cancel)
    {
        foreach (var wanted in policies)
        {
            var existing = await admin.PolicyByNameAsync(wanted.Name, cancel);
            if (existing is null)
            {
                await admin.CreatePolicyAsync(wanted, cancel);
            }
            else if (existing.Rules != wanted.Rules)
            {
                await admin.UpdatePolicyAsync(existing.ID, wanted, cancel);
            }
        }
    }

    // The SecretID is ours, so a token that exists already is ours from an earlier, interrupted reconcile.
    private static async Task EnsureTokenAsync(ConsulClient admin, NewAclToken token, CancellationToken cancel)
    {
        if (await admin.WithToken(token.SecretID).SelfTokenAsync(cancel) is not null)
        {
            return;
        }

        await admin.CreateTokenAsync(token, cancel);
    }

    // The leader creates the anonymous token when it first takes office (agent/consul/leader.go initializeACLs); it is
    // updated in place, keeping whatever policies someone else linked to it.
    private static async Task EnsureAnonymousCanResolveAsync(ConsulClient admin, CancellationToken cancel)
    {
        var anonymous = await admin.TokenAsync(AclPolicies.AnonymousTokenAccessor, cancel)
            ?? throw new InvalidOperationException($"Consul has no anonymous token ({AclPolicies.AnonymousTokenAccessor}) to give DNS read access; its leader creates one when ACLs are enabled");
        var policies = anonymous.Policies?.Select(p => p.Name).OfType<string>().ToList() ?? [];
        if (!policies.Contains(AclPolicies.DnsRead.Name))
        {
            await admin.UpdateTokenAsync(AclPolicies.AnonymousTokenAccessor, new NewAclToken(anonymous.Description ?? "Anonymous Token", NewAclToken.ByName([.. policies, AclPolicies.DnsRead.Name])), cancel);
        }
    }

    // One token per pod the spec asks for, each in a Secret of its own, chosen here and kept: a pod that comes back finds
    // the same token. Tokens from before (all in one Secret) are kept, never chosen anew.
    private async Task<Dictionary<string, string>> EnsureAgentTokensAsync(V1Alpha1ConsulCluster cluster, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var legacy = caches.Secrets.Find(names.Namespace, names.LegacyAclAgentSecret);
        var tokens = new Dictionary<string, string>();
        foreach (var pod in WantedAgents(cluster))
        {
            var earlier = legacy is null ? null : KeyMaterialSecrets.Text(legacy, pod);
            var secret = await FindOrCreateAsync(cluster, Names.AgentTokenSecret(pod), () => new() { [TokenKey] = earlier ?? NewSecretId() }, cancel);
            tokens[pod] = KeyMaterialSecrets.Text(secret, TokenKey)!;
        }

        // Every token it held lives on in a Secret of its own now.
        if (legacy is not null)
        {
            await api.DeleteAsync<V1Secret>(names.Namespace, names.LegacyAclAgentSecret, cancel);
            logger.LogInformation("Agent tokens of {Namespace}/{Name} moved into one Secret per pod; {Secret} deleted", names.Namespace, names.Cluster, names.LegacyAclAgentSecret);
        }

        return tokens;
    }

    private static IEnumerable<string> WantedAgents(V1Alpha1ConsulCluster cluster)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        return Enumerable.Range(0, cluster.Spec.Servers.Replicas).Select(i => names.Pod(Components.Server, i))
            .Concat(Enumerable.Range(0, cluster.Spec.Clients.Replicas).Select(i => names.Pod(Components.Client, i)));
    }

    // A pod scaled away for good (not wanted, and gone) takes its token with it: deleted from Consul, then its Secret.
    private async Task RemoveTokensOfRemovedPodsAsync(V1Alpha1ConsulCluster cluster, ConsulClient admin, IEnumerable<string> wanted, CancellationToken cancel)
    {
        var names = KeyMaterialSecrets.NamesOf(cluster);
        var keep = wanted.ToHashSet(StringComparer.Ordinal);
        foreach (var secret in caches.Secrets.List(names.Namespace))
        {
            var pod = secret.Metadata.Name.EndsWith(Names.AgentTokenSuffix, StringComparison.Ordinal) ? secret.Metadata.Name[..^Names.AgentTokenSuffix.Length] : null;
            if (pod is null || names.ParsePod(pod) is null || keep.Contains(pod) || caches.Pods.Find(names.Namespace, pod) is not null
                || secret.Metadata.OwnerReferences?.Any(o => o.Uid == cluster.Metadata.Uid) != true)
            {
                continue;
            }

            if (KeyMaterialSecrets.Text(secret, TokenKey) is { } secretId && await admin.WithToken(secretId).SelfTokenAsync(cancel) is { } token)
            {
                await admin.DeleteTokenAsync(token.AccessorID, cancel);
            }

            // Before node identities the token had a policy of its own.
            if (await admin.PolicyByNameAsync(AclPolicies.AgentPolicy(pod).Name, cancel) is { } own)
            {
                await admin.DeletePolicyAsync(own.ID, cancel);
            }

            await api.DeleteAsync<V1Secret>(names.Namespace, secret.Metadata.Name, cancel);
            delivered.TryRemove($"{names.Namespace}/{names.Cluster}/{pod}", out _);
            logger.LogInformation("The agent token of removed pod {Namespace}/{Pod} is deleted from Consul and its Secret", names.Namespace, pod);
        }
    }

    /// <summary>The operator's own token as stored, without creating anything: what it reads Consul with while there is no leader.</summary>
    public string? StoredOperatorToken(Names names) =>
        caches.Secrets.Find(names.Namespace, names.AclOperatorSecret) is { } secret ? KeyMaterialSecrets.Text(secret, TokenKey) : null;

    private async Task<V1Secret> FindOrCreateAsync(V1Alpha1ConsulCluster cluster, string name, Func<Dictionary<string, string>> initial, CancellationToken cancel)
    {
        var ns = cluster.Metadata.NamespaceProperty;
        if (caches.Secrets.Find(ns, name) is { } cached)
        {
            return Normalized(cached);
        }

        try
        {
            return Normalized(await api.CreateAsync(new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = ObjectMetadata.For(cluster, name, Components.Acl),
                Type = "Opaque",
                Data = initial().ToDictionary(d => d.Key, d => Encoding.UTF8.GetBytes(d.Value)),
            }, cancel));
        }
        catch (KubeApiException e) when (e.IsConflict)
        {
            // Created meanwhile (the cache is behind): the existing one is the truth, never a new secret.
            return Normalized(await api.GetAsync<V1Secret>(ns, name, cancel) ?? throw new InvalidOperationException($"Secret {ns}/{name} was created and is gone again", e));
        }
    }

    private static string NewSecretId() => Guid.NewGuid().ToString();

    private static V1Secret Normalized(V1Secret secret)
    {
        secret.Data ??= new Dictionary<string, byte[]>();
        return secret;
    }
}
