using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>The PATCH flavours the operator may send: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).</summary>
public static class Patches
{
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    public static JsonNode JsonPatch(JsonNode target, JsonArray operations)
    {
        var document = target.DeepClone();
        foreach (var operation in operations.OfType<JsonObject>())
        {
            var op = (string?)operation["op"];
            var path = Pointer((string?)operation["path"] ?? "");
            switch (op)
            {
                case "add":
                case "replace":
                    Set(document, path, operation["value"]?.DeepClone(), insert: op == "add");
                    break;
                case "remove":
                    Remove(document, path);
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(document, path), operation["value"]))
                    {
                        throw new ApiException(422, "Invalid", $"the test operation on {operation["path"]} failed");
                    }

                    break;
                default:
                    throw new ApiException(400, "BadRequest", $"unsupported JSON patch operation '{op}'");
            }
        }

        return document;
    }

    private static string[] Pointer(string path) =>
        [.. path.Split('/').Skip(1).Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];

    private static JsonNode? Get(JsonNode document, string[] path)
    {
        JsonNode? node = document;
        foreach (var part in path)
        {
            node = node switch
            {
                JsonObject o => o[part],
                JsonArray a when int.TryParse(part, out var i) && i < a.Count => a[i],
                _ => throw new ApiException(422, "Invalid", $"path /{string.Join('/', path)} does not exist"),
            };
        }

        return node;
    }

    private static void Set(JsonNode document, string[] path, JsonNode? value, bool insert)
    {
        var parent = Get(document, path[..^1]);
        var last = path[^1];
        switch (parent)
        {
            case JsonObject o:
                if (!insert && !o.ContainsKey(last))
                {
                    throw new ApiException(422, "Invalid", $"cannot replace missing key {last}");
                }

                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i):
                if (insert)
                {
                    a.Insert(i, value);
                }
                else
                {
                    a[i] = value;
                }

                break;
            default:
                throw new ApiException(422, "Invalid", $"cannot set {string.Join('/', path)}");
        }
    }

    private static void Remove(JsonNode document, string[] path)
    {
        switch (Get(document, path[..^1]))
        {
            case JsonObject o when o.ContainsKey(path[^1]):
                o.Remove(path[^1]);
                break;
            case JsonArray a when int.TryParse(path[^1], out var i) && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new ApiException(422, "Invalid", $"cannot remove /{string.Join('/', path)}: it does not exist");
        }
    }
}
