using ConsulOperator.Desired.Dns;

namespace ConsulOperator.Tests.Desired.Dns;

public class StubDomainsPatcherTests
{
    private static readonly ForwardingBlock Block = new("consul/consul", "service.consul", "10.96.0.53", 53);

    [Fact]
    public void Our_zone_is_added_beside_the_others_and_removed_again()
    {
        var added = StubDomainsPatcher.Apply("{\"acme.local\":[\"1.2.3.4\"]}", Block, zoneIsOurs: false);

        Assert.Equal("{\"acme.local\":[\"1.2.3.4\"],\"service.consul\":[\"10.96.0.53\"]}", added.Text);
        Assert.False(StubDomainsPatcher.Apply(added.Text, Block, zoneIsOurs: true).Changed);
        Assert.Equal("{\"acme.local\":[\"1.2.3.4\"]}", StubDomainsPatcher.Remove(added.Text, Block).Text);
    }

    [Fact]
    public void A_non_default_port_is_written_with_the_address()
    {
        Assert.Equal("{\"service.consul\":[\"10.96.0.53:8600\"]}", StubDomainsPatcher.Apply(null, Block with { UpstreamPort = 8600 }, zoneIsOurs: false).Text);
    }

    [Fact]
    public void Someone_elses_entry_for_the_zone_is_a_conflict_ours_is_updated()
    {
        const string theirs = "{\"service.consul\":[\"10.0.0.9\"]}";

        Assert.Contains("already forwards service.consul", StubDomainsPatcher.Apply(theirs, Block, zoneIsOurs: false).Conflict, StringComparison.Ordinal);
        Assert.Equal("{\"service.consul\":[\"10.96.0.53\"]}", StubDomainsPatcher.Apply(theirs, Block, zoneIsOurs: true).Text);
    }

    [Fact]
    public void Broken_json_is_refused_not_overwritten() =>
        Assert.Contains("not a JSON object", StubDomainsPatcher.Apply("{broken", Block, zoneIsOurs: false).Conflict, StringComparison.Ordinal);
}
