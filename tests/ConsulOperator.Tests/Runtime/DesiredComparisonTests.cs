using System.Text.Json.Nodes;
using ConsulOperator.Runtime;

namespace ConsulOperator.Tests.Runtime;

public class DesiredComparisonTests
{
    [Fact]
    public void Fields_added_by_the_server_or_others_do_not_count()
    {
        var desired = JsonNode.Parse("""{"spec":{"replicas":3,"template":{"containers":[{"name":"consul","image":"c:1"}]}}}""");
        var live = JsonNode.Parse("""{"spec":{"replicas":3,"revisionHistoryLimit":10,"template":{"containers":[{"name":"consul","image":"c:1","terminationMessagePath":"/dev/termination-log"}]}},"status":{"ready":3}}""");

        Assert.True(DesiredComparison.IsSatisfiedBy(desired, live));
    }

    [Theory]
    [InlineData("""{"spec":{"replicas":5}}""")]
    [InlineData("""{"spec":{}}""")]
    [InlineData("""{"spec":{"replicas":"3"}}""")]
    public void A_changed_or_missing_field_we_set_counts(string liveJson)
    {
        Assert.False(DesiredComparison.IsSatisfiedBy(JsonNode.Parse("""{"spec":{"replicas":3}}"""), JsonNode.Parse(liveJson)));
    }

    [Fact]
    public void Lists_must_match_in_length_and_element_by_element()
    {
        var desired = JsonNode.Parse("""{"ports":[{"port":1},{"port":2}]}""");

        Assert.False(DesiredComparison.IsSatisfiedBy(desired, JsonNode.Parse("""{"ports":[{"port":1}]}""")));
        Assert.False(DesiredComparison.IsSatisfiedBy(desired, JsonNode.Parse("""{"ports":[{"port":2},{"port":1}]}""")));
        Assert.True(DesiredComparison.IsSatisfiedBy(desired, JsonNode.Parse("""{"ports":[{"port":1,"protocol":"TCP"},{"port":2,"protocol":"TCP"}]}""")));
    }

    [Fact]
    public void Merging_keeps_what_others_set_and_puts_back_what_we_set()
    {
        var live = JsonNode.Parse("""{"metadata":{"resourceVersion":"7","annotations":{"theirs":"x","ours":"old"}},"spec":{"clusterIP":"10.96.0.10","ports":[{"port":1,"nodePort":30000}]}}""")!.AsObject();
        var desired = JsonNode.Parse("""{"metadata":{"annotations":{"ours":"new"}},"spec":{"ports":[{"port":2}]}}""")!.AsObject();

        var merged = DesiredComparison.Merge(live, desired);

        Assert.Equal("""{"metadata":{"resourceVersion":"7","annotations":{"theirs":"x","ours":"new"}},"spec":{"clusterIP":"10.96.0.10","ports":[{"port":2}]}}""", merged.ToJsonString());
    }
}
