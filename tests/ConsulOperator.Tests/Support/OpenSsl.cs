using System.Diagnostics;

namespace ConsulOperator.Tests.Support;

/// <summary>The real openssl binary, run on files in a temporary directory.</summary>
public sealed class OpenSsl : IDisposable
{
    private readonly string directory = System.IO.Directory.CreateTempSubdirectory("openssl-").FullName;

    /// <summary>Where openssl runs, and so where the files it writes land.</summary>
    public string Directory => directory;

    public string Read(string name) => File.ReadAllText(Path.Combine(directory, name));

    public string Write(string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    public (int ExitCode, string Output) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    public void Dispose() => System.IO.Directory.Delete(directory, recursive: true);
}
