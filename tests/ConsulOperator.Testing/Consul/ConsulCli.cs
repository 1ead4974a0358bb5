using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// The consul CLI's snapshot commands, as the containers the operator renders call them (a <c>consul</c> on the node's
/// PATH runs this). Each is what upstream's command does (UPSTREAM.md, SN3): the same environment (CONSUL_HTTP_ADDR,
/// CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_TOKEN), the same requests,
/// files and messages. <see cref="DialVariable"/> is the node's network: where every name is dialled.
/// </summary>
public static class ConsulCli
{
    /// <summary>host:port that every address reaches (set by the node, not by the pod).</summary>
    public const string DialVariable = "CONSUL_SIMULATION_DIAL";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        try
        {
            return await DispatchAsync(args, output, error);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            // The api client fails before any request: a file it cannot read, a server it cannot reach or trust.
            await error.WriteLineAsync($"Error connecting to Consul agent: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> DispatchAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        switch (args)
        {
            case ["snapshot", "save", var file]:
                return await SaveAsync(file, output, error);
            case ["snapshot", "restore", var file]:
                return await RestoreAsync(file, output, error);
            case ["snapshot", "inspect", var file]:
                return Inspect(file, output, error);
            default:
                await error.WriteLineAsync($"consul {string.Join(' ', args)}: not simulated");
                return 1;
        }
    }

    // command/snapshot/save: GET /v1/snapshot into FILE.unverified, verify it (snapshot.Verify), rename, report the index.
    private static async Task<int> SaveAsync(string file, TextWriter output, TextWriter error)
    {
        using var client = Client();
        using var response = await client.GetAsync("/v1/snapshot");
        var body = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode)
        {
            await error.WriteLineAsync($"Error saving snapshot: Unexpected response code: {(int)response.StatusCode} ({System.Text.Encoding.UTF8.GetString(body)})");
            return 1;
        }

        var unverified = file + ".unverified";
        await File.WriteAllBytesAsync(unverified, body);
        try
        {
            if (SnapshotArchive.Read(body).Error is { } invalid)
            {
                await error.WriteLineAsync($"Error verifying snapshot file: {invalid}");
                return 1;
            }

            File.Move(unverified, file, overwrite: true);
        }
        finally
        {
            File.Delete(unverified);
        }

        var index = response.Headers.TryGetValues("X-Consul-Index", out var values) ? values.First() : "0";
        await output.WriteLineAsync($"Saved and verified snapshot to index {index}");
        return 0;
    }

    // command/snapshot/restore: PUT the file to /v1/snapshot.
    private static async Task<int> RestoreAsync(string file, TextWriter output, TextWriter error)
    {
        if (!File.Exists(file))
        {
            await error.WriteLineAsync($"Error opening snapshot file: open {file}: no such file or directory");
            return 1;
        }

        using var client = Client();
        using var response = await client.PutAsync("/v1/snapshot", new ByteArrayContent(await File.ReadAllBytesAsync(file)));
        if (!response.IsSuccessStatusCode)
        {
            await error.WriteLineAsync($"Error restoring snapshot: Unexpected response code: {(int)response.StatusCode} ({await response.Content.ReadAsStringAsync()})");
            return 1;
        }

        await output.WriteLineAsync("Restored snapshot");
        return 0;
    }

    // command/snapshot/inspect: the file's meta.json, read locally (no server), in the pretty format's first lines.
    private static int Inspect(string file, TextWriter output, TextWriter error)
    {
        if (!File.Exists(file))
        {
            error.WriteLine($"Error opening snapshot file: open {file}: no such file or directory");
            return 1;
        }

        var (archive, invalid) = SnapshotArchive.Read(File.ReadAllBytes(file));
        if (archive is null)
        {
            error.WriteLine($"Error extracting snapshot data: {invalid}");
            return 1;
        }

        foreach (var field in new[] { "ID", "Size", "Index", "Term", "Version" })
        {
            output.WriteLine($"{field,-13}{archive.Meta[field]}");
        }

        return 0;
    }

    // The api package's client from the environment. SNI is the address's host, where Go would send
    // CONSUL_TLS_SERVER_NAME, because the simulated servers are found by SNI; the certificate is checked for that name.
    private static HttpClient Client()
    {
        var address = new Uri(Environment.GetEnvironmentVariable("CONSUL_HTTP_ADDR") ?? "http://127.0.0.1:8500");
        var dial = (Environment.GetEnvironmentVariable(DialVariable) ?? $"{address.Host}:{address.Port}").Split(':');
        var ca = Environment.GetEnvironmentVariable("CONSUL_CACERT") is { } caFile ? X509Certificate2.CreateFromPem(File.ReadAllText(caFile)) : null;
        var serverName = Environment.GetEnvironmentVariable("CONSUL_TLS_SERVER_NAME") ?? address.Host;
        var clientCertificate = Environment.GetEnvironmentVariable("CONSUL_CLIENT_CERT") is { } certFile && Environment.GetEnvironmentVariable("CONSUL_CLIENT_KEY") is { } keyFile
            ? ConsulOperator.Pki.IssuedCertificate.Load(File.ReadAllText(certFile), File.ReadAllText(keyFile), certFile).ToX509Certificate2()
            : null;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(dial[0], int.Parse(dial[1], System.Globalization.CultureInfo.InvariantCulture), cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = address.Host,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && ca is not null && RpcTls.Verify(new X509Certificate2(certificate), ca, RpcTls.ServerAuth, DateTimeOffset.UtcNow) is null
                    && new X509Certificate2(certificate).MatchesHostname(serverName),
            },
        };
        var client = new HttpClient(handler) { BaseAddress = address };
        if (Environment.GetEnvironmentVariable("CONSUL_HTTP_TOKEN") is { Length: > 0 } token)
        {
            client.DefaultRequestHeaders.Add("X-Consul-Token", token);
        }

        return client;
    }
}
