namespace ConsulOperator.Runtime;

/// <summary>
/// Keys waiting to be reconciled, as client-go's work queue keeps them: a key is queued once however many events
/// arrive, is never handed to two workers at once, and comes back after a failure with a per-key exponential backoff.
/// </summary>
public sealed class WorkQueue(TimeProvider time, TimeSpan baseDelay, TimeSpan maxDelay) : IDisposable
{
    private readonly Lock gate = new();
    private readonly Queue<string> queue = new();
    private readonly HashSet<string> dirty = [];
    private readonly HashSet<string> processing = [];
    private readonly Dictionary<string, int> failures = [];
    private readonly SemaphoreSlim available = new(0);
    private readonly Dictionary<string, (DateTimeOffset Due, ITimer Timer)> waiting = [];

    /// <summary>Keys waiting (not counting those being processed).</summary>
    public int Depth
    {
        get
        {
            lock (gate)
            {
                return queue.Count;
            }
        }
    }

    public void Add(string key)
    {
        lock (gate)
        {
            if (!dirty.Add(key) || processing.Contains(key))
            {
                return;
            }

            queue.Enqueue(key);
        }

        available.Release();
    }

    /// <summary>Adds the key once the delay has passed. A key waits once: only its earliest due time counts, so requeues cannot multiply.</summary>
    public void AddAfter(string key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        var due = time.GetUtcNow() + delay;
        lock (gate)
        {
            if (waiting.TryGetValue(key, out var pending))
            {
                if (pending.Due <= due)
                {
                    return;
                }

                pending.Timer.Dispose();
            }

            var timer = time.CreateTimer(_ => Fire(key, due), null, delay, Timeout.InfiniteTimeSpan);
            waiting[key] = (due, timer);
        }
    }

    /// <summary>Requeues a key that failed, waiting base·2^failures, capped.</summary>
    public TimeSpan AddRateLimited(string key)
    {
        int count;
        lock (gate)
        {
            count = failures.GetValueOrDefault(key);
            failures[key] = count + 1;
        }

        var delay = TimeSpan.FromTicks(Math.Min(maxDelay.Ticks, baseDelay.Ticks * (1L << Math.Min(count, 30))));
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>The key succeeded: its backoff starts over.</summary>
    public void Forget(string key)
    {
        lock (gate)
        {
            failures.Remove(key);
        }
    }

    public async Task<string> TakeAsync(CancellationToken cancel)
    {
        while (true)
        {
            await available.WaitAsync(cancel);
            lock (gate)
            {
                if (queue.TryDequeue(out var key))
                {
                    dirty.Remove(key);
                    processing.Add(key);
                    return key;
                }
            }
        }
    }

    /// <summary>The worker is finished with the key; if it changed meanwhile, it goes back in the queue.</summary>
    public void Done(string key)
    {
        bool requeue;
        lock (gate)
        {
            processing.Remove(key);
            requeue = dirty.Contains(key);
            if (requeue)
            {
                queue.Enqueue(key);
            }
        }

        if (requeue)
        {
            available.Release();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var (_, timer) in waiting.Values)
            {
                timer.Dispose();
            }

            waiting.Clear();
        }

        available.Dispose();
    }

    private void Fire(string key, DateTimeOffset due)
    {
        lock (gate)
        {
            if (!waiting.TryGetValue(key, out var pending) || pending.Due != due)
            {
                return;
            }

            waiting.Remove(key);
            pending.Timer.Dispose();
        }

        Add(key);
    }

    /// <summary>Keys waiting for a delay to pass.</summary>
    public int Waiting
    {
        get
        {
            lock (gate)
            {
                return waiting.Count;
            }
        }
    }
}
