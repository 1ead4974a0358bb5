using System.CommandLine;
using ConsulOperator.Cli;

namespace ConsulOperator;

internal static class Program
{
    public static int Main(string[] args) => Run(args, Console.In, Console.Out, Console.Error);

    internal static int Run(string[] args, TextReader stdin, TextWriter output, TextWriter error)
    {
        var files = new Option<string[]>("--file", "-f") { Description = "A YAML file with ConsulCluster and ConsulService objects ('-' for standard input); repeatable", Required = true, Arity = ArgumentArity.OneOrMore };
        var secrets = new Option<string?>("--secrets") { Description = "A YAML file of Secrets (as render wrote them, or kubectl get secrets -o yaml) whose CA, gossip key and certificates are reused" };
        var outputDirectory = new Option<string?>("--output-dir", "-o") { Description = "Write one file per object into this directory instead of printing" };
        var render = new Command("render", "Print every Kubernetes object the operator would create for a ConsulCluster, with fresh or given key material") { files, secrets, outputDirectory };
        render.SetAction(result => RenderCommand.Run(result.GetValue(files)!, result.GetValue(secrets), result.GetValue(outputDirectory), TimeProvider.System, stdin, output, error));

        var root = new Option<string>("--root") { Description = "The repository root to write config/crds and config/rbac under", DefaultValueFactory = _ => "." };
        var manifests = new Command("manifests", "Write the CRDs and RBAC manifests generated from the code") { root };
        manifests.SetAction(result => ManifestsCommand.Run(result.GetValue(root)!, error));

        var command = new RootCommand("consul-operator: runs HashiCorp Consul clusters on Kubernetes") { render, manifests };
        return command.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
