using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// [SN1] A snapshot file as Consul writes it: a gzip-compressed tar of <c>meta.json</c> (raft's snapshot metadata),
/// <c>state.bin</c> (the state) and <c>SHA256SUMS</c> (<c>&lt;hex&gt;  &lt;name&gt;</c> per file), which every reader
/// checks (snapshot/archive.go <c>write</c>, <c>read</c>; snapshot/snapshot.go <c>New</c>, <c>Verify</c>).
/// <b>Simplification:</b> <c>state.bin</c> holds the simulation's own JSON of the KV store, ACL tokens and policies,
/// not Consul's msgpack FSM records: a real snapshot cannot be restored here, nor one of these into Consul.
/// </summary>
public sealed record SnapshotArchive(JsonObject Meta, byte[] State)
{
    public ulong Index => (ulong)Meta["Index"]!;

    public ulong Term => (ulong)Meta["Term"]!;

    /// <summary>The archive for a state at a raft index: meta.json as raft's SnapshotMeta (ID "term-index-milliseconds", Size of state.bin).</summary>
    public static SnapshotArchive Of(byte[] state, ulong index, ulong term, DateTimeOffset now) => new(
        new JsonObject { ["Version"] = 1, ["ID"] = $"{term}-{index}-{now.ToUnixTimeMilliseconds()}", ["Index"] = index, ["Term"] = term, ["Size"] = state.Length },
        state);

    public byte[] Write()
    {
        var meta = Encoding.UTF8.GetBytes(Meta.ToJsonString() + "\n");
        var sums = $"{Convert.ToHexStringLower(SHA256.HashData(meta))}  meta.json\n{Convert.ToHexStringLower(SHA256.HashData(State))}  state.bin\n";
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, data) in new[] { ("meta.json", meta), ("state.bin", State), ("SHA256SUMS", Encoding.UTF8.GetBytes(sums)) })
            {
                tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            }
        }

        return output.ToArray();
    }

    /// <summary>Reads and checks a snapshot file; the error is the text Consul's reader gives, prefixed as snapshot.Read prefixes it.</summary>
    public static (SnapshotArchive? Archive, string? Error) Read(byte[] file)
    {
        var files = new Dictionary<string, byte[]>();
        try
        {
            using var gzip = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.Name is not ("meta.json" or "state.bin" or "SHA256SUMS"))
                {
                    return (null, $"failed to read snapshot file: unexpected file \"{entry.Name}\" in snapshot");
                }

                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                files[entry.Name] = data.ToArray();
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            return (null, $"failed to decompress snapshot: {e.Message}");
        }

        foreach (var name in new[] { "meta.json", "state.bin" })
        {
            var line = Encoding.UTF8.GetString(files.GetValueOrDefault("SHA256SUMS") ?? []).Split('\n').FirstOrDefault(l => l.EndsWith("  " + name, StringComparison.Ordinal));
            if (!files.TryGetValue(name, out var data) || line is null)
            {
                return (null, $"failed to read snapshot file: failed checking integrity of snapshot: file missing for \"{name}\"");
            }

            if (line[..line.IndexOf(' ')] != Convert.ToHexStringLower(SHA256.HashData(data)))
            {
                return (null, $"failed to read snapshot file: failed checking integrity of snapshot: hash check failed for \"{name}\"");
            }
        }

        return (new SnapshotArchive(JsonNode.Parse(files["meta.json"])!.AsObject(), files["state.bin"]), null);
    }
}
