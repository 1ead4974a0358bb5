using ConsulOperator.Desired;
using ConsulOperator.Pki;
using ConsulOperator.Tests.Support;
using k8s.Models;

namespace ConsulOperator.Tests.Pki;

/// <summary>Every certificate a rendered cluster holds, checked by the real openssl: chain, purpose, host name and name constraints.</summary>
public sealed class OpenSslVerificationTests : IDisposable
{
    private readonly OpenSsl openssl = new();

    [Fact]
    public void Every_certificate_of_the_sample_cluster_verifies_against_its_ca_for_its_purpose()
    {
        var cluster = Clusters.Sample();
        var objects = Clusters.Build(cluster);
        var secrets = objects.OfType<V1Secret>().ToDictionary(s => s.Metadata.Name);
        var caFile = openssl.Write("ca.pem", Text(secrets["consul-ca"], "tls.crt"));
        var checkedCount = 0;

        foreach (var (name, secret) in secrets.Where(s => s.Value.Type == "kubernetes.io/tls" && s.Key != "consul-ca"))
        {
            var leaf = openssl.Write($"{name}.pem", Text(secret, "tls.crt"));
            Assert.Equal(Text(secrets["consul-ca"], "tls.crt"), Text(secret, "ca.crt"));
            if (name.StartsWith("consul-server-", StringComparison.Ordinal))
            {
                // Servers serve TLS as server.dc1.consul and also dial each other, which Raft checks as client auth.
                AssertVerifies(caFile, leaf, "sslserver", "server.dc1.consul");
                AssertVerifies(caFile, leaf, "sslserver", $"{name[..^4]}.consul-server.consul.svc.cluster.local");
                AssertVerifies(caFile, leaf, "sslclient", null);
            }
            else if (name.StartsWith("consul-client-", StringComparison.Ordinal))
            {
                AssertVerifies(caFile, leaf, "sslclient", null);
                AssertVerifies(caFile, leaf, "sslserver", "client.dc1.consul");
            }
            else
            {
                Assert.True(name is "consul-cli-tls" or "consul-metrics-tls", name);
                AssertVerifies(caFile, leaf, "sslclient", null);
                AssertRejected(caFile, leaf, "sslserver", null, "unsuitable certificate purpose");
            }

            checkedCount++;
        }

        Assert.Equal(3 + 2 + 2, checkedCount);
    }

    [Fact]
    public void A_server_certificate_does_not_verify_for_another_datacenter()
    {
        var (caFile, leaf) = Issue(LeafRequest.For(CertificateRole.Server, "dc1", "consul", []));

        AssertRejected(caFile, leaf, "sslserver", "server.dc2.consul", "hostname mismatch");
    }

    [Fact]
    public void The_ca_name_constraints_reject_a_name_outside_the_permitted_domains()
    {
        // Proves that openssl enforces the constraints we set, so the positive checks above mean something.
        var (caFile, leaf) = Issue(new LeafRequest(CertificateRole.Server, "server.dc1.consul", ["server.dc1.consul", "consul-server.other-namespace.svc"], []));

        AssertRejected(caFile, leaf, "sslserver", null, "permitted subtree violation");
    }

    [Fact]
    public void Openssl_reads_the_ca_as_a_critical_name_constrained_prime256v1_ca()
    {
        var ca = CertificateAuthority.Create(1825, CertificateAuthority.PermittedDomainsFor("consul", "consul", "cluster.local"), "consul/consul", TimeProvider.System);
        var text = openssl.Run("x509", "-noout", "-text", "-in", openssl.Write("ca.pem", ca.CertificatePem)).Output;

        Assert.Contains("ASN1 OID: prime256v1", text, StringComparison.Ordinal);
        Assert.Contains("X509v3 Name Constraints: critical", text, StringComparison.Ordinal);
        Assert.Contains("CA:TRUE", text, StringComparison.Ordinal);
        Assert.Contains("Certificate Sign, CRL Sign", text, StringComparison.Ordinal);

        var key = openssl.Run("ec", "-noout", "-text", "-in", openssl.Write("ca-key.pem", ca.PrivateKeyPem));
        Assert.Equal(0, key.ExitCode);
        Assert.Contains("prime256v1", key.Output, StringComparison.Ordinal);
    }

    private (string CaFile, string LeafFile) Issue(LeafRequest request)
    {
        var ca = CertificateAuthority.Create(1825, CertificateAuthority.PermittedDomainsFor("consul", "consul", "cluster.local"), "consul/consul", TimeProvider.System);
        var leaf = ca.Issue(request, 30, TimeProvider.System);
        return (openssl.Write("ca.pem", ca.CertificatePem), openssl.Write("leaf.pem", leaf.CertificatePem));
    }

    private void AssertVerifies(string caFile, string leafFile, string purpose, string? hostname)
    {
        var (exitCode, output) = Verify(caFile, leafFile, purpose, hostname);
        Assert.True(exitCode == 0 && output.Contains(": OK", StringComparison.Ordinal), $"openssl verify -purpose {purpose} {hostname}: {output}");
    }

    private void AssertRejected(string caFile, string leafFile, string purpose, string? hostname, string reason)
    {
        var (exitCode, output) = Verify(caFile, leafFile, purpose, hostname);
        Assert.NotEqual(0, exitCode);
        Assert.Contains(reason, output, StringComparison.Ordinal);
    }

    private (int, string) Verify(string caFile, string leafFile, string purpose, string? hostname)
    {
        string[] hostArguments = hostname is null ? [] : ["-verify_hostname", hostname];
        return openssl.Run(["verify", "-x509_strict", "-CAfile", caFile, "-purpose", purpose, .. hostArguments, leafFile]);
    }

    private static string Text(V1Secret secret, string key) => System.Text.Encoding.ASCII.GetString(secret.Data[key]);

    public void Dispose() => openssl.Dispose();
}
