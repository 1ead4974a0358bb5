using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>Equality-based label selectors (=, ==, !=, key, !key) and the metadata field selectors.</summary>
public sealed class Selector
{
    private readonly List<Func<JsonObject, bool>> terms = [];

    public static Selector Parse(string? labelSelector, string? fieldSelector)
    {
        var selector = new Selector();
        foreach (var term in Split(labelSelector))
        {
            if (term.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Pair(term, "!=");
                selector.terms.Add(o => Label(o, key) != value);
            }
            else if (term.Contains('='))
            {
                var (key, value) = Pair(term, term.Contains("==", StringComparison.Ordinal) ? "==" : "=");
                selector.terms.Add(o => Label(o, key) == value);
            }
            else if (term.StartsWith('!'))
            {
                selector.terms.Add(o => Label(o, term[1..]) is null);
            }
            else
            {
                selector.terms.Add(o => Label(o, term) is not null);
            }
        }

        foreach (var term in Split(fieldSelector))
        {
            var negate = term.Contains("!=", StringComparison.Ordinal);
            var (field, value) = Pair(term, negate ? "!=" : term.Contains("==", StringComparison.Ordinal) ? "==" : "=");
            var path = field.Split('.');
            selector.terms.Add(o => (Lookup(o, path) == value) != negate);
        }

        return selector;
    }

    public bool Matches(JsonObject item) => terms.All(t => t(item));

    private static string[] Split(string? text) => (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static (string, string) Pair(string term, string op)
    {
        var at = term.IndexOf(op, StringComparison.Ordinal);
        return (term[..at].Trim(), term[(at + op.Length)..].Trim());
    }

    private static string? Label(JsonObject item, string key) => (string?)item["metadata"]?["labels"]?[key];

    private static string? Lookup(JsonObject item, string[] path)
    {
        JsonNode? node = item;
        foreach (var part in path)
        {
            node = node?[part];
        }

        return node is JsonValue value ? value.ToString() : null;
    }
}
