using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;
using ConsulOperator.Benchmarks;
using ConsulOperator.Desired;
using ConsulOperator.Pki;

// dotnet run -c Release --project bench/ConsulOperator.Benchmarks -- micro [BenchmarkDotNet arguments]
// dotnet run -c Release --project bench/ConsulOperator.Benchmarks -- cold-render
// dotnet run -c Release --project bench/ConsulOperator.Benchmarks -- operator BINARY --clusters 1,10,100,1000 [--resync-seconds 20] [--reactions 200] [--storm]
// dotnet run -c Release --project bench/ConsulOperator.Benchmarks -- startup BINARY [--runs 5]
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

switch (args.FirstOrDefault())
{
    case "micro":
        BenchmarkSwitcher.FromAssembly(typeof(RenderBenchmarks).Assembly).Run(args[1..]);
        break;
    case "cold-render":
        // The first build in a fresh process: JIT, type loading and the first key generation included.
        var clock = Stopwatch.StartNew();
        var cluster = Samples.Cluster();
        var material = KeyMaterialPlanner.Plan(ExistingKeyMaterial.None, KeyMaterialSecrets.Requirements(cluster), TimeProvider.System).Material;
        var issued = clock.Elapsed;
        var objects = DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{issued.TotalMilliseconds:F1} {clock.Elapsed.TotalMilliseconds - issued.TotalMilliseconds:F1} {objects.Count}"));
        break;
    case "operator":
        await OperatorBenchmarks.RunAsync(
            args[1],
            [.. (Value("--clusters") ?? "1,10,100").Split(',').Select(int.Parse)],
            TimeSpan.FromSeconds(int.Parse(Value("--resync-seconds") ?? "20", CultureInfo.InvariantCulture)),
            int.Parse(Value("--reactions") ?? "0", CultureInfo.InvariantCulture),
            args.Contains("--storm"),
            Console.Out);
        break;
    case "startup":
        await OperatorBenchmarks.StartupAsync(args[1], int.Parse(Value("--runs") ?? "5", CultureInfo.InvariantCulture), Console.Out);
        break;
    default:
        Console.Error.WriteLine("usage: micro | cold-render | operator BINARY --clusters 1,10 | startup BINARY (see bench/run.sh)");
        return 2;
}

return 0;
