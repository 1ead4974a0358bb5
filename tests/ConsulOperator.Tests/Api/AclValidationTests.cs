using ConsulOperator.Api;
using ConsulOperator.Api.V1Alpha1;
using k8s.Models;

namespace ConsulOperator.Tests.Api;

public sealed class AclValidationTests
{
    [Fact]
    public void Every_problem_of_a_token_is_reported_at_once_with_its_field()
    {
        var token = new V1Alpha1ConsulACLToken
        {
            Metadata = new V1ObjectMeta { Name = "Not_A_Secret_Name", NamespaceProperty = "consul" },
            Spec = new ConsulACLTokenSpec
            {
                ClusterRef = new() { Name = "consul" },
                Policies = [new TokenPolicy { ConsulACLPolicy = "a", ConsulName = "b" }],
                RotationGracePeriod = "soon",
            },
        };

        var problems = ConsulAclValidator.Validate(token, null).Select(p => p.Path).ToList();
        Assert.Contains("spec.secretName", problems);
        Assert.Contains("spec.policies[0]", problems);
        Assert.Contains("spec.rotationGracePeriod", problems);
    }

    [Theory]
    [InlineData("1.6.1", true)]
    [InlineData("1.8.0", true)]
    [InlineData("1.8.1", false)]
    [InlineData("1.22.0", false)]
    public void Node_identities_are_refused_on_servers_older_than_1_8_1_with_both_versions_named(string servers, bool refused)
    {
        var token = new V1Alpha1ConsulACLToken
        {
            Metadata = new V1ObjectMeta { Name = "edge", NamespaceProperty = "consul" },
            Spec = new ConsulACLTokenSpec { ClusterRef = new() { Name = "consul" }, NodeIdentities = [new TokenNodeIdentity { NodeName = "edge-1" }] },
        };

        var problem = ConsulAclValidator.Validate(token, ConsulVersion.Parse(servers)).SingleOrDefault(p => p.Path == "spec.nodeIdentities");
        Assert.Equal(refused, problem is not null);
        if (refused)
        {
            Assert.Contains("1.8.1", problem!.Message, StringComparison.Ordinal);
            Assert.Contains(servers, problem.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_policy_needs_rules_and_a_name_consul_accepts()
    {
        var policy = new V1Alpha1ConsulACLPolicy
        {
            Metadata = new V1ObjectMeta { Name = "vault.storage", NamespaceProperty = "consul" },
            Spec = new ConsulACLPolicySpec { ClusterRef = new() { Name = "consul" }, Rules = "  " },
        };

        var problems = ConsulAclValidator.Validate(policy, null).Select(p => p.Path).ToList();
        Assert.Contains("spec.name", problems);
        Assert.Contains("spec.rules", problems);

        policy.Spec.Name = "vault-storage";
        policy.Spec.Rules = "key_prefix \"vault/\" { policy = \"write\" }";
        Assert.Empty(ConsulAclValidator.Validate(policy, ConsulVersion.Parse("1.6.1")));
    }
}
