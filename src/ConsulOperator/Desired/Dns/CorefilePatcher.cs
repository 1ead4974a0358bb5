using System.Globalization;

namespace ConsulOperator.Desired.Dns;

/// <summary>The outcome of patching a DNS configuration (a Corefile, stubDomains JSON): the new text, or why it was refused.</summary>
public sealed record DnsPatch(string? Text, bool Changed, string? Conflict)
{
    public static DnsPatch Refused(string conflict) => new(null, false, conflict);
}

/// <summary>
/// Adds, replaces or removes our forwarding block in a Corefile and leaves every other byte alone.
/// CoreDNS refuses a Corefile that serves one zone twice on one port, so a zone someone else already serves is refused
/// with a clear message rather than appended.
/// </summary>
public static class CorefilePatcher
{
    public static DnsPatch Apply(string corefile, ForwardingBlock block)
    {
        var region = FindRegion(corefile, block);
        if (region is { } existing)
        {
            var wanted = block.Marked(existing.LineBreakAdded);
            if (corefile[existing.Start..existing.End] == wanted)
            {
                return new DnsPatch(corefile, Changed: false, Conflict: null);
            }

            return new DnsPatch(corefile[..existing.Start] + wanted + corefile[existing.End..], Changed: true, Conflict: null);
        }

        var conflict = ServerBlockKeys(corefile).FirstOrDefault(key => ServesZone(key.Key, block.Zone));
        if (conflict.Key is not null)
        {
            return DnsPatch.Refused(
                $"the Corefile already serves zone {block.Zone} on port 53 (server block '{conflict.Key}' at line {conflict.Line}); " +
                "CoreDNS refuses a second block for one zone. Remove that block, or set spec.dns.coreDns.patch=false and keep forwarding by hand");
        }

        // Our block must start on a line of its own; a line break we add is noted on our begin line, so that removing the
        // block gives back the Corefile byte for byte.
        var lineBreakAdded = corefile.Length > 0 && !corefile.EndsWith('\n');
        return new DnsPatch(corefile + (lineBreakAdded ? "\n" : "") + block.Marked(lineBreakAdded), Changed: true, Conflict: null);
    }

    /// <summary>The Corefile without our block, and without the line break we added before it (unchanged when it has no block).</summary>
    public static DnsPatch Remove(string corefile, ForwardingBlock block)
    {
        if (FindRegion(corefile, block) is not { } region)
        {
            return new DnsPatch(corefile, Changed: false, Conflict: null);
        }

        var start = region.LineBreakAdded && region.Start > 0 && corefile[region.Start - 1] == '\n' ? region.Start - 1 : region.Start;
        return new DnsPatch(corefile[..start] + corefile[region.End..], Changed: true, Conflict: null);
    }

    /// <summary>Whether a server block key (<c>[dns://]zone[:port]</c>) serves the zone on the default port.</summary>
    internal static bool ServesZone(string key, string zone)
    {
        var text = key;
        var scheme = "dns";
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd >= 0)
        {
            scheme = text[..schemeEnd].ToLowerInvariant();
            text = text[(schemeEnd + 3)..];
        }

        var port = 53;
        var colon = text.LastIndexOf(':');
        if (colon >= 0 && int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            port = parsed;
            text = text[..colon];
        }

        return scheme == "dns" && port == 53 && Normalize(text) == Normalize(zone);
    }

    /// <summary>Every server block key at the top level of a Corefile, with its line, skipping comments, snippets and imports.</summary>
    internal static IEnumerable<(string Key, int Line)> ServerBlockKeys(string corefile)
    {
        var depth = 0;
        var line = 1;
        var pending = new List<(string, int)>();
        var i = 0;
        while (i < corefile.Length)
        {
            var c = corefile[i];
            if (c == '#')
            {
                while (i < corefile.Length && corefile[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (c == '\n')
            {
                line++;
                if (depth == 0 && !(pending.Count > 0 && pending[^1].Item1.EndsWith(',')))
                {
                    pending.Clear();
                }

                i++;
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '{')
            {
                if (depth == 0 && pending.Count > 0 && !pending[0].Item1.StartsWith('(') && pending[0].Item1 != "import")
                {
                    foreach (var (key, keyLine) in pending)
                    {
                        yield return (key.TrimEnd(','), keyLine);
                    }
                }

                pending.Clear();
                depth++;
                i++;
                continue;
            }

            if (c == '}')
            {
                depth = Math.Max(0, depth - 1);
                i++;
                continue;
            }

            var start = i;
            if (c == '"')
            {
                i++;
                while (i < corefile.Length && corefile[i] != '"')
                {
                    i += corefile[i] == '\\' ? 2 : 1;
                }

                i = Math.Min(i + 1, corefile.Length);
            }
            else
            {
                while (i < corefile.Length && !char.IsWhiteSpace(corefile[i]) && corefile[i] is not '{' and not '}' and not '#')
                {
                    i++;
                }
            }

            if (depth == 0)
            {
                pending.Add((corefile[start..i], line));
            }
        }
    }

    private static string Normalize(string zone) => zone.Trim().TrimEnd('.').ToLowerInvariant();

    // Our region runs from the start of the begin marker's line to the end of the end marker's line (newline included).
    private static (int Start, int End, bool LineBreakAdded)? FindRegion(string corefile, ForwardingBlock block)
    {
        var start = LineStartingWith(corefile, block.BeginMarker, 0);
        if (start < 0)
        {
            return null;
        }

        var end = LineStartingWith(corefile, block.EndMarker, start);
        if (end < 0)
        {
            return null;
        }

        var newline = corefile.IndexOf('\n', end);
        var beginLineEnd = corefile.IndexOf('\n', start);
        var lineBreakAdded = corefile.AsSpan(start, (beginLineEnd < 0 ? corefile.Length : beginLineEnd) - start).Contains(ForwardingBlock.LineBreakAddedNote, StringComparison.Ordinal);
        return (start, newline < 0 ? corefile.Length : newline + 1, lineBreakAdded);
    }

    private static int LineStartingWith(string text, string prefix, int from)
    {
        for (var index = text.IndexOf(prefix, from, StringComparison.Ordinal); index >= 0; index = text.IndexOf(prefix, index + 1, StringComparison.Ordinal))
        {
            var atLineStart = index == 0 || text[index - 1] == '\n';
            var after = index + prefix.Length;
            var wholeWord = after == text.Length || text[after] is ' ' or '\n' or '\r';
            if (atLineStart && wholeWord)
            {
                return index;
            }
        }

        return -1;
    }
}
