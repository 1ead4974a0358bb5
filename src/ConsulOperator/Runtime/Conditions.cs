using k8s.Models;

namespace ConsulOperator.Runtime;

/// <summary>Standard conditions: lastTransitionTime moves only when the status flips, so watchers can tell how long a state has lasted.</summary>
public static class Conditions
{
    public const string Ready = "Ready";
    public const string Progressing = "Progressing";
    public const string Degraded = "Degraded";

    public static List<V1Condition> Set(IEnumerable<V1Condition>? existing, string type, bool status, string reason, string message, long? generation, DateTimeOffset now)
    {
        var conditions = existing?.Select(Copy).ToList() ?? [];
        var value = status ? "True" : "False";
        var current = conditions.FirstOrDefault(c => c.Type == type);
        if (current is null)
        {
            conditions.Add(new V1Condition { Type = type, Status = value, Reason = reason, Message = message, ObservedGeneration = generation, LastTransitionTime = now.UtcDateTime });
            return conditions;
        }

        if (current.Status != value)
        {
            current.LastTransitionTime = now.UtcDateTime;
        }

        current.Status = value;
        current.Reason = reason;
        current.Message = message;
        current.ObservedGeneration = generation;
        return conditions;
    }

    public static V1Condition? Find(IEnumerable<V1Condition>? conditions, string type) => conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(IEnumerable<V1Condition>? conditions, string type) => Find(conditions, type)?.Status == "True";

    private static V1Condition Copy(V1Condition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        Reason = c.Reason,
        Message = c.Message,
        ObservedGeneration = c.ObservedGeneration,
        LastTransitionTime = c.LastTransitionTime,
    };
}
