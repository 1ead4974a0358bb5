using System.Text.Json.Nodes;
using ConsulOperator.Yaml;
using YamlDotNet.Core;

namespace ConsulOperator.Tests.Yaml;

public class YamlDocumentsTests
{
    [Theory]
    [InlineData("")]
    [InlineData("yes")]
    [InlineData("off")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("1.10")]
    [InlineData("0755")]
    [InlineData("0x1F")]
    [InlineData("-ec")]
    [InlineData("- item")]
    [InlineData(" leading space")]
    [InlineData("key: value")]
    [InlineData("value #comment")]
    [InlineData("ends with colon:")]
    [InlineData("*alias")]
    [InlineData("ünïcode")]
    [InlineData("tab\there")]
    [InlineData("line\nline\n")]
    [InlineData("line\nno final newline")]
    [InlineData("two\n\n")]
    [InlineData("  indented first\nline\n")]
    [InlineData("trailing space \nline\n")]
    [InlineData("carriage\r\nreturn")]
    public void Strings_survive_a_round_trip_as_strings(string text)
    {
        var document = new JsonObject { ["value"] = text, ["list"] = new JsonArray(text, new JsonObject { ["nested"] = text }) };

        var yaml = YamlDocuments.Write([document]);
        var parsed = Assert.Single(YamlDocuments.Parse(yaml));

        Assert.True(JsonNode.DeepEquals(document, parsed), $"YAML was:\n{yaml}");
    }

    [Fact]
    public void Plain_scalars_follow_the_core_schema()
    {
        var parsed = Assert.Single(YamlDocuments.Parse("a: 3\nb: true\nc: ~\nd: 1.5\ne: '3'\nf: hello\ng: -7\n"));

        Assert.Equal("""{"a":3,"b":true,"c":null,"d":1.5,"e":"3","f":"hello","g":-7}""", parsed.ToJsonString());
    }

    [Fact]
    public void Multiple_documents_and_lists_are_flattened_into_their_items()
    {
        var yaml = "---\nkind: A\n---\n# only a comment\n---\nkind: List\nitems:\n- kind: B\n- kind: C\n";

        Assert.Equal(["A", "B", "C"], YamlDocuments.Parse(yaml).Select(d => (string?)d["kind"]));
    }

    [Fact]
    public void Duplicate_keys_are_an_error_rather_than_a_silent_overwrite()
    {
        var error = Assert.Throws<YamlException>(() => YamlDocuments.Parse("spec:\n  servers: 3\n  servers: 5\n"));

        Assert.Contains("servers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nested_structures_are_written_the_way_kubectl_writes_them()
    {
        var document = JsonNode.Parse("""{"a":{"b":[{"c":1,"d":[]},{"e":{}}],"f":"x"}}""")!;

        Assert.Equal("---\na:\n  b:\n  - c: 1\n    d: []\n  - e: {}\n  f: x\n", YamlDocuments.Write([document]));
    }
}
