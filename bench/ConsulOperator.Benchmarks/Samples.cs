using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Cli;

namespace ConsulOperator.Benchmarks;

/// <summary>The sample cluster of config/samples, read the way render reads it.</summary>
internal static class Samples
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static V1Alpha1ConsulCluster Cluster()
    {
        var input = InputDocuments.Read([Path.Combine(RepositoryRoot, "config", "samples", "consulcluster.yaml")], TextReader.Null);
        return input.Problems.Count == 0 ? input.Clusters.Single() : throw new InvalidOperationException(string.Join("; ", input.Problems));
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ConsulOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("run the benchmarks from inside the repository");
    }
}
