using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ConsulOperator.Yaml;

/// <summary>
/// YAML read into JSON nodes and JSON nodes written as YAML. Everything the operator reads or prints goes
/// through JSON, so one serializer (KubernetesJson) and one schema describe every object.
/// </summary>
public static partial class YamlDocuments
{
    /// <summary>Every non-empty document of a (multi-document) YAML text; a Kubernetes List is flattened into its items.</summary>
    public static IReadOnlyList<JsonNode> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var documents = new List<JsonNode>();
        foreach (var document in stream.Documents)
        {
            var node = ToJson(document.RootNode);
            if (node is null)
            {
                continue;
            }

            if (node is JsonObject list && (string?)list["kind"] is string kind && kind.EndsWith("List", StringComparison.Ordinal) && list["items"] is JsonArray items)
            {
                documents.AddRange(items.Where(i => i is not null).Select(i => i!.DeepClone()));
            }
            else
            {
                documents.Add(node);
            }
        }

        return documents;
    }

    /// <summary>Documents as multi-document YAML, each starting with <c>---</c>.</summary>
    public static string Write(IEnumerable<JsonNode> documents)
    {
        var text = new StringBuilder();
        foreach (var document in documents)
        {
            text.Append("---\n");
            WriteValue(text, document, 0, inSequence: false);
        }

        return text.ToString();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => ToJsonObject(mapping),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => ScalarToJson(scalar),
        _ => throw new YamlException(node.Start, node.End, "unsupported YAML node"),
    };

    private static JsonObject ToJsonObject(YamlMappingNode mapping)
    {
        var result = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            // YamlDotNet has already refused duplicate keys while loading.
            var name = key is YamlScalarNode s ? s.Value ?? "" : throw new YamlException(key.Start, key.End, "mapping keys must be plain strings");
            result[name] = ToJson(value);
        }

        return result;
    }

    // The YAML 1.2 core schema, which is what kubectl and the API server's YAML decoder apply to plain scalars.
    private static JsonValue? ScalarToJson(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        return scalar.Style != ScalarStyle.Plain || scalar.Tag == "tag:yaml.org,2002:str" ? JsonValue.Create(value) : ResolvePlain(value);
    }

    private static JsonValue? ResolvePlain(string value)
    {
        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (value is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }

        if (value is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }

        if (IntegerPattern().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (FloatPattern().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(value);
    }

    private static void WriteValue(StringBuilder text, JsonNode? node, int indent, bool inSequence)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count > 0:
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!(first && inSequence))
                    {
                        text.Append(' ', indent);
                    }

                    first = false;
                    text.Append(Scalar(key)).Append(':');
                    WriteNested(text, value, indent);
                }

                break;
            case JsonArray array when array.Count > 0:
                foreach (var item in array)
                {
                    if (!(inSequence && item == array[0]))
                    {
                        text.Append(' ', indent);
                    }

                    text.Append("- ");
                    if (item is JsonObject { Count: > 0 } or JsonArray { Count: > 0 })
                    {
                        WriteValue(text, item, indent + 2, inSequence: true);
                    }
                    else
                    {
                        WriteInline(text, item, indent + 2);
                    }
                }

                break;
            default:
                text.Append(' ', indent);
                WriteInline(text, node, indent);
                break;
        }
    }

    private static void WriteNested(StringBuilder text, JsonNode? value, int indent)
    {
        switch (value)
        {
            case JsonObject { Count: > 0 }:
                text.Append('\n');
                WriteValue(text, value, indent + 2, inSequence: false);
                break;
            case JsonArray { Count: > 0 }:
                // Sequences under a mapping key sit at the key's indentation, as kubectl writes them.
                text.Append('\n');
                WriteValue(text, value, indent, inSequence: false);
                break;
            default:
                text.Append(' ');
                WriteInline(text, value, indent + 2);
                break;
        }
    }

    private static void WriteInline(StringBuilder text, JsonNode? node, int blockIndent)
    {
        switch (node)
        {
            case null:
                text.Append("null\n");
                break;
            case JsonObject:
                text.Append("{}\n");
                break;
            case JsonArray:
                text.Append("[]\n");
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var s = value.GetValue<string>();
                if (s.Contains('\n') && CanBeLiteralBlock(s))
                {
                    WriteLiteralBlock(text, s, blockIndent);
                }
                else
                {
                    text.Append(Scalar(s)).Append('\n');
                }

                break;
            default:
                text.Append(node.ToJsonString()).Append('\n');
                break;
        }
    }

    private static void WriteLiteralBlock(StringBuilder text, string s, int indent)
    {
        var chomping = s.EndsWith("\n\n", StringComparison.Ordinal) ? "+" : s.EndsWith('\n') ? "" : "-";
        text.Append('|').Append(chomping).Append('\n');
        var body = s.EndsWith('\n') ? s[..^1] : s;
        foreach (var line in body.Split('\n'))
        {
            if (line.Length > 0)
            {
                text.Append(' ', indent).Append(line);
            }

            text.Append('\n');
        }
    }

    // A literal block cannot start with a space on its first line (the indentation would be misread), nor hold
    // carriage returns or other control characters; such strings are written double-quoted instead.
    private static bool CanBeLiteralBlock(string s) =>
        !s.StartsWith(' ') && !s.Any(c => char.IsControl(c) && c is not '\n' and not '\t') && !s.Split('\n').Any(l => l.EndsWith(' ') || l.EndsWith('\t'));

    private static string Scalar(string s) => NeedsQuotes(s) ? JsonValue.Create(s).ToJsonString() : s;

    private static bool NeedsQuotes(string s) =>
        s.Length == 0
        || s != s.Trim()
        || ResolvePlain(s) is not JsonValue v || v.GetValueKind() != JsonValueKind.String
        || "-?:,[]{}#&*!|>'\"%@`".Contains(s[0])
        || s.Contains(": ", StringComparison.Ordinal) || s.Contains(" #", StringComparison.Ordinal) || s.EndsWith(':')
        || s.Any(c => char.IsControl(c) || c > '~')
        || YamlOnlyKeywords().IsMatch(s);

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    // YAML 1.1 readers (older kubectl, PyYAML) read these as booleans, octals or special floats; quote them for every reader.
    [GeneratedRegex("^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|0[0-7]+|0x[0-9a-fA-F]+|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)|=|<<)$")]
    private static partial Regex YamlOnlyKeywords();
}
