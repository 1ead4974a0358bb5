using System.Text.RegularExpressions;

namespace ConsulOperator.Tests.Support;

/// <summary>What `consul tls` puts in certificates, read out of shared/reference/consul-tls-facts.md.</summary>
public static partial class ConsulTlsFacts
{
    private static readonly string Text = Reference.Text("consul-tls-facts.md");

    /// <summary>Key usages as the facts name them: [0] the CA's, [1] the leaves'.</summary>
    public static IReadOnlyList<string[]> KeyUsages { get; } =
        [.. KeyUsageLine().Matches(Text).Select(m => m.Groups[1].Value.Split('|', StringSplitOptions.TrimEntries))];

    public static int DefaultCaDays => int.Parse(CaDays().Match(Text).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    public static int DefaultLeafDays => int.Parse(LeafDays().Match(Text).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One row of the SAN/CN/EKU table, by role flag (-server, -client, -cli).</summary>
    public static RoleFacts Role(string flag)
    {
        var row = Text.Split('\n').Single(l => l.StartsWith($"| `{flag}` |", StringComparison.Ordinal));
        var cells = row.Split('|', StringSplitOptions.TrimEntries)[1..^1];
        // Backticked names only; flags such as `-node` in the notes are not names.
        string[] Ticked(string cell) => [.. Backticked().Matches(cell).Select(m => m.Groups[1].Value).Where(v => !v.StartsWith('-'))];
        return new RoleFacts(
            CommonNameTemplate: Ticked(cells[1])[0],

            // The <node> name comes only with -node, which we do not use.
            DnsNameTemplates: [.. Ticked(cells[2]).Where(n => !n.Contains("<node>", StringComparison.Ordinal))],
            IpAddresses: [.. Ticked(cells[3])],
            ExtendedKeyUsages: cells[4].StartsWith("none", StringComparison.Ordinal) ? [] : cells[4].Split(',', StringSplitOptions.TrimEntries));
    }

    public sealed record RoleFacts(string CommonNameTemplate, string[] DnsNameTemplates, string[] IpAddresses, string[] ExtendedKeyUsages)
    {
        public string CommonName(string dc, string domain) => Fill(CommonNameTemplate, dc, domain);

        public string[] DnsNames(string dc, string domain) => [.. DnsNameTemplates.Select(t => Fill(t, dc, domain))];

        private static string Fill(string template, string dc, string domain) => template.Replace("<dc>", dc).Replace("<domain>", domain);
    }

    [GeneratedRegex("`KeyUsage` = ([A-Za-z| ]+?) \\(")]
    private static partial Regex KeyUsageLine();

    [GeneratedRegex("The CLI default is \\*\\*([0-9]+) days")]
    private static partial Regex CaDays();

    [GeneratedRegex("\\| `-days` \\| \\*\\*([0-9]+)\\*\\* \\|")]
    private static partial Regex LeafDays();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();
}
