using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.Consul;

/// <summary>One server of a raft/peers.json, as hashicorp/raft reads it (peersjson.go).</summary>
public sealed record RaftEntry(string Id, string Address, bool NonVoter)
{
    /// <summary>
    /// Protocol 3 on, ReadConfigJSON: an array of <c>{"id", "address", "non_voter"}</c>, decoded by encoding/json (field
    /// names match case-insensitively, unknown fields are ignored, a missing non_voter is a voter). Before, ReadPeersJSON:
    /// an array of addresses, each its own ID.
    /// </summary>
    public static IReadOnlyList<RaftEntry> Parse(string json, int raftProtocol)
    {
        var array = JsonNode.Parse(json) as JsonArray ?? throw new InvalidOperationException("json: cannot unmarshal into a list of peers");
        return raftProtocol < 3
            ? [.. array.Select(a => (string?)a ?? throw new InvalidOperationException("json: cannot unmarshal a non-string address")).Select(a => new RaftEntry(a, a, false))]
            : [.. array.Select(e => e as JsonObject ?? throw new InvalidOperationException("json: cannot unmarshal a non-object entry"))
                .Select(e => new RaftEntry((string?)Field(e, "id") ?? "", (string?)Field(e, "address") ?? "", (bool?)Field(e, "non_voter") ?? false))];
    }

    /// <summary>hashicorp/raft configuration.go checkConfiguration: IDs and addresses present and unique, and a voter among them.</summary>
    public static string? Check(IReadOnlyList<RaftEntry> entries) =>
        entries.FirstOrDefault(e => e.Id.Length == 0) is { } noId ? $"empty ID in configuration: {noId}"
        : entries.FirstOrDefault(e => e.Address.Length == 0) is { } noAddress ? $"empty address in configuration: {noAddress}"
        : entries.GroupBy(e => e.Id).FirstOrDefault(g => g.Count() > 1) is { } id ? $"found duplicate ID in configuration: {id.Key}"
        : entries.GroupBy(e => e.Address).FirstOrDefault(g => g.Count() > 1) is { } address ? $"found duplicate address in configuration: {address.Key}"
        : entries.Any(e => !e.NonVoter) ? null : "need at least one voter in configuration";

    private static JsonNode? Field(JsonObject entry, string name) =>
        entry.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}
