using System.Text.RegularExpressions;

namespace ConsulOperator.Testing.Consul;

/// <summary>One ACL rule: a resource (service, node, agent, key, operator, keyring, acl...), a name or prefix, and read or write.</summary>
public sealed record AclRule(string Resource, string Segment, bool Prefix, string Policy);

/// <summary>
/// The subset of Consul's HCL rule language the operator writes, read the way Consul does: <c>service_prefix "" { policy = "read" }</c>,
/// <c>node "web" { policy = "write" }</c>, <c>operator = "write"</c>. The most specific (longest) match decides; "write" implies "read", "deny" denies both.
/// </summary>
public static partial class AclRules
{
    public static IReadOnlyList<AclRule> Parse(string rules)
    {
        var parsed = new List<AclRule>();
        foreach (Match m in Block().Matches(rules))
        {
            parsed.Add(new AclRule(m.Groups["resource"].Value, m.Groups["segment"].Value, m.Groups["prefix"].Success, m.Groups["policy"].Value));
        }

        foreach (Match m in TopLevel().Matches(rules))
        {
            parsed.Add(new AclRule(m.Groups["resource"].Value, "", true, m.Groups["policy"].Value));
        }

        return parsed;
    }

    /// <summary>
    /// [A10] Whether Consul would take the rules, and its refusal if not: text the parser cannot read is
    /// "Failed to parse ACL rules: …" (acl/policy.go <c>parse</c>), a known rule with a policy value that is none of
    /// read, write, deny (list for keys) is "Invalid &lt;resource&gt; policy: …". The HCL error's own text is not
    /// reproduced. Only the subset this parser reads is accepted: anything else counts as unparsable, which is stricter
    /// than Consul (JSON rules, for one, are refused here).
    /// </summary>
    public static string? Validate(string rules)
    {
        var rest = Comment().Replace(rules, "");
        foreach (Match m in AnyBlock().Matches(rest))
        {
            var resource = m.Groups["resource"].Value;
            var policy = m.Groups["policy"].Value;
            if (policy is not ("read" or "write" or "deny") && !(resource == "key" && policy == "list"))
            {
                return $"Invalid {resource} policy: \"{policy}\"";
            }
        }

        foreach (Match m in AnyTopLevel().Matches(rest))
        {
            if (m.Groups["policy"].Value is not ("read" or "write" or "deny"))
            {
                return $"Invalid {m.Groups["resource"].Value} policy: \"{m.Groups["policy"].Value}\"";
            }
        }

        var unread = AnyTopLevel().Replace(AnyBlock().Replace(rest, ""), "").Trim();
        return unread.Length == 0 ? null : $"Failed to parse ACL rules: cannot read \"{(unread.Length > 40 ? unread[..40] : unread)}\"";
    }

    /// <summary>[A9] What a service identity grants (docs: ACL service identities): write on the service and its sidecar proxy, read on every service and node.</summary>
    public static IReadOnlyList<AclRule> ServiceIdentity(string service) =>
        [new("service", service, false, "write"), new("service", $"{service}-sidecar-proxy", false, "write"), new("service", "", true, "read"), new("node", "", true, "read")];

    /// <summary>A node identity grants, as Consul documents: write on its node, read on every service.</summary>
    public static IReadOnlyList<AclRule> NodeIdentity(string node) => [new("node", node, false, "write"), new("service", "", true, "read")];

    [GeneratedRegex("""\b(?<resource>service|node|agent|key|session|event|query)(?<prefix>_prefix)?\s+"(?<segment>[^"]*)"\s*\{\s*policy\s*=\s*"(?<policy>read|write|deny)"\s*\}""")]
    private static partial Regex Block();

    [GeneratedRegex("""(?m)^\s*(?<resource>operator|keyring|acl|mesh)\s*=\s*"(?<policy>read|write)"\s*$""")]
    private static partial Regex TopLevel();

    [GeneratedRegex("""\b(?<resource>service|node|agent|key|session|event|query)(?<prefix>_prefix)?\s+"(?<segment>[^"]*)"\s*\{\s*policy\s*=\s*"(?<policy>[^"]*)"\s*\}""")]
    private static partial Regex AnyBlock();

    [GeneratedRegex("""(?m)^\s*(?<resource>operator|keyring|acl|mesh|peering)\s*=\s*"(?<policy>[^"]*)"\s*$""")]
    private static partial Regex AnyTopLevel();

    [GeneratedRegex("""(#|//)[^\n]*""")]
    private static partial Regex Comment();
}

/// <summary>What a token may do, resolved from its policies and identities.</summary>
public sealed class Authorizer(bool allowByDefault, IReadOnlyList<AclRule> rules)
{
    /// <summary>A secret Consul does not know: every request with it is answered 403 "ACL not found".</summary>
    public static readonly Authorizer NotFound = new(false, []) { TokenNotFound = true };

    public bool TokenNotFound { get; private init; }

    public bool Allows(string resource, string name, bool write)
    {
        if (TokenNotFound)
        {
            return false;
        }

        var match = rules
            .Where(r => r.Resource == resource && (r.Prefix ? name.StartsWith(r.Segment, StringComparison.Ordinal) : name == r.Segment))
            .OrderByDescending(r => r.Segment.Length).ThenBy(r => r.Prefix)
            .FirstOrDefault();
        return match is null ? allowByDefault : match.Policy == "write" || (match.Policy == "read" && !write);
    }
}
