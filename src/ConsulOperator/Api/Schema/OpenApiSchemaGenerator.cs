using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;

namespace ConsulOperator.Api.Schema;

/// <summary>
/// The structural OpenAPI v3 schema of an API type, read off the C# type: names as the serializer writes them,
/// validation from attributes, descriptions from XML docs, defaults from property initializers.
/// </summary>
public sealed class OpenApiSchemaGenerator
{
    private readonly XmlDocumentation docs = XmlDocumentation.For(typeof(OpenApiSchemaGenerator).Assembly);
    private readonly Stack<Type> visiting = new();

    /// <summary>The schema of a custom resource: apiVersion, kind, metadata, spec and status.</summary>
    public static JsonObject ForResource(Type resource)
    {
        var generator = new OpenApiSchemaGenerator();
        var properties = new JsonObject
        {
            ["apiVersion"] = new JsonObject { ["type"] = "string" },
            ["kind"] = new JsonObject { ["type"] = "string" },
            ["metadata"] = new JsonObject { ["type"] = "object" },
        };
        foreach (var name in new[] { "Spec", "Status" })
        {
            var property = resource.GetProperty(name)!;
            var schema = generator.ForType(property.PropertyType, withDefaults: name == "Spec");
            Describe(schema, generator.docs.Of(property));
            properties[JsonName(property)] = schema;
        }

        var root = new JsonObject { ["type"] = "object" };
        Describe(root, generator.docs.Of(resource));
        root["properties"] = properties;
        root["required"] = new JsonArray("spec");
        return root;
    }

    private JsonObject ForType(Type type, bool withDefaults)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new JsonObject { ["type"] = "string" };
        }

        if (type == typeof(bool))
        {
            return new JsonObject { ["type"] = "boolean" };
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return new JsonObject { ["type"] = "integer", ["format"] = type == typeof(int) ? "int32" : "int64" };
        }

        if (type == typeof(double) || type == typeof(float))
        {
            return new JsonObject { ["type"] = "number" };
        }

        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "date-time" };
        }

        if (type.IsEnum)
        {
            return new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. EnumNames(type).Select(n => JsonValue.Create(n))]) };
        }

        if (type == typeof(ResourceQuantity) || type == typeof(IntOrString))
        {
            return new JsonObject
            {
                ["x-kubernetes-int-or-string"] = true,
                ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "string" }),
            };
        }

        if (type == typeof(JsonObject))
        {
            return new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return new JsonObject { ["type"] = "object", ["additionalProperties"] = ForType(valueType, withDefaults: false) };
        }

        if (ListItemType(type) is { } itemType)
        {
            return new JsonObject { ["type"] = "array", ["items"] = ForType(itemType, withDefaults) };
        }

        return ForClass(type, withDefaults);
    }

    private JsonObject ForClass(Type type, bool withDefaults)
    {
        if (visiting.Contains(type))
        {
            throw new InvalidOperationException($"{type.Name} refers to itself; a structural schema cannot describe it");
        }

        visiting.Push(type);
        var ours = type.Namespace?.StartsWith("ConsulOperator.", StringComparison.Ordinal) == true;
        var instance = withDefaults && ours && type.GetConstructor(Type.EmptyTypes) is not null ? Activator.CreateInstance(type) : null;
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                     .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null && p.GetIndexParameters().Length == 0))
        {
            var schema = ForType(property.PropertyType, withDefaults);
            Describe(schema, docs.Of(property));
            ApplyValidation(schema, property);
            var isRequired = property.GetCustomAttribute<RequiredAttribute>() is not null;
            if (isRequired)
            {
                required.Add(JsonName(property));
            }
            else if (instance is not null && DefaultOf(property, instance) is { } defaultValue)
            {
                schema["default"] = defaultValue;
            }

            properties[JsonName(property)] = schema;
        }

        var result = new JsonObject { ["type"] = "object" };
        if (ours)
        {
            Describe(result, docs.Of(type));
        }

        result["properties"] = properties;
        if (required.Count > 0)
        {
            result["required"] = required;
        }

        AddCelRules(result, type.GetCustomAttributes<CelRuleAttribute>());
        visiting.Pop();
        return result;
    }

    private static void ApplyValidation(JsonObject schema, PropertyInfo property)
    {
        if (property.GetCustomAttribute<RangeAttribute>() is { } range)
        {
            schema["minimum"] = JsonValue.Create(Convert.ToInt64(range.Minimum, System.Globalization.CultureInfo.InvariantCulture));
            schema["maximum"] = JsonValue.Create(Convert.ToInt64(range.Maximum, System.Globalization.CultureInfo.InvariantCulture));
        }

        if (property.GetCustomAttribute<RegularExpressionAttribute>() is { } pattern)
        {
            schema["pattern"] = pattern.Pattern;
        }

        if (property.GetCustomAttribute<AtMostAttribute>() is { } maxLength)
        {
            schema[schema["type"]?.GetValue<string>() == "array" ? "maxItems" : "maxLength"] = maxLength.Length;
        }

        if (property.GetCustomAttribute<FormatAttribute>() is { } format)
        {
            schema["format"] = format.Format;
        }

        if (property.GetCustomAttribute<PreserveUnknownFieldsAttribute>() is not null)
        {
            schema["x-kubernetes-preserve-unknown-fields"] = true;
        }

        var rules = property.GetCustomAttributes<CelRuleAttribute>().ToList();
        if (property.GetCustomAttribute<ImmutableAttribute>() is not null)
        {
            rules.Add(new CelRuleAttribute("self == oldSelf", $"{JsonName(property)} is immutable"));
        }

        AddCelRules(schema, rules);
    }

    private static void AddCelRules(JsonObject schema, IEnumerable<CelRuleAttribute> rules)
    {
        var validations = new JsonArray([.. rules.Select(r => new JsonObject { ["rule"] = r.Rule, ["message"] = r.Message })]);
        if (validations.Count > 0)
        {
            schema["x-kubernetes-validations"] = validations;
        }
    }

    // Only what a user would leave out gets a default: scalars and enums, and {} for nested objects so the API server
    // fills in their fields too. Collections have no useful default.
    private static JsonNode? DefaultOf(PropertyInfo property, object instance)
    {
        var value = property.GetValue(instance);
        return value switch
        {
            null => null,
            string or bool or int or long or double => JsonSerializer.SerializeToNode(value),
            Enum => JsonValue.Create(EnumName(value.GetType(), value.ToString()!)),
            IEnumerable or JsonNode => null,
            _ => new JsonObject(),
        };
    }

    private static void Describe(JsonObject schema, string? description)
    {
        // A property's own description wins over its type's.
        if (description is not null)
        {
            schema.Remove("description");
            schema.Insert(0, "description", description);
        }
    }

    internal static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);

    internal static IEnumerable<string> EnumNames(Type type) => Enum.GetNames(type).Select(n => EnumName(type, n));

    private static string EnumName(Type type, string member) =>
        type.GetField(member)?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? member;

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Dictionary<,>) || type.GetGenericTypeDefinition() == typeof(IDictionary<,>))
            && type.GetGenericArguments() is [var key, var value] && key == typeof(string)
            ? value
            : null;

    private static Type? ListItemType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(List<>) || type.GetGenericTypeDefinition() == typeof(IList<>)) ? type.GetGenericArguments()[0]
        : null;
}
