using ConsulOperator.Pki;
using Microsoft.Extensions.Time.Testing;

namespace ConsulOperator.Tests.Pki;

public class ReissuePolicyTests
{
    private static readonly TimeSpan RotateBefore = TimeSpan.FromDays(30);
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly CertificateAuthority ca;
    private readonly LeafRequest request = LeafRequest.For(CertificateRole.Server, "dc1", "consul", ["consul-server-0.consul-server.consul.svc"]);

    public ReissuePolicyTests() => ca = CertificateAuthority.Create(1825, [], "consul/consul", time);

    private ReissueReason? Evaluate(LeafState? existing, LeafRequest? wanted = null) =>
        ReissuePolicy.Evaluate(new ReissueInput(existing, wanted ?? request, ca, RotateBefore, time.GetUtcNow()));

    private LeafState Issued(int days = 365, LeafRequest? issuedFor = null, CertificateAuthority? by = null) =>
        new((by ?? ca).Issue(issuedFor ?? request, days, time), null);

    [Fact]
    public void A_fresh_matching_certificate_is_kept() => Assert.Null(Evaluate(Issued()));

    [Fact]
    public void A_missing_certificate_is_issued() => Assert.Equal("Missing", Evaluate(null)?.Reason);

    [Fact]
    public void An_unreadable_certificate_is_reissued_with_the_read_error()
    {
        var reason = Evaluate(new LeafState(null, "Secret x: unreadable PEM"));

        Assert.Equal("Unreadable", reason?.Reason);
        Assert.Equal("Secret x: unreadable PEM", reason?.Message);
    }

    [Fact]
    public void A_certificate_from_another_ca_is_reissued()
    {
        var other = CertificateAuthority.Create(1825, [], "other/ca", time);

        Assert.Equal("IssuerMismatch", Evaluate(Issued(by: other))?.Reason);
    }

    [Fact]
    public void A_certificate_whose_names_no_longer_match_is_reissued()
    {
        var moved = LeafRequest.For(CertificateRole.Server, "dc1", "consul", ["consul-server-0.consul-server.other.svc"]);

        Assert.Equal("NamesChanged", Evaluate(Issued(), moved)?.Reason);
    }

    [Fact]
    public void A_certificate_of_another_role_is_reissued()
    {
        var asClient = LeafRequest.For(CertificateRole.Client, "dc1", "consul", []);

        Assert.Equal("NamesChanged", Evaluate(Issued(issuedFor: asClient), asClient with { Role = CertificateRole.Cli, DnsNames = asClient.DnsNames })?.Reason);
    }

    [Fact]
    public void A_certificate_is_kept_until_the_rotation_window_opens_and_reissued_from_then_on()
    {
        var existing = Issued(days: 90);

        time.Advance(TimeSpan.FromDays(60) - TimeSpan.FromMinutes(1));
        Assert.Null(Evaluate(existing));

        time.Advance(TimeSpan.FromMinutes(1));
        var reason = Evaluate(existing);
        Assert.Equal("Expiring", reason?.Reason);
        Assert.Contains("2027-02-21T08:00:00Z", reason?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_from_the_future_is_reissued()
    {
        var issuerClock = new FakeTimeProvider(time.GetUtcNow() + TimeSpan.FromHours(1));
        var existing = new LeafState(ca.Issue(request, 365, issuerClock), null);

        Assert.Equal("NotYetValid", Evaluate(existing)?.Reason);
    }
}
