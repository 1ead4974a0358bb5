using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Hosting;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;
using k8s.Models;
using Microsoft.Extensions.Logging;
using TokenSecret = ConsulOperator.Desired.AclObjects.TokenSecret;

namespace ConsulOperator.Controllers;

/// <summary>
/// Keeps a ConsulACLToken in its cluster's Consul and in its Secret. The AccessorID and SecretID are chosen and stored
/// in the Secret (state pending) before Consul is asked to create the token, so an operator stopped in between creates
/// that same token next time and never a second one. A token deleted in Consul is created again with the same secret;
/// a deleted Secret is restored from Consul; a rotation replaces the token and deletes the old one after a grace period.
/// </summary>
public sealed class ConsulAclTokenReconciler(
    KubeApi api, OperatorCaches caches, ClusterConnections clusters, ParsedSecrets parsed, EventRecorder events, OperatorOptions options, TimeProvider time,
    ILogger<ConsulAclTokenReconciler> logger) : IReconciler
{
    /// <summary>Held while the token may exist in Consul, which Kubernetes garbage collection cannot reach.</summary>
    public const string Finalizer = "consul.operator.dev/acl-token";

    private readonly AclObjectReports<V1Alpha1ConsulACLToken> reports = new(api, events, time, t => t.Status?.Conditions, (t, conditions, cancel) => WriteStatusAsync(api, t, conditions, null, cancel));

    public string Name => "consulacltoken";

    public async Task<ReconcileResult> ReconcileAsync(string ns, string name, CancellationToken cancel)
    {
        var token = caches.AclTokens.Find(ns, name);
        if (token is null)
        {
            return ReconcileResult.Done;
        }

        var (connection, waiting) = clusters.For(ns, token.Spec.ClusterRef, "token's write to Consul");
        var secret = caches.Secrets.Find(ns, ConsulAclValidator.SecretName(token));
        if (token.Metadata.DeletionTimestamp is not null)
        {
            return await ReleaseAsync(token, secret, connection, waiting, cancel);
        }

        var problems = ConsulAclValidator.Validate(token, connection is null ? null : caches.OldestServerVersion(connection.Cluster));
        if (problems.Count > 0)
        {
            return await reports.RefuseAsync(token, "InvalidSpec", string.Join("; ", problems), cancel);
        }

        if (connection is null)
        {
            return await reports.WaitAsync(token, waiting, cancel);
        }

        if (!connection.Cluster.Spec.Acl.Enabled)
        {
            return await reports.RefuseAsync(token, "ACLsDisabled", $"ConsulCluster {ns}/{token.Spec.ClusterRef.Name} has spec.acl.enabled false: Consul keeps no tokens", cancel);
        }

        var (links, notReady) = Policies(token, connection.Cluster);
        if (notReady is not null)
        {
            return await reports.WaitAsync(token, notReady, cancel);
        }

        if (secret is not null && !AclObjects.IsOwnedBy(secret, token))
        {
            return await RefuseSecretNotOursAsync(token, cancel);
        }

        token = await api.AddFinalizerAsync(token, Finalizer, cancel);
        var client = connection.Client;
        try
        {
            // 1. The Secret holds the token to keep before Consul is asked for it.
            var stored = secret is null ? null : AclObjects.Read(secret, parsed);
            if (stored is null)
            {
                stored = await RestoreAsync(token, client, cancel) ?? New(token, previous: null);
                (secret, stored) = await WriteSecretAsync(token, connection, secret, stored, cancel);
                if (secret is null)
                {
                    return await RefuseSecretNotOursAsync(token, cancel);
                }
            }
            else if ((token.Spec.Rotation ?? "") != stored.Rotation)
            {
                // One previous token at a time: a second rotation within the grace period ends the first one's at once.
                if (stored.PreviousAccessorId is { } older)
                {
                    await client.DeleteTokenAsync(older, cancel);
                }

                stored = New(token, previous: stored);
                (secret, _) = await WriteSecretAsync(token, connection, secret, stored, cancel);
                await Changed(token, $"rotation \"{token.Spec.Rotation}\": a new token is in Secret {secret!.Metadata.Name}; the old one is deleted at {Describe(stored.RevokePreviousAt!.Value)}", cancel);
            }

            // 2. Consul holds exactly that token.
            var wanted = AclObjects.Token(token, links, connection.Cluster.Spec.Datacenter, stored.SecretId, stored.AccessorId);
            var existing = await client.TokenAsync(stored.AccessorId, cancel);
            if (existing is null)
            {
                await client.CreateTokenAsync(wanted, cancel);
                await Changed(token, stored.State == AclObjects.Pending ? $"token {stored.AccessorId} created" : $"token {stored.AccessorId} created again with the same secret: it was gone from Consul", cancel);
            }
            else if (existing.SecretID != stored.SecretId)
            {
                return await reports.RefuseAsync(token, "AccessorTaken", $"Consul has a token {stored.AccessorId} with another secret than Secret {secret!.Metadata.Name} holds; it is left alone", cancel);
            }
            else if (!wanted.IsMetBy(existing))
            {
                await client.UpdateTokenAsync(stored.AccessorId, wanted, cancel);
                await Changed(token, $"token {stored.AccessorId} {(token.Status?.ObservedGeneration == token.Metadata.Generation ? "put back: it was changed in Consul" : "updated")}", cancel);
            }

            // 3. Done, the certificate as asked, the previous token gone once its time is up: one write.
            var now = time.GetUtcNow();
            var revokeDue = stored.RevokePreviousAt is { } at && at <= now;
            if (revokeDue)
            {
                await client.DeleteTokenAsync(stored.PreviousAccessorId!, cancel);
                await Changed(token, $"the token {stored.PreviousAccessorId} a rotation replaced is deleted", cancel);
            }

            var final = stored with
            {
                State = AclObjects.Done,
                PreviousAccessorId = revokeDue ? null : stored.PreviousAccessorId,
                RevokePreviousAt = revokeDue ? null : stored.RevokePreviousAt,
                Certificate = Certificate(token, connection, stored.Certificate, now),
            };
            if (final != stored)
            {
                (secret, _) = await WriteSecretAsync(token, connection, secret, final, cancel);
            }

            await WriteStatusAsync(api, token, reports.Ready(token, "InSync", $"token {final.AccessorId} is in Consul and in Secret {secret!.Metadata.Name}"), final, cancel);
            var poll = options.ConsulPollInterval;
            return ReconcileResult.After(final.RevokePreviousAt is { } revokeAt && revokeAt - now < poll ? revokeAt - now : poll);
        }
        catch (ConsulApiException e) when (e.IsAclRejected)
        {
            return await reports.RefuseAsync(token, "RejectedByConsul", $"Consul refused the token: {e.Detail}", cancel);
        }
        catch (ConsulApiException e)
        {
            return await reports.ConsulErrorAsync(token, e, cancel);
        }
    }

    // The policies to link: a ConsulACLPolicy by the ID Consul gave it once it is ready, a policy made elsewhere by name.
    private (IReadOnlyList<AclLink> Links, ClusterWait? NotReady) Policies(V1Alpha1ConsulACLToken token, V1Alpha1ConsulCluster cluster)
    {
        var links = new List<AclLink>();
        foreach (var reference in token.Spec.Policies ?? [])
        {
            if (reference.ConsulName is { } consulName)
            {
                links.Add(new AclLink(null, consulName));
                continue;
            }

            var policy = caches.AclPolicies.Find(token.Metadata.NamespaceProperty, reference.ConsulACLPolicy!);
            var ready = Conditions.Find(policy?.Status?.Conditions, Conditions.Ready);
            if (policy is null || policy.Spec.ClusterRef.Name != cluster.Metadata.Name || ready is not { Status: "True" } || ready.ObservedGeneration != policy.Metadata.Generation || policy.Status?.PolicyID is null)
            {
                var why = policy is null ? "does not exist"
                    : policy.Spec.ClusterRef.Name != cluster.Metadata.Name ? $"belongs to ConsulCluster {policy.Spec.ClusterRef.Name}, not {cluster.Metadata.Name}"
                    : ready is null ? "is not in Consul yet" : $"is not ready ({ready.Reason}: {ready.Message})";
                return ([], new("PolicyNotReady", $"ConsulACLPolicy {token.Metadata.NamespaceProperty}/{reference.ConsulACLPolicy} {why}; the token waits for it"));
            }

            links.Add(new AclLink(policy.Status.PolicyID, policy.Status.PolicyName));
        }

        return (links, null);
    }

    // The Secret is gone, but Consul still has the token status names: the same secret goes back (acl:write reads it unredacted).
    private static async Task<TokenSecret?> RestoreAsync(V1Alpha1ConsulACLToken token, ConsulClient client, CancellationToken cancel) =>
        token.Status?.AccessorID is { } accessor && await client.TokenAsync(accessor, cancel) is { } existing && Guid.TryParse(existing.SecretID, out _)
            ? new TokenSecret(existing.SecretID, accessor, AclObjects.Done, token.Status.Rotation ?? token.Spec.Rotation ?? "", null, null, null)
            : null;

    // Consul takes a caller's AccessorID and SecretID on create (1.5.0 and later); both are UUIDs (tokenSetInternal).
    private TokenSecret New(V1Alpha1ConsulACLToken token, TokenSecret? previous)
    {
        var grace = GoDuration.TryParse(token.Spec.RotationGracePeriod, out var period) ? period : TimeSpan.FromHours(1);
        return new TokenSecret(
            Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), AclObjects.Pending, token.Spec.Rotation ?? "",
            previous?.AccessorId, previous is null ? null : time.GetUtcNow() + grace, previous?.Certificate);
    }

    // A certificate is issued when asked for and missing, unreadable, from another CA, renamed or near expiry; removed when not asked for.
    private LeafState? Certificate(V1Alpha1ConsulACLToken token, ClusterConnection connection, LeafState? current, DateTimeOffset now)
    {
        if (!token.Spec.ClientCertificate)
        {
            return null;
        }

        var spec = connection.Cluster.Spec;
        var wanted = AclObjects.ClientCertificate(token, spec);
        var rotateBefore = GoDuration.TryParse(spec.Tls.RotateBefore, out var before) ? before : TimeSpan.Zero;
        return ReissuePolicy.Evaluate(new ReissueInput(current, wanted, connection.Ca, rotateBefore, now)) is null
            ? current
            : new LeafState(connection.Ca.Issue(wanted, spec.Tls.LeafValidityDays, time), null);
    }

    // Creates or replaces the Secret; a create that finds one (the cache was behind) keeps what is stored there, never a new token.
    private async Task<(V1Secret? Secret, TokenSecret Stored)> WriteSecretAsync(V1Alpha1ConsulACLToken token, ClusterConnection connection, V1Secret? current, TokenSecret content, CancellationToken cancel)
    {
        var desired = AclObjects.Secret(token, connection.Cluster, connection.Ca, content);
        if (current is not null)
        {
            desired.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            return (await api.ReplaceAsync(desired, cancel), content);
        }

        try
        {
            return (await api.CreateAsync(desired, cancel), content);
        }
        catch (KubeApiException e) when (e.IsConflict)
        {
            var found = await api.GetAsync<V1Secret>(desired.Metadata.NamespaceProperty, desired.Metadata.Name, cancel);
            return found is not null && AclObjects.IsOwnedBy(found, token) && AclObjects.Read(found, parsed) is { } kept ? (found, kept) : (null, content);
        }
    }

    /// <summary>Deletion: the token and a previous one still in its grace period go from Consul; the Secret goes with the object through its owner reference.</summary>
    private Task<ReconcileResult> ReleaseAsync(V1Alpha1ConsulACLToken token, V1Secret? secret, ClusterConnection? connection, ClusterWait waiting, CancellationToken cancel)
    {
        var stored = secret is not null && AclObjects.IsOwnedBy(secret, token) ? AclObjects.Read(secret, parsed) : null;
        var accessors = new[] { stored?.AccessorId ?? token.Status?.AccessorID, stored?.PreviousAccessorId ?? token.Status?.PreviousAccessorID }.OfType<string>().Distinct().ToList();
        Func<ConsulClient, CancellationToken, Task>? delete = null;
        if (clusters.Stands(token.Metadata.NamespaceProperty, token.Spec.ClusterRef) && accessors.Count > 0)
        {
            delete = async (client, c) =>
            {
                foreach (var accessor in accessors)
                {
                    await client.DeleteTokenAsync(accessor, c);
                }
            };
        }

        return reports.ReleaseAsync(token, Finalizer, $"token {string.Join(", ", accessors)}", delete, connection, waiting, cancel);
    }

    // We never write into a Secret someone else made: it may be theirs to keep.
    private Task<ReconcileResult> RefuseSecretNotOursAsync(V1Alpha1ConsulACLToken token, CancellationToken cancel) =>
        reports.RefuseAsync(token, "SecretNotOurs", $"Secret {token.Metadata.NamespaceProperty}/{ConsulAclValidator.SecretName(token)} exists and belongs to something else; the token is never written into it. Choose another spec.secretName", cancel);

    // Never the secret: only the AccessorID, which names the token and authorizes nothing.
    private async Task Changed(V1Alpha1ConsulACLToken token, string what, CancellationToken cancel)
    {
        logger.LogInformation("ConsulACLToken {Namespace}/{Name}: {What}", token.Metadata.NamespaceProperty, token.Metadata.Name, what);
        await events.RecordAsync(token, EventRecorder.Normal, "Synced", what, cancel);
    }

    private static Task WriteStatusAsync(KubeApi api, V1Alpha1ConsulACLToken token, List<V1Condition> conditions, TokenSecret? kept, CancellationToken cancel) =>
        api.WriteStatusAsync<V1Alpha1ConsulACLToken, ConsulACLTokenStatus>(token, new ConsulACLTokenStatus
        {
            ObservedGeneration = token.Metadata.Generation,
            Conditions = conditions,
            AccessorID = kept?.AccessorId ?? token.Status?.AccessorID,
            SecretName = kept is null ? token.Status?.SecretName : ConsulAclValidator.SecretName(token),
            Rotation = kept is null ? token.Status?.Rotation : kept.Rotation,
            PreviousAccessorID = kept is null ? token.Status?.PreviousAccessorID : kept.PreviousAccessorId,
            PreviousRevokedAt = kept is null ? token.Status?.PreviousRevokedAt : kept.RevokePreviousAt?.UtcDateTime,
        }, cancel);

    private static string Describe(DateTimeOffset at) => CertificateAuthority.Describe(at);
}
