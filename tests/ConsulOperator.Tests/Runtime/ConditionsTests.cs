using ConsulOperator.Runtime;

namespace ConsulOperator.Tests.Runtime;

public class ConditionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_transition_time_moves_only_when_the_status_flips()
    {
        var first = Conditions.Set(null, "Ready", false, "PodsNotReady", "0/3", 1, T0);
        var same = Conditions.Set(first, "Ready", false, "PodsNotReady", "1/3", 2, T0.AddMinutes(1));
        var flipped = Conditions.Set(same, "Ready", true, "ClusterReady", "3/3", 2, T0.AddMinutes(2));

        Assert.Equal(T0.UtcDateTime, same.Single().LastTransitionTime);
        Assert.Equal(("1/3", 2L), (same.Single().Message, same.Single().ObservedGeneration!.Value));
        Assert.Equal(T0.AddMinutes(2).UtcDateTime, flipped.Single().LastTransitionTime);
        Assert.Equal("False", first.Single().Status);
    }

    [Fact]
    public void Setting_a_condition_leaves_the_input_list_and_other_conditions_alone()
    {
        var original = Conditions.Set(null, "TLSReady", true, "CertificatesIssued", "ok", 1, T0);

        var updated = Conditions.Set(original, "Ready", true, "ClusterReady", "ok", 1, T0);

        Assert.Single(original);
        Assert.Equal(["TLSReady", "Ready"], updated.Select(c => c.Type));
    }
}
