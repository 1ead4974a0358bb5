using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Yaml;
using k8s;
using k8s.Models;

namespace ConsulOperator.Benchmarks;

/// <summary>The pure work of one cluster: building its objects, and what a reconcile of an unchanged cluster repeats.</summary>
[MemoryDiagnoser]
public class RenderBenchmarks
{
    private V1Alpha1ConsulCluster cluster = null!;
    private KeyMaterial material = null!;
    private List<V1Secret> secrets = null!;
    private KeyMaterialRequirements requirements = null!;
    private ParsedSecrets parsed = null!;

    [GlobalSetup]
    public void Setup()
    {
        cluster = Samples.Cluster();
        cluster.Metadata.Uid = "4a1e0c7e-0000-4000-8000-000000000001";
        requirements = KeyMaterialSecrets.Requirements(cluster);
        material = KeyMaterialPlanner.Plan(ExistingKeyMaterial.None, requirements, TimeProvider.System).Material;
        secrets = [.. KeyMaterialSecrets.Build(cluster, material)];
        for (var i = 0; i < secrets.Count; i++)
        {
            secrets[i].Metadata.ResourceVersion = $"{i + 1}";
        }

        parsed = new ParsedSecrets();
        KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, secrets, parsed), requirements, TimeProvider.System);
    }

    /// <summary>Every object of the cluster from its spec and key material (render and every reconcile do this).</summary>
    [Benchmark(Baseline = true)]
    public int BuildDesiredState() => DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 }).Count;

    /// <summary>Render's whole output: the objects as YAML.</summary>
    [Benchmark]
    public int BuildAndWriteYaml() =>
        YamlDocuments.Write(DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 }).Select(o => JsonNode.Parse(KubernetesJson.Serialize(o))!)).Length;

    /// <summary>Reading a cluster's key material from its Secrets and deciding nothing needs issuing, parsing every Secret (render, a first reconcile).</summary>
    [Benchmark]
    public int ReadAndPlanUnchangedKeyMaterial() =>
        KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, secrets), requirements, TimeProvider.System).Changes.Count;

    /// <summary>The same as the operator does it on later reconciles: Secrets whose resourceVersion has not moved are not parsed again.</summary>
    [Benchmark]
    public int ReadAndPlanUnchangedKeyMaterialCached() =>
        KeyMaterialPlanner.Plan(KeyMaterialSecrets.Read(cluster, secrets, parsed), requirements, TimeProvider.System).Changes.Count;
}
