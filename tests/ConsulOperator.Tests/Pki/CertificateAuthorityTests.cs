using System.Net;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using ConsulOperator.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Parameters;

namespace ConsulOperator.Tests.Pki;

public class CertificateAuthorityTests
{
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));

    private static CertificateAuthority NewCa(params string[] permitted) =>
        CertificateAuthority.Create(1825, permitted.Length == 0 ? CertificateAuthority.PermittedDomainsFor("consul", "consul", "cluster.local") : permitted, "consul/consul", Time);

    [Fact]
    public void Ca_is_a_self_signed_P256_ECDSA_CA_with_the_key_usages_consul_gives_it()
    {
        var ca = NewCa();
        var certificate = ca.Certificate;

        var key = Assert.IsType<ECPublicKeyParameters>(certificate.GetPublicKey());
        Assert.Equal(Org.BouncyCastle.Asn1.Sec.SecObjectIdentifiers.SecP256r1, key.PublicKeyParamSet);
        Assert.Equal(Org.BouncyCastle.Asn1.X9.X9ObjectIdentifiers.ECDsaWithSha256.Id, certificate.SigAlgOid);
        certificate.Verify(certificate.GetPublicKey());
        Assert.True(certificate.GetBasicConstraints() >= 0);
        Assert.Equal(KeyUsageNames(ConsulTlsFacts.KeyUsages[0]), certificate.GetKeyUsage());
        Assert.StartsWith("Consul Agent CA ", certificate.SubjectDN.GetValueList(X509Name.CN)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Ca_validity_starts_slightly_before_now_and_lasts_the_days_asked()
    {
        var ca = CertificateAuthority.Create(36500, [], "ns/c", Time);

        Assert.Equal(Time.GetUtcNow() - CertificateAuthority.ClockSkewAllowance, new DateTimeOffset(ca.Certificate.NotBefore, TimeSpan.Zero));
        Assert.Equal(Time.GetUtcNow().AddDays(36500), ca.NotAfter);
    }

    [Fact]
    public void Api_defaults_for_validity_match_the_consul_cli_defaults()
    {
        var tls = new TlsSpec();

        Assert.Equal(ConsulTlsFacts.DefaultCaDays, tls.CaValidityDays);
        Assert.Equal(ConsulTlsFacts.DefaultLeafDays, tls.LeafValidityDays);
    }

    [Fact]
    public void Name_constraints_are_critical_and_permit_the_consul_domain_localhost_and_the_namespace_services()
    {
        var ca = NewCa();

        Assert.Equal(["consul", "localhost", "consul.svc", "consul.svc.cluster.local"], ca.PermittedDnsDomains);
        Assert.Contains(X509Extensions.NameConstraints.Id, ca.Certificate.GetCriticalExtensionOids());
    }

    [Fact]
    public void Without_name_constraints_the_ca_carries_no_such_extension()
    {
        var ca = CertificateAuthority.Create(10, [], "ns/c", Time);

        Assert.Empty(ca.PermittedDnsDomains);
        Assert.Null(ca.Certificate.GetExtensionValue(X509Extensions.NameConstraints));
    }

    [Theory]
    [InlineData(CertificateRole.Server, "-server")]
    [InlineData(CertificateRole.Client, "-client")]
    public void Agent_certificates_carry_the_names_and_usages_consul_tls_cert_create_gives_them(CertificateRole role, string flag)
    {
        var facts = ConsulTlsFacts.Role(flag);
        var extra = new[] { "consul-server-0.consul-server.consul.svc", "consul-server-0.consul-server.consul.svc.cluster.local" };
        var leaf = NewCa().Issue(LeafRequest.For(role, "dc1", "consul", extra), 365, Time);

        Assert.Equal(facts.CommonName("dc1", "consul"), leaf.CommonName);
        Assert.Equal([.. extra, .. facts.DnsNames("dc1", "consul")], leaf.DnsNames);
        Assert.Equal(facts.IpAddresses.Select(IPAddress.Parse), leaf.IpAddresses);
        Assert.Equal(facts.ExtendedKeyUsages.Select(EkuOid), leaf.ExtendedKeyUsages);
        Assert.Equal(KeyUsageNames(ConsulTlsFacts.KeyUsages[1]), leaf.Certificate.GetKeyUsage());
        Assert.Equal(-1, leaf.Certificate.GetBasicConstraints());
        Assert.Equal([X509Name.CN], leaf.Certificate.SubjectDN.GetOidList());
    }

    [Fact]
    public void Cli_certificate_has_the_cli_names_and_only_client_auth()
    {
        var facts = ConsulTlsFacts.Role("-cli");
        var leaf = NewCa().Issue(LeafRequest.For(CertificateRole.Cli, "dc1", "consul", ["ignored.example"]), 365, Time);

        Assert.Equal(facts.CommonName("dc1", "consul"), leaf.CommonName);
        Assert.Equal(facts.DnsNames("dc1", "consul"), leaf.DnsNames);
        Assert.Empty(leaf.IpAddresses);

        // consul tls leaves the EKU out (any use); we narrow it to client auth, which is all the CLI does.
        Assert.Empty(facts.ExtendedKeyUsages);
        Assert.Equal([KeyPurposeID.id_kp_clientAuth.Id], leaf.ExtendedKeyUsages);
    }

    [Fact]
    public void A_leaf_never_outlives_its_ca()
    {
        var ca = CertificateAuthority.Create(10, [], "ns/c", Time);

        var leaf = ca.Issue(LeafRequest.For(CertificateRole.Server, "dc1", "consul", []), 365, Time);

        Assert.Equal(ca.NotAfter, leaf.NotAfter);
    }

    [Fact]
    public void Loading_pem_round_trips_and_detects_a_foreign_key()
    {
        var ca = NewCa();
        var leaf = ca.Issue(LeafRequest.For(CertificateRole.Client, "dc1", "consul", []), 30, Time);
        var other = ca.Issue(LeafRequest.For(CertificateRole.Client, "dc1", "consul", []), 30, Time);

        var reloaded = CertificateAuthority.Load(ca.CertificatePem, ca.PrivateKeyPem, "test");
        Assert.True(reloaded.IsIssuerOf(IssuedCertificate.Load(leaf.CertificatePem, leaf.PrivateKeyPem, "test")));
        Assert.StartsWith("-----BEGIN EC PRIVATE KEY-----", leaf.PrivateKeyPem, StringComparison.Ordinal);

        var mismatch = Assert.Throws<KeyMaterialException>(() => IssuedCertificate.Load(leaf.CertificatePem, other.PrivateKeyPem, "Secret x"));
        Assert.Contains("does not belong", mismatch.Message, StringComparison.Ordinal);
        Assert.Throws<KeyMaterialException>(() => CertificateAuthority.Load(leaf.CertificatePem, leaf.PrivateKeyPem, "Secret x"));
        Assert.Throws<KeyMaterialException>(() => CertificateAuthority.Load("garbage", ca.PrivateKeyPem, "Secret x"));
    }

    [Fact]
    public void A_ca_recognises_only_its_own_leaves()
    {
        var ca = NewCa();
        var stranger = NewCa();
        var leaf = stranger.Issue(LeafRequest.For(CertificateRole.Server, "dc1", "consul", []), 30, Time);

        Assert.False(ca.IsIssuerOf(leaf));
        Assert.True(stranger.IsIssuerOf(leaf));
    }

    [Fact]
    public void Gossip_keys_are_32_random_bytes_in_padded_base64_like_consul_keygen()
    {
        var key = GossipKey.Generate();

        Assert.Equal(44, key.Length);
        Assert.EndsWith("=", key, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(key).Length);
        Assert.NotEqual(key, GossipKey.Generate());
        Assert.True(GossipKey.IsValid(Convert.ToBase64String(new byte[16])));
        Assert.False(GossipKey.IsValid(Convert.ToBase64String(new byte[20])));
        Assert.False(GossipKey.IsValid("not base64!"));
    }

    private static bool[] KeyUsageNames(string[] names)
    {
        // RFC 5280 bit order, as BouncyCastle reports GetKeyUsage().
        string[] order = ["DigitalSignature", "NonRepudiation", "KeyEncipherment", "DataEncipherment", "KeyAgreement", "CertSign", "CRLSign", "EncipherOnly", "DecipherOnly"];
        Assert.All(names, n => Assert.Contains(n, order));
        return [.. order.Select(names.Contains)];
    }

    private static string EkuOid(string name) => name switch
    {
        "ServerAuth" => KeyPurposeID.id_kp_serverAuth.Id,
        "ClientAuth" => KeyPurposeID.id_kp_clientAuth.Id,
        _ => throw new ArgumentException($"unknown EKU {name} in the facts"),
    };
}
