namespace ConsulOperator.Pki;

/// <summary>Key material in the cluster that cannot be used as it is. The operator stops rather than replace it: replacing a CA or gossip key splits a running datacenter.</summary>
public sealed class KeyMaterialException(string message) : Exception(message);
