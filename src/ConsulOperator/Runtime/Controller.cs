using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Runtime;

/// <summary>What a reconcile asks for next: nothing, or another look after a delay (certificate rotation, waiting for pods).</summary>
public sealed record ReconcileResult(TimeSpan? RequeueAfter)
{
    public static readonly ReconcileResult Done = new((TimeSpan?)null);

    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>A reconciler: makes the world match one object, found by its namespace/name key, and reports how it went.</summary>
public interface IReconciler
{
    string Name { get; }

    Task<ReconcileResult> ReconcileAsync(string ns, string name, CancellationToken cancel);
}

/// <summary>Runs a reconciler's workers over its queue: one key at a time per worker, failures back off, every line logged with its key.</summary>
public sealed class Controller(IReconciler reconciler, WorkQueue queue, int workers, OperatorMetrics metrics, ILogger logger)
{
    public WorkQueue Queue => queue;

    public static string Key(string? ns, string name) => $"{ns}/{name}";

    public Task RunAsync(CancellationToken cancel)
    {
        metrics.TrackQueue(reconciler.Name, () => queue.Depth);
        return Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(cancel), CancellationToken.None)));
    }

    private async Task WorkAsync(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            string key;
            try
            {
                key = await queue.TakeAsync(cancel);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var parts = key.Split('/', 2);
            using var scope = logger.BeginScope("{Controller} {Key}", reconciler.Name, key);
            var started = Stopwatch.GetTimestamp();
            try
            {
                var result = await reconciler.ReconcileAsync(parts[0], parts[1], cancel);
                queue.Forget(key);
                if (result.RequeueAfter is { } after)
                {
                    queue.AddAfter(key, after);
                }

                metrics.Reconciled(reconciler.Name, "success", Stopwatch.GetElapsedTime(started));
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var delay = queue.AddRateLimited(key);
                metrics.Reconciled(reconciler.Name, "error", Stopwatch.GetElapsedTime(started));
                if (e is KubeApiException { IsConflict: true })
                {
                    logger.LogInformation("Conflict, retrying in {Delay}: {Message}", delay, e.Message);
                }
                else
                {
                    logger.LogError(e, "Reconcile failed, retrying in {Delay}", delay);
                }
            }
            finally
            {
                queue.Done(key);
            }
        }
    }
}
