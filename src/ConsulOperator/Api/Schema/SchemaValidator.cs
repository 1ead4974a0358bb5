using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ConsulOperator.Api.Schema;

/// <summary>
/// Checks a document against a structural schema the way the API server does before anything is stored: types,
/// unknown fields, required fields, enums, ranges, lengths and patterns. Every problem is reported, each with its path.
/// CEL rules are not evaluated here; the operator's validators check the same rules in C#.
/// </summary>
public static class SchemaValidator
{
    public static IReadOnlyList<ValidationProblem> Validate(JsonObject schema, JsonNode? document)
    {
        var problems = new List<ValidationProblem>();
        Check(schema, document, "", problems);
        return problems;
    }

    private static void Check(JsonObject schema, JsonNode? value, string path, List<ValidationProblem> problems)
    {
        if (value is null)
        {
            return;
        }

        if (schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true)
        {
            if (value is not JsonValue v || v.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Number))
            {
                problems.Add(new(path, $"must be an integer or a string, got {Describe(value)}"));
            }

            return;
        }

        var type = (string?)schema["type"];
        if (type is not null && !HasType(value, type))
        {
            problems.Add(new(path, $"must be {Article(type)}, got {Describe(value)}"));
            return;
        }

        switch (value)
        {
            case JsonObject obj:
                CheckObject(schema, obj, path, problems);
                break;
            case JsonArray array:
                if (schema["maxItems"] is { } maxItems && array.Count > (int)maxItems)
                {
                    problems.Add(new(path, $"must have at most {maxItems} items, has {array.Count}"));
                }

                if (schema["items"] is JsonObject items)
                {
                    for (var i = 0; i < array.Count; i++)
                    {
                        Check(items, array[i], $"{path}[{i}]", problems);
                    }
                }

                break;
            case JsonValue scalar:
                CheckScalar(schema, scalar, path, problems);
                break;
        }
    }

    private static void CheckObject(JsonObject schema, JsonObject obj, string path, List<ValidationProblem> problems)
    {
        foreach (var required in schema["required"]?.AsArray().Select(r => (string)r!) ?? [])
        {
            if (obj[required] is null)
            {
                problems.Add(new(Join(path, required), "is required"));
            }
        }

        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"] as JsonObject;
        var preserve = schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
        foreach (var (name, child) in obj)
        {
            var childPath = Join(path, name);
            if (properties?[name] is JsonObject childSchema)
            {
                Check(childSchema, child, childPath, problems);
            }
            else if (additional is not null)
            {
                Check(additional, child, childPath, problems);
            }
            else if (!preserve && properties is not null)
            {
                problems.Add(new(childPath, $"unknown field; known fields: {string.Join(", ", properties.Select(p => p.Key))}"));
            }
        }
    }

    private static void CheckScalar(JsonObject schema, JsonValue scalar, string path, List<ValidationProblem> problems)
    {
        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, scalar)))
        {
            problems.Add(new(path, $"unsupported value {scalar.ToJsonString()}; allowed: {string.Join(", ", allowed.Select(a => a!.ToJsonString()))}"));
        }

        if (scalar.GetValueKind() == JsonValueKind.Number)
        {
            var number = Number(scalar);
            if (schema["minimum"] is { } minimum && number < Number(minimum))
            {
                problems.Add(new(path, $"must be at least {minimum}, got {scalar.ToJsonString()}"));
            }

            if (schema["maximum"] is { } maximum && number > Number(maximum))
            {
                problems.Add(new(path, $"must be at most {maximum}, got {scalar.ToJsonString()}"));
            }
        }

        if (scalar.GetValueKind() == JsonValueKind.String)
        {
            var text = scalar.GetValue<string>();
            if (schema["maxLength"] is { } maxLength && text.Length > (int)maxLength)
            {
                problems.Add(new(path, $"must be at most {maxLength} characters, has {text.Length}"));
            }

            if (schema["pattern"] is { } pattern && !Regex.IsMatch(text, (string)pattern!, RegexOptions.None, TimeSpan.FromSeconds(1)))
            {
                problems.Add(new(path, $"\"{text}\" does not match {pattern}"));
            }

            if ((string?)schema["format"] == "date-time" && !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
            {
                problems.Add(new(path, $"\"{text}\" is not an RFC 3339 date-time"));
            }
        }
    }

    private static bool HasType(JsonNode value, string type) => (type, value) switch
    {
        ("object", JsonObject) => true,
        ("array", JsonArray) => true,
        ("string", JsonValue v) => v.GetValueKind() == JsonValueKind.String,
        ("boolean", JsonValue v) => v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
        ("number", JsonValue v) => v.GetValueKind() == JsonValueKind.Number,
        ("integer", JsonValue v) => v.GetValueKind() == JsonValueKind.Number && double.IsInteger(Number(v)),
        _ => false,
    };

    // A JsonValue built from a long will not hand itself out as a double; its JSON text always parses.
    private static double Number(JsonNode value) => double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);

    private static string Describe(JsonNode value) => value switch
    {
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string {v.ToJsonString()}",
            JsonValueKind.Number => $"the number {v.ToJsonString()}",
            _ => $"the boolean {v.ToJsonString()}",
        },
        _ => "null",
    };

    private static string Article(string type) => type is "object" or "array" or "integer" ? $"an {type}" : $"a {type}";

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
