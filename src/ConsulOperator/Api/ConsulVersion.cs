using System.Globalization;

namespace ConsulOperator.Api;

/// <summary>
/// A Consul version and what it decides about the configuration we write. Consul 1.12 moved TLS settings into the
/// <c>tls</c> stanza and deprecated the top-level keys; older agents know only the top-level keys.
/// </summary>
public sealed record ConsulVersion(int Major, int Minor, int Patch) : IComparable<ConsulVersion>
{
    public static readonly ConsulVersion OldestSupported = new(1, 6, 0);
    public static readonly ConsulVersion TlsStanza = new(1, 12, 0);
    public static readonly ConsulVersion GrpcTlsPort = new(1, 14, 0);

    /// <summary>ACL tokens take node identities from 1.8.1 (hashicorp/consul PR #7970); older servers ignore the field.</summary>
    public static readonly ConsulVersion NodeIdentities = new(1, 8, 1);

    /// <summary>consul_agent_tls_cert_expiry, seconds until the agent's TLS certificate expires (hashicorp/consul PR #10768, in the 1.11.0 changelog).</summary>
    public static readonly ConsulVersion AgentCertificateExpiryMetric = new(1, 11, 0);

    /// <summary>The agent reads the <c>tls { defaults, internal_rpc, https }</c> stanza (and the top-level keys are deprecated).</summary>
    public bool UsesTlsStanza => this >= TlsStanza;

    public bool HasGrpcTlsPort => this >= GrpcTlsPort;

    public bool HasNodeIdentities => this >= NodeIdentities;

    public bool HasAgentCertificateExpiryMetric => this >= AgentCertificateExpiryMetric;

    public static bool TryParse(string? text, out ConsulVersion version)
    {
        version = OldestSupported;
        var core = (text ?? "").Split('-', '+')[0].Split('.');
        if (core.Length != 3
            || !int.TryParse(core[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(core[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            || !int.TryParse(core[2], NumberStyles.None, CultureInfo.InvariantCulture, out var patch))
        {
            return false;
        }

        version = new ConsulVersion(major, minor, patch);
        return true;
    }

    public static ConsulVersion Parse(string text) =>
        TryParse(text, out var version) ? version : throw new FormatException($"'{text}' is not a Consul version (MAJOR.MINOR.PATCH)");

    public int CompareTo(ConsulVersion? other) =>
        other is null ? 1 : (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    public override string ToString() => $"{Major}.{Minor}.{Patch}";

    public static bool operator <(ConsulVersion left, ConsulVersion right) => left.CompareTo(right) < 0;

    public static bool operator <=(ConsulVersion left, ConsulVersion right) => left.CompareTo(right) <= 0;

    public static bool operator >(ConsulVersion left, ConsulVersion right) => left.CompareTo(right) > 0;

    public static bool operator >=(ConsulVersion left, ConsulVersion right) => left.CompareTo(right) >= 0;
}
