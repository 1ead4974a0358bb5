using System.Text.Json.Nodes;
using ConsulOperator.Api.Schema;
using k8s;

namespace ConsulOperator.Api.V1Alpha1;

/// <summary>Everything wrong with a ConsulSnapshotRestore, each problem with its field path.</summary>
public static class ConsulSnapshotRestoreValidator
{
    /// <summary>The Job is named &lt;name&gt;-restore, and a Job's name must leave room for its pods' job-name label (63).</summary>
    public const int MaxNameLength = 55;

    private static readonly Lazy<JsonObject> ResourceSchema = new(() => OpenApiSchemaGenerator.ForResource(typeof(V1Alpha1ConsulSnapshotRestore)));

    public static IReadOnlyList<ValidationProblem> Validate(V1Alpha1ConsulSnapshotRestore restore)
    {
        var problems = new List<ValidationProblem>(SchemaValidator.Validate(ResourceSchema.Value, JsonNode.Parse(KubernetesJson.Serialize(restore))));
        if (restore.Metadata?.Name is { Length: > MaxNameLength } name)
        {
            problems.Add(new("metadata.name", $"\"{name}\" is longer than {MaxNameLength} characters; the restore Job is named after it"));
        }

        if (string.IsNullOrEmpty(restore.Spec.ClusterRef.Name))
        {
            problems.Add(new("spec.clusterRef.name", "is required"));
        }

        if (string.IsNullOrEmpty(restore.Spec.Snapshot))
        {
            problems.Add(new("spec.snapshot", "is required: a file name on the cluster's snapshot volume, or \"latest\""));
        }

        return problems;
    }
}
