namespace ConsulOperator.Pki;

/// <summary>The three kinds of leaf certificate <c>consul tls cert create</c> makes.</summary>
public enum CertificateRole
{
    /// <summary>A server agent: serves and dials RPC, so it needs both server and client auth.</summary>
    Server,

    /// <summary>A client agent.</summary>
    Client,

    /// <summary>The CLI and the operator's own HTTP client.</summary>
    Cli,
}
