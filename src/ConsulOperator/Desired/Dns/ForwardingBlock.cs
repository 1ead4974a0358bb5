namespace ConsulOperator.Desired.Dns;

/// <summary>
/// The CoreDNS server block that sends one zone to Consul's DNS: <c>zone:53 { errors; cache 30; forward . ip:port }</c>.
/// <see cref="Owner"/> (namespace/name of the ConsulCluster) marks the block as ours so that we can find, replace and remove exactly it.
/// </summary>
public sealed record ForwardingBlock(string Owner, string Zone, string UpstreamAddress, int UpstreamPort)
{
    public const string MarkerPrefix = "# consul-operator:";

    public string BeginMarker => $"{MarkerPrefix} begin {Owner}";

    public string EndMarker => $"{MarkerPrefix} end {Owner}";

    /// <summary>The server block alone, as a <c>coredns-custom</c> <c>*.server</c> key holds it.</summary>
    public string ServerBlock =>
        $"{Zone}:53 {{\n    errors\n    cache 30\n    forward . {UpstreamAddress}:{UpstreamPort}\n}}\n";

    /// <summary>Said on our begin line when the Corefile did not end with a line break and we added one before our block: removing the block removes it too.</summary>
    public const string LineBreakAddedNote = "; the line break before this line was added by it";

    /// <summary>The server block between our markers, as it goes into a Corefile.</summary>
    public string MarkedServerBlock => Marked(lineBreakAdded: false);

    public string Marked(bool lineBreakAdded) =>
        $"{BeginMarker} (managed by consul-operator; edits here are reverted{(lineBreakAdded ? LineBreakAddedNote : "")})\n{ServerBlock}{EndMarker}\n";

    /// <summary>The <c>coredns-custom</c> key for this block; AKS imports every <c>*.server</c> key as a server block.</summary>
    public string CustomServerKey => $"consul-operator-{Owner.Replace('/', '-')}.server";
}
