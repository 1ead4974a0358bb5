using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConsulOperator.Desired.Dns;

/// <summary>
/// The kube-dns way to forward a zone: an entry in the JSON of the <c>stubDomains</c> key of the kube-dns ConfigMap.
/// JSON has no room for a marker, so the caller remembers which zone is ours (an annotation) and passes it in.
/// </summary>
public static class StubDomainsPatcher
{
    public const string Key = "stubDomains";

    /// <summary>The new stubDomains JSON with our zone pointing at the upstream, or a conflict when someone else's entry holds the zone.</summary>
    public static DnsPatch Apply(string? stubDomains, ForwardingBlock block, bool zoneIsOurs)
    {
        if (!TryParse(stubDomains, out var domains, out var error))
        {
            return DnsPatch.Refused($"the {Key} of kube-dns is not a JSON object ({error}); fix it before the operator can add {block.Zone}");
        }

        var upstream = block.UpstreamPort == 53 ? block.UpstreamAddress : $"{block.UpstreamAddress}:{block.UpstreamPort}";
        var wanted = new JsonArray(upstream);
        if (domains[block.Zone] is { } existing)
        {
            if (JsonNode.DeepEquals(existing, wanted))
            {
                return new DnsPatch(stubDomains, Changed: false, Conflict: null);
            }

            if (!zoneIsOurs)
            {
                return DnsPatch.Refused($"kube-dns {Key} already forwards {block.Zone} to {existing.ToJsonString()}; remove that entry, or set spec.dns.coreDns.patch=false and keep forwarding by hand");
            }
        }

        domains[block.Zone] = wanted;
        return new DnsPatch(domains.ToJsonString(), Changed: true, Conflict: null);
    }

    public static DnsPatch Remove(string? stubDomains, ForwardingBlock block)
    {
        if (!TryParse(stubDomains, out var domains, out _) || !domains.Remove(block.Zone))
        {
            return new DnsPatch(stubDomains, Changed: false, Conflict: null);
        }

        return new DnsPatch(domains.ToJsonString(), Changed: true, Conflict: null);
    }

    private static bool TryParse(string? text, out JsonObject domains, out string? error)
    {
        domains = new JsonObject();
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        try
        {
            if (JsonNode.Parse(text) is JsonObject parsed)
            {
                domains = parsed;
                return true;
            }

            error = "not an object";
        }
        catch (JsonException e)
        {
            error = e.Message;
        }

        return false;
    }
}
