using System.Text.Json;
using System.Text.RegularExpressions;
using ConsulOperator.Consul;
using ConsulOperator.Desired;
using ConsulOperator.Testing.Consul;
using ConsulOperator.Tests.Support;

namespace ConsulOperator.Tests.Upstream;

/// <summary>
/// The operator and the simulated Consul against HashiCorp's own API fixtures (npm @hashicorp/consul-api-double, which
/// hack/install-tools.sh puts in .tools/): facts neither of them wrote. A missing fixture fails the test.
/// </summary>
public sealed partial class ApiDoubleTests
{
    private static readonly string Fixtures = Repository.PathOf(".tools/consul-api-double/v1");
    private static readonly JsonSerializerOptions CaseInsensitive = new() { PropertyNameCaseInsensitive = true };

    [Fact]
    public void The_anonymous_token_id_is_the_one_the_fixtures_special_case()
    {
        var special = SpecialCasedId().Match(Fixture("acl/token/_"));
        Assert.True(special.Success, "the token fixture no longer special-cases a reserved ID");
        Assert.Equal(AclPolicies.AnonymousTokenAccessor, special.Groups["id"].Value);
        Assert.Equal(UpstreamBehaviour.AnonymousTokenAccessor, special.Groups["id"].Value);
        Assert.Contains($"'{AclPolicies.AnonymousTokenAccessor}'", Fixture("acl/tokens"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_global_management_policy_id_is_the_fixtures_one()
    {
        Assert.Contains($"'{UpstreamBehaviour.GlobalManagementPolicyId}' ? 'global-management'", Fixture("acl/policy/_"), StringComparison.Ordinal);
        Assert.Contains($"\"ID\": \"{UpstreamBehaviour.GlobalManagementPolicyId}\",\n              \"Name\": \"global-management\"", Fixture("acl/policies"), StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_list_entries_carry_no_rules_so_the_operator_reads_each_policy_by_id()
    {
        Assert.DoesNotContain("\"Rules\"", Fixture("acl/policies"), StringComparison.Ordinal);
        Assert.Contains("\"Rules\"", Fixture("acl/policy/_"), StringComparison.Ordinal);
    }

    [Fact]
    public void Agent_services_are_keyed_by_id_and_name_the_service_in_service()
    {
        var services = JsonSerializer.Deserialize<Dictionary<string, AgentService>>(Fixture("agent/services"), CaseInsensitive)!;
        Assert.Equal(("web", "web", 8181), (services["web"].ID, services["web"].Service, services["web"].Port));
    }

    [Fact]
    public void Tokens_carry_service_identities_with_service_name_and_datacenters_as_the_operator_writes_and_reads_them()
    {
        var token = Fixture("acl/token/_");
        foreach (var field in new[] { "\"ServiceIdentities\"", "\"ServiceName\"", "\"Datacenters\"" })
        {
            Assert.Contains(field, token, StringComparison.Ordinal);
        }

        // What the operator sends for one is spelled the same.
        var sent = new NewAclToken("t", []) { ServiceIdentities = [new ServiceIdentity("web", ["dc1"])] }.ToJson()["ServiceIdentities"]![0]!.AsObject();
        Assert.Equal(["ServiceName", "Datacenters"], sent.Select(p => p.Key));
    }

    [Fact]
    public void Policies_carry_description_and_datacenters_which_the_operator_compares()
    {
        var policy = Fixture("acl/policy/_");
        Assert.Contains("\"Description\"", policy, StringComparison.Ordinal);
        Assert.Contains("\"Datacenters\": ${fake.helpers.randomize(['[", policy, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kv_read_is_a_list_of_entries_with_a_base64_value_and_a_write_answers_true()
    {
        var kv = Fixture("kv/_");
        var fields = KvField().Matches(kv).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);
        foreach (var field in new[] { "LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex" })
        {
            Assert.Contains(field, fields);
        }

        Assert.Contains("` : \"true\"", kv, StringComparison.Ordinal);
        Assert.Equal("Tue Feb  6 13:19:22 UTC 2018", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(ValueInFixture().Match(kv).Groups["value"].Value)));
    }

    [GeneratedRegex("\"(?<name>[A-Za-z]+)\"\\s*:")]
    private static partial Regex KvField();

    [GeneratedRegex("\"Value\":\"(?<value>[A-Za-z0-9+/=]+)\"")]
    private static partial Regex ValueInFixture();

    [Fact]
    public void The_leader_is_a_json_string_of_an_address()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+\.\d+:\d+$", JsonSerializer.Deserialize<string>(Fixture("status/leader"))!);
    }

    [Fact]
    public void Tokens_carry_the_fields_the_operator_reads_and_node_identities_name_node_and_datacenter()
    {
        var token = Fixture("acl/token/_");
        foreach (var field in new[] { "\"AccessorID\"", "\"SecretID\"", "\"Policies\"", "\"NodeIdentities\"", "\"NodeName\"", "\"Datacenter\"" })
        {
            Assert.Contains(field, token, StringComparison.Ordinal);
        }
    }

    private static string Fixture(string path)
    {
        var file = Path.Combine(Fixtures, path);
        Assert.True(File.Exists(file), $"{file} is missing: run hack/install-tools.sh");
        return File.ReadAllText(file);
    }

    [GeneratedRegex(@"location\.pathname\.get\(3\) === '(?<id>00000000-0000-0000-0000-[0-9]{12})'")]
    private static partial Regex SpecialCasedId();
}
