using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Hosting;
using ConsulOperator.Runtime;
using Microsoft.Extensions.Logging;
using AclPolicy = ConsulOperator.Consul.AclPolicy;

namespace ConsulOperator.Controllers;

/// <summary>
/// Keeps a ConsulACLPolicy in its cluster's Consul: creates it, puts it back when someone changed or deleted it in Consul,
/// and deletes it before the object goes (finalizer).
/// </summary>
public sealed class ConsulAclPolicyReconciler(
    KubeApi api, OperatorCaches caches, ClusterConnections clusters, EventRecorder events, OperatorOptions options, TimeProvider time,
    ILogger<ConsulAclPolicyReconciler> logger) : IReconciler
{
    /// <summary>Held while the policy may exist in Consul, which Kubernetes garbage collection cannot reach.</summary>
    public const string Finalizer = "consul.operator.dev/acl-policy";

    private readonly AclObjectReports<V1Alpha1ConsulACLPolicy> reports = new(api, events, time, p => p.Status?.Conditions, (p, conditions, cancel) => WriteStatusAsync(api, p, conditions, null, cancel));

    public string Name => "consulaclpolicy";

    public async Task<ReconcileResult> ReconcileAsync(string ns, string name, CancellationToken cancel)
    {
        var policy = caches.AclPolicies.Find(ns, name);
        if (policy is null)
        {
            return ReconcileResult.Done;
        }

        var (connection, waiting) = clusters.For(ns, policy.Spec.ClusterRef, "policy's write to Consul");
        if (policy.Metadata.DeletionTimestamp is not null)
        {
            var id = clusters.Stands(ns, policy.Spec.ClusterRef) ? policy.Status?.PolicyID : null;
            return await reports.ReleaseAsync(policy, Finalizer, $"policy {policy.Status?.PolicyName}", id is null ? null : (client, c) => client.DeletePolicyAsync(id, c), connection, waiting, cancel);
        }

        var problems = ConsulAclValidator.Validate(policy, connection is null ? null : caches.OldestServerVersion(connection.Cluster));
        if (problems.Count > 0)
        {
            return await reports.RefuseAsync(policy, "InvalidSpec", string.Join("; ", problems), cancel);
        }

        if (connection is null)
        {
            return await reports.WaitAsync(policy, waiting, cancel);
        }

        if (!connection.Cluster.Spec.Acl.Enabled)
        {
            return await reports.RefuseAsync(policy, "ACLsDisabled", $"ConsulCluster {ns}/{policy.Spec.ClusterRef.Name} has spec.acl.enabled false: Consul keeps no policies", cancel);
        }

        policy = await api.AddFinalizerAsync(policy, Finalizer, cancel);
        var wanted = AclObjects.Policy(policy);
        try
        {
            var existing = await FindAsync(connection.Client, policy, cancel);
            if (existing is not null && !AclObjects.IsOurs(existing, policy) && existing.ID != policy.Status?.PolicyID)
            {
                return await reports.RefuseAsync(policy, "PolicyNameTaken",
                    $"Consul already has a policy named \"{wanted.Name}\" that this ConsulACLPolicy did not create; it is left alone. Rename one of them (spec.name) or delete the other in Consul", cancel);
            }

            AclPolicy kept;
            if (existing is null)
            {
                kept = await connection.Client.CreatePolicyAsync(wanted, cancel);
                await Changed(policy, policy.Status?.PolicyID is null ? "created" : "created again: it was gone from Consul", cancel);
            }
            else if (!wanted.IsMetBy(existing))
            {
                kept = await connection.Client.UpdatePolicyAsync(existing.ID, wanted, cancel);
                await Changed(policy, policy.Status?.ObservedGeneration == policy.Metadata.Generation ? "put back: it was changed in Consul" : "updated", cancel);
            }
            else
            {
                kept = existing;
            }

            await WriteStatusAsync(api, policy, reports.Ready(policy, "InSync", $"policy {kept.Name} ({kept.ID}) matches the spec"), kept, cancel);
        }
        catch (ConsulApiException e) when (e.IsAclRejected)
        {
            return await reports.RefuseAsync(policy, "RejectedByConsul", $"Consul refused the policy: {e.Detail}", cancel);
        }
        catch (ConsulApiException e)
        {
            return await reports.ConsulErrorAsync(policy, e, cancel);
        }

        // Someone may change or delete the policy in Consul: look again.
        return ReconcileResult.After(options.ConsulPollInterval);
    }

    // By the ID it was created with, else by name (created, then the operator stopped before writing status).
    private static async Task<AclPolicy?> FindAsync(ConsulClient client, V1Alpha1ConsulACLPolicy policy, CancellationToken cancel) =>
        (policy.Status?.PolicyID is { } id ? await client.PolicyAsync(id, cancel) : null)
        ?? await client.PolicyByNameAsync(ConsulAclValidator.PolicyName(policy), cancel);

    private async Task Changed(V1Alpha1ConsulACLPolicy policy, string what, CancellationToken cancel)
    {
        logger.LogInformation("ConsulACLPolicy {Namespace}/{Name} {What}", policy.Metadata.NamespaceProperty, policy.Metadata.Name, what);
        await events.RecordAsync(policy, EventRecorder.Normal, "Synced", $"policy {ConsulAclValidator.PolicyName(policy)} {what}", cancel);
    }

    // What Consul holds is kept in status (its ID above all), even while the policy is not ready.
    private static Task WriteStatusAsync(KubeApi api, V1Alpha1ConsulACLPolicy policy, List<k8s.Models.V1Condition> conditions, AclPolicy? kept, CancellationToken cancel) =>
        api.WriteStatusAsync<V1Alpha1ConsulACLPolicy, ConsulACLPolicyStatus>(policy, new ConsulACLPolicyStatus
        {
            ObservedGeneration = policy.Metadata.Generation,
            Conditions = conditions,
            PolicyID = kept?.ID ?? policy.Status?.PolicyID,
            PolicyName = kept?.Name ?? policy.Status?.PolicyName,
        }, cancel);
}
