using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>A failed API call, answered as a metav1.Status with the code and reason the real API server uses.</summary>
public sealed class ApiException(int code, string reason, string message) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public static ApiException NotFound(ResourceInfo resource, string name) => new(404, "NotFound", $"{resource.Plural}{Group(resource)} \"{name}\" not found");

    public static ApiException AlreadyExists(ResourceInfo resource, string name) => new(409, "AlreadyExists", $"{resource.Plural}{Group(resource)} \"{name}\" already exists");

    public static ApiException Conflict(ResourceInfo resource, string name) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {resource.Plural}{Group(resource)} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");

    public static ApiException Invalid(ResourceInfo resource, string name, string detail) => new(422, "Invalid", $"{resource.Kind} \"{name}\" is invalid: {detail}");

    public static ApiException Gone(string message) => new(410, "Expired", message);

    public JsonObject ToStatus() => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = Message,
        ["reason"] = Reason,
        ["code"] = Code,
    };

    private static string Group(ResourceInfo resource) => resource.Group.Length == 0 ? "" : $".{resource.Group}";
}
