namespace ConsulOperator.Testing.Consul;

/// <summary>Faults a test asks the simulated Consul for: failing calls (by path), slow answers.</summary>
public sealed class ConsulFaults
{
    private readonly Lock gate = new();
    private readonly List<Rule> rules = [];

    public TimeSpan Latency { get; set; }

    /// <summary>Answer the next <paramref name="count"/> requests whose path contains <paramref name="pathContains"/> with this status and plain-text body.</summary>
    public void FailNext(string pathContains, int count, int statusCode, string body = "rpc error: injected failure")
    {
        lock (gate)
        {
            rules.Add(new Rule(pathContains, statusCode, body) { Remaining = count });
        }
    }

    /// <summary>Lifts every failure still pending.</summary>
    public void Clear()
    {
        lock (gate)
        {
            rules.Clear();
        }
    }

    internal (int StatusCode, string Body)? Take(string path)
    {
        lock (gate)
        {
            var rule = rules.FirstOrDefault(r => r.Remaining > 0 && path.Contains(r.PathContains, StringComparison.Ordinal));
            if (rule is null)
            {
                return null;
            }

            rule.Remaining--;
            return (rule.StatusCode, rule.Body);
        }
    }

    private sealed record Rule(string PathContains, int StatusCode, string Body)
    {
        public int Remaining { get; set; }
    }
}
