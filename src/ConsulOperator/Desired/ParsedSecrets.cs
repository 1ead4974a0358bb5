using System.Collections.Concurrent;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// Key material parsed from Secrets, remembered per Secret and resourceVersion: an unchanged Secret is parsed (and its
/// signature checked) once, not on every reconcile. <see cref="None"/> remembers nothing, for one-shot callers like render.
/// </summary>
public sealed class ParsedSecrets
{
    public static readonly ParsedSecrets None = new(remember: false);

    private readonly ConcurrentDictionary<(string Namespace, string Name), (string? Version, object Value)> entries = new();
    private readonly bool remember;

    public ParsedSecrets()
        : this(remember: true)
    {
    }

    private ParsedSecrets(bool remember) => this.remember = remember;

    public int Count => entries.Count;

    public T GetOrParse<T>(V1Secret secret, Func<T> parse)
        where T : class
    {
        var key = (secret.Metadata.NamespaceProperty ?? "", secret.Metadata.Name);
        var version = secret.Metadata.ResourceVersion;
        if (remember && version is not null && entries.TryGetValue(key, out var entry) && entry.Version == version && entry.Value is T known)
        {
            return known;
        }

        var value = parse();
        if (remember && version is not null)
        {
            entries[key] = (version, value);
        }

        return value;
    }

    /// <summary>Forgets the Secrets of a namespace whose names start with a prefix (a deleted cluster's).</summary>
    public void Forget(string ns, string namePrefix)
    {
        foreach (var key in entries.Keys.Where(k => k.Namespace == ns && k.Name.StartsWith(namePrefix, StringComparison.Ordinal)))
        {
            entries.TryRemove(key, out _);
        }
    }
}
