using ConsulOperator.Runtime;
using k8s.Models;

namespace ConsulOperator.Controllers;

/// <summary>The Ready and Degraded conditions of a ConsulACLPolicy or ConsulACLToken: ready, waiting (not degraded) or refused (degraded).</summary>
public static class AclObjectStatus
{
    public static List<V1Condition> Ready(IEnumerable<V1Condition>? existing, string reason, string message, long? generation, DateTimeOffset now) =>
        Conditions.Set(Conditions.Set(existing, Conditions.Ready, true, reason, message, generation, now), Conditions.Degraded, false, "AsExpected", "no problem found", generation, now);

    public static List<V1Condition> NotReady(IEnumerable<V1Condition>? existing, string reason, string message, bool degraded, long? generation, DateTimeOffset now) =>
        Conditions.Set(
            Conditions.Set(existing, Conditions.Ready, false, reason, message, generation, now),
            Conditions.Degraded, degraded, degraded ? reason : "AsExpected", degraded ? message : "no problem found", generation, now);
}
