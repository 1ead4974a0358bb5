using System.Text.Json.Serialization;

namespace ConsulOperator.Consul;

/// <summary>
/// Serialization of what the operator reads from and sends to Consul's HTTP API, generated at build time, so that it
/// needs no reflection (safe to trim and to compile ahead of time). Consul's field names are matched regardless of case.
/// </summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(RaftConfiguration))]
[JsonSerializable(typeof(AgentSelf))]
[JsonSerializable(typeof(AutopilotHealth))]
[JsonSerializable(typeof(List<AgentMember>))]
[JsonSerializable(typeof(AclPolicy))]
[JsonSerializable(typeof(List<AclPolicyStub>))]
[JsonSerializable(typeof(NewAclPolicy))]
[JsonSerializable(typeof(AclToken))]
[JsonSerializable(typeof(Dictionary<string, AgentService>))]
[JsonSerializable(typeof(List<ServiceEntry>))]
[JsonSerializable(typeof(CatalogNodeServices))]
[JsonSerializable(typeof(List<HealthCheck>))]
[JsonSerializable(typeof(List<KeyringResponse>))]
internal sealed partial class ConsulJson : JsonSerializerContext;
