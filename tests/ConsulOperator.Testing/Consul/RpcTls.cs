using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ConsulOperator.Testing.Consul;

/// <summary>
/// [R10] Whether one server can open internal RPC (raft's connections included) to another, as tlsutil/config.go
/// decides: with <c>verify_outgoing</c> the dialer uses TLS and checks the other's certificate against its own CA
/// (<c>wrapTLSClient</c>), for the name <c>server.&lt;datacenter&gt;.&lt;domain&gt;</c> with <c>verify_server_hostname</c>;
/// with <c>verify_incoming</c> the other side requires and verifies a client certificate (<c>IncomingRPCConfig</c>:
/// <c>tls.RequireAndVerifyClientCert</c>), and refuses a connection without TLS.
/// </summary>
internal static class RpcTls
{
    internal static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>Why <paramref name="dialer"/> cannot reach <paramref name="target"/> over RPC, in the words Consul would log; null when it can.</summary>
    public static string? Problem(ConsulDatacenter.Agent dialer, ConsulDatacenter.Agent target, DateTimeOffset now) =>
        dialer.Start is { } from ? Problem($"raft: failed to connect from {dialer.Name}", from, target, now) : null;

    /// <summary>The same for an agent about to start from <paramref name="from"/>; <paramref name="what"/> begins the message.</summary>
    public static string? Problem(string what, AgentStart from, ConsulDatacenter.Agent target, DateTimeOffset now)
    {
        if (target.Start is not { } to)
        {
            return null;
        }

        var prefix = $"{what} to {target.Name} at {ConsulDatacenter.OwnRaftAddress(target)}: ";
        if (!from.RpcVerifyOutgoing)
        {
            return to.RpcVerifyIncoming ? prefix + "non-TLS connection attempted with VerifyIncoming set" : null;
        }

        var dialerTls = AgentTls.Of(from);
        var targetTls = AgentTls.Of(to);
        if (dialerTls is null || targetTls is null)
        {
            return prefix + "TLS handshake failed: no certificate configured";
        }

        var serverName = $"server.{from.Datacenter ?? "dc1"}.{from.Domain}";
        if (Verify(targetTls.Serving, dialerTls.Ca, ServerAuth, now) is { } untrusted)
        {
            return prefix + untrusted;
        }

        if (from.RpcVerifyServerHostname && !targetTls.Serving.MatchesHostname(serverName))
        {
            return prefix + $"x509: certificate is not valid for {serverName}";
        }

        return to.RpcVerifyIncoming && Verify(dialerTls.Serving, targetTls.Ca, ClientAuth, now) is { } refused
            ? prefix + $"remote error: tls: bad certificate ({target.Name} refused the client certificate: {refused})"
            : null;
    }

    /// <summary>Go's crypto/x509 Verify with the peer's roots and the key usage its side asks for (texts recalled from Go); null when the chain holds.</summary>
    internal static string? Verify(X509Certificate2 certificate, X509Certificate2 ca, Oid usage, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(usage);
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        if (chain.Build(certificate))
        {
            return null;
        }

        var status = chain.ChainStatus.Select(s => s.Status).Aggregate(X509ChainStatusFlags.NoError, (all, one) => all | one);
        return status.HasFlag(X509ChainStatusFlags.NotTimeValid) ? "x509: certificate has expired or is not yet valid"
            : status.HasFlag(X509ChainStatusFlags.NotValidForUsage) ? "x509: certificate specifies an incompatible key usage"
            : "x509: certificate signed by unknown authority";
    }
}
