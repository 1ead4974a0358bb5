using ConsulOperator.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace ConsulOperator.Tests.Runtime;

public sealed class WorkQueueTests : IDisposable
{
    private readonly FakeTimeProvider time = new();
    private readonly WorkQueue queue;

    public WorkQueueTests() => queue = new WorkQueue(time, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));

    [Fact]
    public async Task A_storm_of_events_for_one_key_queues_it_once()
    {
        for (var i = 0; i < 10_000; i++)
        {
            queue.Add("ns/a");
        }

        queue.Add("ns/b");

        Assert.Equal(2, queue.Depth);
        Assert.Equal("ns/a", await queue.TakeAsync(CancellationToken.None));
        Assert.Equal("ns/b", await queue.TakeAsync(CancellationToken.None));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task A_key_being_processed_is_not_handed_out_again_until_done_and_then_comes_back_once()
    {
        queue.Add("ns/a");
        var key = await queue.TakeAsync(CancellationToken.None);

        queue.Add("ns/a");
        queue.Add("ns/a");
        using var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.TakeAsync(shortWait.Token));

        queue.Done(key);
        Assert.Equal(1, queue.Depth);
        Assert.Equal("ns/a", await queue.TakeAsync(CancellationToken.None));
    }

    [Fact]
    public void Failures_back_off_exponentially_up_to_the_cap_and_forget_starts_over()
    {
        var delays = Enumerable.Range(0, 6).Select(_ => queue.AddRateLimited("ns/a")).ToList();

        Assert.Equal([100, 200, 400, 800, 1000, 1000], delays.Select(d => (int)d.TotalMilliseconds));
        queue.Forget("ns/a");
        Assert.Equal(TimeSpan.FromMilliseconds(100), queue.AddRateLimited("ns/a"));
    }

    [Fact]
    public void Delayed_keys_arrive_when_their_time_comes()
    {
        queue.AddAfter("ns/a", TimeSpan.FromMinutes(10));

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(0, queue.Depth);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, queue.Depth);
    }

    [Fact]
    public void A_key_requeued_many_times_waits_once_for_its_earliest_time()
    {
        for (var i = 0; i < 5; i++)
        {
            queue.AddAfter("ns/a", TimeSpan.FromMinutes(10));
        }

        queue.AddAfter("ns/a", TimeSpan.FromMinutes(2));
        Assert.Equal(1, queue.Waiting);

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal((1, 0), (queue.Depth, queue.Waiting));

        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, queue.Depth);
    }

    public void Dispose() => queue.Dispose();
}
