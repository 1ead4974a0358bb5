using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ConsulOperator.Benchmarks;

/// <summary>The published operator binary as a child process, with its memory and CPU read from /proc.</summary>
internal sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process process;

    private OperatorProcess(Process process, int port)
    {
        this.process = process;
        MetricsPort = port;
    }

    public int MetricsPort { get; }

    public int Id => process.Id;

    /// <param name="consulDial">host:port of the simulated Consul datacenters, when clusters are to become Ready.</param>
    public static OperatorProcess Start(string binary, string kubeconfig, string identity, TimeSpan resync, string? consulDial = null)
    {
        var port = FreePort();
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
                 {
                     "run", "--kubeconfig", kubeconfig, "--metrics-address", $"http://127.0.0.1:{port}", "--leader-election-namespace", "consul-operator",
                     "--resync-period", resync.ToString("c", CultureInfo.InvariantCulture), "--workers", "4",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if (consulDial is not null)
        {
            start.ArgumentList.Add("--consul-dial");
            start.ArgumentList.Add(consulDial);
        }

        start.Environment["POD_NAME"] = identity;
        var process = Process.Start(start)!;

        // Drain the logs so the child never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new OperatorProcess(process, port);
    }

    /// <summary>Resident memory now and at its peak, in MiB (VmRSS and VmHWM).</summary>
    public (double Current, double Peak) WorkingSetMiB()
    {
        var status = File.ReadAllLines($"/proc/{process.Id}/status");
        double Field(string name) => double.Parse(status.Single(l => l.StartsWith(name, StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        return (Field("VmRSS"), Field("VmHWM"));
    }

    public TimeSpan CpuTime()
    {
        process.Refresh();
        return process.TotalProcessorTime;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
