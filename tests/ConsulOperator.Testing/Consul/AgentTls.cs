using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;

namespace ConsulOperator.Testing.Consul;

/// <summary>An agent's TLS material, loaded from the files its configuration names in its pod (once per agent start).</summary>
internal sealed record AgentTls(X509Certificate2 Serving, X509Certificate2 Ca)
{
    private static readonly ConditionalWeakTable<AgentStart, AgentTls?> Loaded = [];

    public static AgentTls? Of(AgentStart start) => Loaded.GetValue(start, Load);

    private static AgentTls? Load(AgentStart start)
    {
        if (start.CertFile is not { } certFile || start.KeyFile is not { } keyFile || start.CaFile is not { } caFile
            || start.ReadFile(certFile) is not { } certificate || start.ReadFile(keyFile) is not { } key || start.ReadFile(caFile) is not { } ca)
        {
            return null;
        }

        return new AgentTls(
            ConsulOperator.Pki.IssuedCertificate.Load(certificate, key, certFile).ToX509Certificate2(),
            X509Certificate2.CreateFromPem(ca));
    }
}
