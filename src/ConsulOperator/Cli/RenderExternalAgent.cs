using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using k8s;
using k8s.Models;

namespace ConsulOperator.Cli;

/// <summary>
/// <c>render --external-agent NAME -o DIR</c>: a ConsulExternalAgent's bundle as the files to copy to /etc/consul.d, from
/// the same builder the operator fills the bundle Secret with, for teams where nothing may read Secrets. With no cluster
/// to ask, the CA and gossip key come from <c>--secrets</c> (a certificate from a new CA would be trusted by nobody), the
/// servers' addresses from <c>--join</c>, and the agent token from its Secret in <c>--secrets</c>, else a new one that
/// whoever holds a management token creates with the command printed.
/// </summary>
public static class RenderExternalAgent
{
    public static int Run(IReadOnlyList<string> files, string? secretsFile, string name, IReadOnlyList<string> join, string? outputDirectory, TimeProvider time, TextReader stdin, TextWriter error)
    {
        var input = InputDocuments.Read(files, stdin);
        var secrets = secretsFile is null ? new InputDocuments() : InputDocuments.Read([secretsFile], stdin, secretsOnly: true);
        var problems = input.Problems.Concat(secrets.Problems).ToList();
        var agent = input.ExternalAgents.FirstOrDefault(a => a.Metadata.Name == name);
        var cluster = agent is null ? null : input.Clusters.FirstOrDefault(c => c.Metadata.Name == agent.Spec.ClusterRef.Name && Namespace(c) == Namespace(agent));
        if (outputDirectory is null)
        {
            problems.Add("--external-agent writes a directory tree: give it with -o DIR");
        }

        if (agent is null)
        {
            problems.Add($"no ConsulExternalAgent {name} in the input");
        }
        else if (cluster is null)
        {
            problems.Add($"ConsulExternalAgent {name}: spec.clusterRef.name \"{agent.Spec.ClusterRef.Name}\" names no ConsulCluster of namespace {Namespace(agent)} in the input");
        }

        if (join.Count == 0)
        {
            problems.Add("--join is required: the addresses the machine reaches the servers at (render asks no cluster for them); repeatable");
        }

        problems.AddRange(join.Select(a => ConsulClusterValidator.JoinAddressProblem(a) is { } problem ? $"--join \"{a}\" {problem}" : null).OfType<string>());

        ExistingKeyMaterial? material = null;
        if (agent is not null && cluster is not null)
        {
            try
            {
                material = KeyMaterialSecrets.Read(cluster, secrets.Secrets.Where(s => (s.Metadata.NamespaceProperty ?? Namespace(cluster)) == Namespace(cluster)));
            }
            catch (KeyMaterialException e)
            {
                problems.Add($"{secretsFile}: {e.Message}");
            }

            var names = KeyMaterialSecrets.NamesOf(cluster);
            if (material is { Ca: null })
            {
                problems.Add($"--secrets holds no CA Secret {AdoptedSecrets.Ca(cluster).Secret}: the machine's certificate must come from the cluster's own CA, which the servers trust");
            }

            if (material is { GossipKey: null } && cluster.Spec.Gossip.Encryption)
            {
                problems.Add($"--secrets holds no gossip key Secret {AdoptedSecrets.GossipKey(cluster).Secret}: the machine must talk with the cluster's key");
            }

            problems.AddRange(ExternalAgents.Problems(agent, names, material?.Ca).Select(p => $"ConsulExternalAgent {name}: {p}"));
        }

        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                error.WriteLine($"error: {problem}");
            }

            return ExitCodes.InvalidInput;
        }

        var ca = material!.Ca!;
        var existingToken = cluster!.Spec.Acl.Enabled && secrets.Secrets.FirstOrDefault(s => s.Metadata.Name == ExternalAgents.TokenName(agent!)) is { } tokenSecret ? AclObjects.Read(tokenSecret, ParsedSecrets.None) : null;
        var token = !cluster.Spec.Acl.Enabled ? null : existingToken ?? new AclObjects.TokenSecret(Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), AclObjects.Pending, "", null, null, null);
        var leaf = ca.Issue(ExternalAgents.Certificate(agent!, cluster.Spec), cluster.Spec.Tls.LeafValidityDays, time);
        var bundle = ExternalAgents.Files(agent!, cluster, new(ca.CertificatePem, leaf, material.GossipKey, token?.SecretId, join));

        Directory.CreateDirectory(outputDirectory!);
        foreach (var (file, text) in bundle)
        {
            var path = Path.Combine(outputDirectory!, file);
            File.WriteAllText(path, text);

            // The key, the config (gossip key, agent token) and the CA's copy are for the consul user only.
            if (!OperatingSystem.IsWindows() && file is not ExternalAgents.UnitFile and not ExternalAgents.EnvironmentFile)
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        error.WriteLine($"wrote {bundle.Count} files to {outputDirectory}: copy them to {ExternalAgents.ConfigDirectory} (owned by consul), and {ExternalAgents.UnitFile} to /etc/systemd/system");
        if (token is not null && existingToken is null)
        {
            error.WriteLine("note: the agent token is new; create it in Consul once, with a management token:");
            foreach (var line in CreateTokenCommands(agent!, cluster, token, outputDirectory!))
            {
                error.WriteLine($"  {line}");
            }
        }

        error.WriteLine($"note: {outputDirectory} holds the machine's private key, the gossip key and the agent token; treat it as a Secret");
        return ExitCodes.Success;
    }

    // The consul CLI's own words for what the operator's ConsulACLToken would create; the secret is read from the written
    // config.json, so it never appears on a terminal.
    private static IEnumerable<string> CreateTokenCommands(V1Alpha1ConsulExternalAgent agent, V1Alpha1ConsulCluster cluster, AclObjects.TokenSecret token, string directory)
    {
        var version = ConsulVersion.Parse(cluster.Spec.Version);
        var desired = ExternalAgents.Token(agent, cluster, version);
        var grants = new List<string>();
        if (ExternalAgents.NodePolicy(agent, cluster, version) is { } policy)
        {
            yield return $"consul acl policy create -name {policy.Metadata.Name} -rules '{policy.Spec.Rules.Replace("\n", " ", StringComparison.Ordinal).Trim()}'";
            grants.Add($"-policy-name {policy.Metadata.Name}");
        }

        grants.AddRange((desired.Spec.NodeIdentities ?? []).Select(n => $"-node-identity {n.NodeName}:{n.Datacenter}"));
        grants.AddRange((desired.Spec.ServiceIdentities ?? []).Select(s => $"-service-identity {s.ServiceName}"));
        yield return $"consul acl token create -description \"{desired.Spec.Description}\" -accessor {token.AccessorId} -secret \"$(jq -r .acl.tokens.agent {Path.Combine(directory, ExternalAgents.ConfigFile)})\" {string.Join(" ", grants)}";
    }

    private static string Namespace(IKubernetesObject<V1ObjectMeta> item) => item.Metadata.NamespaceProperty ?? "default";
}
