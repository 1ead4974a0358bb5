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

    /// <summary>A node identity grants, as Consul documents: write on its node, read on every service.</summary>
    public static IReadOnlyList<AclRule> NodeIdentity(string node) => [new("node", node, false, "write"), new("service", "", true, "read")];

    [GeneratedRegex("""\b(?<resource>service|node|agent|key|session|event|query)(?<prefix>_prefix)?\s+"(?<segment>[^"]*)"\s*\{\s*policy\s*=\s*"(?<policy>read|write|deny)"\s*\}""")]
    private static partial Regex Block();

    [GeneratedRegex("""(?m)^\s*(?<resource>operator|keyring|acl|mesh)\s*=\s*"(?<policy>read|write)"\s*$""")]
    private static partial Regex TopLevel();
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
