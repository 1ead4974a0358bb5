using System.Text;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Controllers;

/// <summary>Where a requested gossip key rotation stands: done (with the request it completed), or what it waits for.</summary>
public sealed record GossipRotationOutcome(string? Completed, string? Waiting);

/// <summary>
/// Rotates the gossip key when spec.gossip.rotation asks for it, in Consul's order: install the new key on every member,
/// make it primary once every member holds it, then remove the old one. The new key is written to the gossip Secret
/// before Consul hears of it and the request being worked on is kept there too, so a restarted operator resumes the
/// same rotation and a key Consul uses is never lost.
/// </summary>
public sealed class GossipRotation(KubeApi api, OperatorCaches caches, EventRecorder events, ILogger<GossipRotation> logger)
{
    public const string NextKeyKey = "next";
    public const string RotationKey = "rotation";

    public async Task<GossipRotationOutcome> EnsureAsync(V1Alpha1ConsulCluster cluster, ConsulClient consul, CancellationToken cancel)
    {
        var requested = cluster.Spec.Gossip.Rotation;
        var completed = cluster.Status?.GossipRotation;
        var names = KeyMaterialSecrets.NamesOf(cluster);
        if (!cluster.Spec.Gossip.Encryption || string.IsNullOrEmpty(requested) || requested == completed
            || caches.Secrets.Find(names.Namespace, names.GossipSecret) is not { } secret)
        {
            return new GossipRotationOutcome(completed, null);
        }

        if (KeyMaterialSecrets.Text(secret, RotationKey) != requested)
        {
            secret = await WriteAsync(secret, s =>
            {
                s.Data[NextKeyKey] = Encoding.ASCII.GetBytes(GossipKey.Generate());
                s.Data[RotationKey] = Encoding.UTF8.GetBytes(requested);
            }, cancel);
            await events.RecordAsync(cluster, EventRecorder.Normal, "GossipKeyRotating", $"rotation '{requested}': a new gossip key is stored in Secret {names.GossipSecret}", cancel);
        }

        if (await OutsideAgentsDownAsync(cluster, consul, requested, cancel) is { } down)
        {
            return new GossipRotationOutcome(completed, down);
        }

        if (KeyMaterialSecrets.Text(secret, NextKeyKey) is { } next)
        {
            await consul.InstallGossipKeyAsync(next, cancel);
            var pools = await consul.KeyringAsync(cancel);
            var lagging = pools.Where(p => p.Keys.GetValueOrDefault(next) < p.NumNodes).ToList();
            if (lagging.Count > 0)
            {
                return new GossipRotationOutcome(completed, $"gossip key rotation '{requested}': waiting for every member to hold the new key ({string.Join(", ", lagging.Select(p => $"{(p.WAN ? "WAN" : "LAN")} {p.Keys.GetValueOrDefault(next)}/{p.NumNodes}"))})");
            }

            await consul.UseGossipKeyAsync(next, cancel);

            // Pods that start from now on read the new key; the old one stays installed until every member uses the new.
            secret = await WriteAsync(secret, s =>
            {
                s.Data[KeyMaterialSecrets.GossipKeyKey] = Encoding.ASCII.GetBytes(next);
                s.Data.Remove(NextKeyKey);
            }, cancel);
        }

        var primary = KeyMaterialSecrets.Text(secret, KeyMaterialSecrets.GossipKeyKey)!;
        foreach (var old in (await consul.KeyringAsync(cancel)).SelectMany(p => p.Keys.Keys).Where(k => k != primary).Distinct().ToList())
        {
            await consul.RemoveGossipKeyAsync(old, cancel);
        }

        logger.LogInformation("Gossip key rotation {Rotation} of {Namespace}/{Name} completed", requested, names.Namespace, names.Cluster);
        await events.RecordAsync(cluster, EventRecorder.Normal, "GossipKeyRotated", $"rotation '{requested}': every member uses the new gossip key; the old one is removed", cancel);
        return new GossipRotationOutcome(requested, null);
    }

    // A member hears of keyring changes only while it is alive, and a restarted agent starts from the keyring file in its
    // data directory, not from `encrypt` (docs: agent configuration, encrypt). An outside agent that is down (failed, or
    // left and not yet reaped) when the old key goes could never rejoin, and the operator cannot restart it, so the
    // rotation waits for it. One that never joined starts later from its bundle, which carries the new key.
    private async Task<string?> OutsideAgentsDownAsync(V1Alpha1ConsulCluster cluster, ConsulClient consul, string requested, CancellationToken cancel)
    {
        var nodes = caches.ExternalAgents.List(cluster.Metadata.NamespaceProperty)
            .Where(a => a.Spec.ClusterRef.Name == cluster.Metadata.Name && a.Metadata.DeletionTimestamp is null)
            .Select(ConsulExternalAgentValidator.NodeName).ToList();
        if (nodes.Count == 0)
        {
            return null;
        }

        var members = await consul.MembersAsync(consul.Servers, cancel);
        var down = members.Where(m => nodes.Contains(m.Name) && m.Status != AgentMember.Alive).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        return down.Count == 0 ? null
            : $"gossip key rotation '{requested}': waiting for outside agents to be alive members, so that they get the new key: {string.Join(", ", down.Select(m => $"{m.Name} ({m.StatusName})"))}; the operator cannot restart them, start their agents";
    }

    private async Task<V1Secret> WriteAsync(V1Secret secret, Action<V1Secret> change, CancellationToken cancel)
    {
        var copy = ObjectWrites.DeepCopy(secret);
        copy.Data ??= new Dictionary<string, byte[]>();
        change(copy);
        return await api.ReplaceAsync(copy, cancel);
    }
}
