namespace ConsulOperator.Pki;

/// <summary>Why a leaf certificate must be issued anew; <c>Reason</c> is CamelCase for conditions and Events.</summary>
public sealed record ReissueReason(string Reason, string Message);

/// <summary>What a reissue decision looks at.</summary>
public sealed record ReissueInput(LeafState? Existing, LeafRequest Wanted, CertificateAuthority Ca, TimeSpan RotateBefore, DateTimeOffset Now);

/// <summary>
/// "Must this certificate be issued anew?" as a chain of small checks, the first that answers wins.
/// Each is pure: the time comes in with the input.
/// </summary>
public static class ReissuePolicy
{
    private static readonly Func<ReissueInput, ReissueReason?>[] Checks =
    [
        Missing,
        Unreadable,
        NotIssuedByCurrentCa,
        NamesOrRoleChanged,
        NotYetValid,
        ExpiresWithinRotateBefore,
    ];

    /// <summary>The first reason to reissue, or null when the existing certificate can stay.</summary>
    public static ReissueReason? Evaluate(ReissueInput input) =>
        Checks.Select(check => check(input)).FirstOrDefault(reason => reason is not null);

    internal static ReissueReason? Missing(ReissueInput input) =>
        input.Existing is null ? new("Missing", "no certificate has been issued yet") : null;

    internal static ReissueReason? Unreadable(ReissueInput input) =>
        input.Existing is { Certificate: null } state ? new("Unreadable", state.Error ?? "the certificate cannot be read") : null;

    internal static ReissueReason? NotIssuedByCurrentCa(ReissueInput input) =>
        input.Existing?.Certificate is { } certificate && !input.Ca.IsIssuerOf(certificate)
            ? new("IssuerMismatch", "the certificate was not issued by the cluster CA")
            : null;

    internal static ReissueReason? NamesOrRoleChanged(ReissueInput input) =>
        input.Existing?.Certificate is { } certificate && !certificate.Satisfies(input.Wanted)
            ? new("NamesChanged", $"the certificate names [{string.Join(", ", certificate.DnsNames)}] differ from the wanted [{string.Join(", ", input.Wanted.DnsNames)}] or its role changed")
            : null;

    internal static ReissueReason? NotYetValid(ReissueInput input) =>
        input.Existing?.Certificate is { } certificate && certificate.NotBefore > input.Now
            ? new("NotYetValid", $"the certificate is valid only from {CertificateAuthority.Describe(certificate.NotBefore)}")
            : null;

    internal static ReissueReason? ExpiresWithinRotateBefore(ReissueInput input) =>
        input.Existing?.Certificate is { } certificate && certificate.NotAfter - input.RotateBefore <= input.Now
            ? new("Expiring", $"the certificate expires at {CertificateAuthority.Describe(certificate.NotAfter)}, within the rotation window of {input.RotateBefore}")
            : null;
}
