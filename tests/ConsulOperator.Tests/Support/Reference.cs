using System.Text.Json.Nodes;

namespace ConsulOperator.Tests.Support;

/// <summary>
/// The upstream facts in shared/reference (beside the repository, as CI checks it out). Tests check our output against
/// these files rather than against our own beliefs; a missing file fails the test, it never skips it.
/// </summary>
public static class Reference
{
    public static string Directory { get; } = Find();

    public static string Text(string file) => File.ReadAllText(Path.Combine(Directory, file));

    public static JsonObject Json(string file) => JsonNode.Parse(Text(file))!.AsObject();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "reference");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"shared/reference was not found above {AppContext.BaseDirectory}; the tests need the upstream facts checked out beside the repository");
    }
}

/// <summary>Files of this repository (samples, generated manifests).</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ConsulOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("ConsulOperator.sln was not found above the test binaries");
    }
}
