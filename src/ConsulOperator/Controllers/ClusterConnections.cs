using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;

namespace ConsulOperator.Controllers;

/// <summary>A ready cluster and a client that talks to it with the operator's token.</summary>
public sealed record ClusterConnection(V1Alpha1ConsulCluster Cluster, ConsulClient Client, CertificateAuthority Ca);

/// <summary>Why there is no connection to a referenced cluster yet: a reason for conditions and a message for people.</summary>
public sealed record ClusterWait(string Reason, string Message);

/// <summary>
/// Connections to the cluster an object references through <c>spec.clusterRef</c>, for the controllers of objects that
/// live in a cluster's Consul (services, ACL policies and tokens): only once the cluster is healthy and its ACLs are set up.
/// </summary>
public sealed class ClusterConnections(OperatorCaches caches, ConsulConnections consul, ParsedSecrets parsed)
{
    /// <summary>Whether the referenced cluster stands: gone or going, it takes what the object made in its Consul along.</summary>
    public bool Stands(string ns, ClusterReference clusterRef) => caches.Clusters.Find(ns, clusterRef.Name) is { Metadata.DeletionTimestamp: null };

    public (ClusterConnection? Connection, ClusterWait Waiting) For(string ns, ClusterReference clusterRef, string what)
    {
        var reference = $"ConsulCluster {ns}/{clusterRef.Name}";
        var cluster = caches.Clusters.Find(ns, clusterRef.Name);
        if (cluster is null)
        {
            return (null, new("ClusterNotFound", $"{reference} does not exist; the {what} happens as soon as it does"));
        }

        var conditions = cluster.Status?.Conditions;
        if (!Conditions.IsTrue(conditions, ClusterStatus.ConsulHealthy) || !Conditions.IsTrue(conditions, ClusterStatus.AclReady))
        {
            var why = Conditions.Find(conditions, ClusterStatus.ConsulHealthy) is { Status: not "True" } health ? $"{health.Reason}: {health.Message}"
                : Conditions.Find(conditions, ClusterStatus.AclReady) is { } acl ? $"{acl.Reason}: {acl.Message}" : "not observed yet";
            return (null, new("ClusterNotReady", $"{reference} is not ready ({why}); the {what} happens as soon as it is"));
        }

        var names = KeyMaterialSecrets.NamesOf(cluster);
        var material = KeyMaterialSecrets.Read(cluster, caches.KeySecrets(ns), parsed);
        var cli = material.Leaves.GetValueOrDefault(names.CliSecret)?.Certificate;
        var token = cluster.Spec.Acl.Enabled && caches.Secrets.Find(ns, names.AclOperatorSecret) is { } secret ? KeyMaterialSecrets.Text(secret, ConsulAcl.TokenKey) : null;
        if (material.Ca is null || cli is null || (cluster.Spec.Acl.Enabled && token is null))
        {
            return (null, new("ClusterNotReady", $"{reference} has no CA, CLI certificate or operator token yet"));
        }

        return (new ClusterConnection(cluster, consul.For(names, cluster.Spec.Datacenter, cluster.Spec.Domain, material.Ca, cli, token), material.Ca), new("", ""));
    }
}
