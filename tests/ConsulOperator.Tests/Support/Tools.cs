using System.Diagnostics;

namespace ConsulOperator.Tests.Support;

/// <summary>helm, kubectl and lua as installed by hack/install-tools.sh; a missing tool fails the test with what to run.</summary>
public static class Tools
{
    public static string Helm => Find("helm", Path.Combine(Repository.Root, ".tools", "bin", "helm"));

    public static string Kubectl => Find("kubectl", Path.Combine(Repository.Root, ".tools", "bin", "kubectl"));

    /// <summary>promtool from Debian's prometheus 2.42: checks and unit-tests rule files as Prometheus itself would load them.</summary>
    public static string Promtool => Find("promtool", Path.Combine(Repository.Root, ".tools", "bin", "promtool"));

    public static string Node => Find("node", "/usr/bin/node", "/usr/local/bin/node");

    /// <summary>npm @kubernetes-models/prometheus-operator, the Prometheus Operator's CRD schemas, as hack/install-tools.sh installs it.</summary>
    public static string PrometheusOperatorModels => Directory.Exists(Path.Combine(Repository.Root, ".tools", "prometheus-operator-models", "node_modules"))
        ? Path.Combine(Repository.Root, ".tools", "prometheus-operator-models")
        : throw new DirectoryNotFoundException("npm @kubernetes-models/prometheus-operator is not installed under .tools; run hack/install-tools.sh (README's test command does)");

    public static string Lua => Find("lua5.4", "/usr/bin/lua5.4");

    /// <summary>Debian's Python, which has Debian's python3-consul2 (HashiCorp-independent Consul client).</summary>
    public static string DebianPython => File.Exists("/usr/lib/python3/dist-packages/consul/base.py")
        ? Find("python3", "/usr/bin/python3")
        : throw new FileNotFoundException("Debian's python3-consul2 is not installed; run hack/install-tools.sh (README's test command does)");

    public static (int ExitCode, string Output, string Error) Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repository.Root };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    private static string Find(string name, params string[] expected) =>
        expected.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException($"{name} is not installed at {string.Join(" or ", expected)}; run hack/install-tools.sh (README's test command does)");
}
