using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired.Dns;
using ConsulOperator.Runtime;
using k8s.Models;

namespace ConsulOperator.Controllers;

/// <summary>Whether the cluster DNS forwards the Consul zone, and why not.</summary>
public sealed record DnsOutcome(bool Ready, string Reason, string Message);

/// <summary>
/// Keeps the cluster DNS forwarding a ConsulCluster's zone to its DNS Service: our block in the CoreDNS Corefile, a
/// server key in coredns-custom (AKS), or a kube-dns stub domain. The DNS ConfigMap is not ours, so it is patched,
/// never owned, and the ConsulCluster's finalizer takes exactly our part out again.
/// </summary>
public sealed class CoreDnsForwarding(KubeApi api, ICache<V1ConfigMap> watched, string watchedNamespace)
{
    public const string CorefileKey = "Corefile";

    /// <summary>On the kube-dns ConfigMap: which ConsulCluster owns the stub domain for a zone.</summary>
    public const string StubDomainOwnerAnnotationPrefix = "consul.operator.dev/stub-domain.";

    public static string ConfigMapName(CoreDnsSpec spec) => spec.ConfigMapName ?? spec.Mode switch
    {
        CoreDnsMode.CustomServerBlock => "coredns-custom",
        CoreDnsMode.KubeDnsStubDomains => "kube-dns",
        _ => "coredns",
    };

    public async Task<DnsOutcome> EnsureAsync(V1Alpha1ConsulCluster cluster, string? serviceIp, CancellationToken cancel)
    {
        var spec = cluster.Spec.Dns.CoreDns;
        if (!spec.Patch)
        {
            return new DnsOutcome(true, "NotManaged", "spec.dns.coreDns.patch is false; the cluster DNS is left alone");
        }

        if (string.IsNullOrEmpty(serviceIp) || serviceIp == "None")
        {
            return new DnsOutcome(false, "WaitingForServiceIP", "the DNS Service has no ClusterIP yet");
        }

        var block = Block(cluster, serviceIp);
        var where = $"ConfigMap {spec.Namespace}/{ConfigMapName(spec)}";
        var configMap = await FindAsync(spec, cancel);
        if (configMap is null && spec.Mode != CoreDnsMode.CustomServerBlock)
        {
            return new DnsOutcome(false, "DnsConfigMapNotFound", $"{where} does not exist; is this the cluster's DNS? Set spec.dns.coreDns.mode and configMapName, or patch=false");
        }

        var (patched, conflict) = Patch(configMap, spec, block, remove: false);
        if (conflict is not null)
        {
            return new DnsOutcome(false, "DnsConflict", $"{where}: {conflict}");
        }

        if (patched is not null)
        {
            if (configMap is null)
            {
                await api.CreateAsync(patched, cancel);
            }
            else
            {
                await api.ReplaceAsync(patched, cancel);
            }
        }

        return new DnsOutcome(true, "Forwarding", $"{where} forwards {block.Zone} to {block.UpstreamAddress}:{block.UpstreamPort}");
    }

    /// <summary>Takes our forwarding out; everything else in the ConfigMap stays byte for byte.</summary>
    public async Task RemoveAsync(V1Alpha1ConsulCluster cluster, CancellationToken cancel)
    {
        var spec = cluster.Spec.Dns.CoreDns;
        var configMap = await FindAsync(spec, cancel);
        if (configMap is null)
        {
            return;
        }

        var (patched, _) = Patch(configMap, spec, Block(cluster, ""), remove: true);
        if (patched is not null)
        {
            await api.ReplaceAsync(patched, cancel);
        }
    }

    private static ForwardingBlock Block(V1Alpha1ConsulCluster cluster, string serviceIp) =>
        new($"{cluster.Metadata.NamespaceProperty}/{cluster.Metadata.Name}", ConsulClusterValidator.ForwardedZone(cluster.Spec), serviceIp, cluster.Spec.Dns.Service.Port);

    // The ConfigMap to write (null when nothing changes), or why the change was refused.
    private static (V1ConfigMap? Patched, string? Conflict) Patch(V1ConfigMap? configMap, CoreDnsSpec spec, ForwardingBlock block, bool remove)
    {
        var copy = configMap is null
            ? new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = ConfigMapName(spec), NamespaceProperty = spec.Namespace } }
            : ObjectWrites.DeepCopy(configMap);
        var data = copy.Data ??= new Dictionary<string, string>();
        switch (spec.Mode)
        {
            case CoreDnsMode.Corefile:
                if (!data.TryGetValue(CorefileKey, out var corefile))
                {
                    return remove ? (null, null) : (null, $"has no {CorefileKey} key");
                }

                var result = remove ? CorefilePatcher.Remove(corefile, block) : CorefilePatcher.Apply(corefile, block);
                if (result.Conflict is not null || !result.Changed)
                {
                    return (null, result.Conflict);
                }

                data[CorefileKey] = result.Text!;
                return (copy, null);

            case CoreDnsMode.CustomServerBlock:
                if (remove ? !data.Remove(block.CustomServerKey) : data.TryGetValue(block.CustomServerKey, out var current) && current == block.ServerBlock)
                {
                    return (null, null);
                }

                if (!remove)
                {
                    data[block.CustomServerKey] = block.ServerBlock;
                }

                return (copy, null);

            default:
                var annotations = copy.Metadata.Annotations ??= new Dictionary<string, string>();
                var ownerKey = StubDomainOwnerAnnotationPrefix + block.Zone;
                var ours = annotations.TryGetValue(ownerKey, out var owner) && owner == block.Owner;
                data.TryGetValue(StubDomainsPatcher.Key, out var stubDomains);
                if (remove && !ours)
                {
                    return (null, null);
                }

                var stub = remove ? StubDomainsPatcher.Remove(stubDomains, block) : StubDomainsPatcher.Apply(stubDomains, block, ours);
                if (stub.Conflict is not null || (!stub.Changed && (remove || ours)))
                {
                    return (null, stub.Conflict);
                }

                data[StubDomainsPatcher.Key] = stub.Text!;
                if (remove)
                {
                    annotations.Remove(ownerKey);
                }
                else
                {
                    annotations[ownerKey] = block.Owner;
                }

                return (copy, null);
        }
    }

    private async Task<V1ConfigMap?> FindAsync(CoreDnsSpec spec, CancellationToken cancel) =>
        spec.Namespace == watchedNamespace
            ? watched.Find(spec.Namespace, ConfigMapName(spec))
            : await api.GetAsync<V1ConfigMap>(spec.Namespace, ConfigMapName(spec), cancel);
}
