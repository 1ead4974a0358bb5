namespace ConsulOperator.Testing.KubeApi;

/// <summary>Faults to inject: failing requests, slow responses. Dropped and expired watches go through the store.</summary>
public sealed class Faults
{
    private readonly Lock gate = new();
    private readonly List<Rule> rules = [];

    /// <summary>A delay added to every request.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Answer the next <paramref name="count"/> requests of a verb (get, list, watch, create, update, patch, delete) on a resource with this status code.</summary>
    public void FailNext(string verb, string plural, int count, int statusCode)
    {
        lock (gate)
        {
            rules.Add(new Rule(verb, plural, count, statusCode));
        }
    }

    public int? Take(string verb, string plural)
    {
        lock (gate)
        {
            var rule = rules.FirstOrDefault(r => r.Verb == verb && r.Plural == plural && r.Remaining > 0);
            if (rule is null)
            {
                return null;
            }

            rule.Remaining--;
            return rule.StatusCode;
        }
    }

    private sealed class Rule(string verb, string plural, int count, int statusCode)
    {
        public string Verb { get; } = verb;

        public string Plural { get; } = plural;

        public int StatusCode { get; } = statusCode;

        public int Remaining { get; set; } = count;
    }
}

/// <summary>One request the server answered.</summary>
public sealed record LoggedRequest(string Verb, string Plural, string? Namespace, string? Name, int StatusCode, string UserAgent);

/// <summary>Every request, so tests and benchmarks can count reads and writes.</summary>
public sealed class RequestLog
{
    private readonly Lock gate = new();
    private readonly List<LoggedRequest> requests = [];

    public void Add(LoggedRequest request)
    {
        lock (gate)
        {
            requests.Add(request);
        }
    }

    public IReadOnlyList<LoggedRequest> Snapshot()
    {
        lock (gate)
        {
            return [.. requests];
        }
    }

    public int Count => Snapshot().Count;

    public static bool IsWrite(LoggedRequest request) => request.Verb is "create" or "update" or "patch" or "delete";
}
