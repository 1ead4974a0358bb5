using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Runtime;

/// <summary>Timing of leader election, as controller-runtime defaults it.</summary>
public sealed record LeaderElectionTiming(TimeSpan LeaseDuration, TimeSpan RenewDeadline, TimeSpan RetryPeriod)
{
    public static readonly LeaderElectionTiming Default = new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));
}

/// <summary>
/// Leader election through a coordination.k8s.io/v1 Lease: one replica holds it and renews it; the others take it over
/// once it expires. Losing it (a renewal that cannot succeed within the renew deadline) cancels the leader's work at once.
/// </summary>
public sealed class LeaderElector(KubeApi api, string ns, string leaseName, string identity, LeaderElectionTiming timing, TimeProvider time, ILogger logger)
{
    private volatile bool isLeader;

    public bool IsLeader => isLeader;

    public string Identity => identity;

    /// <summary>Runs <paramref name="lead"/> each time this replica becomes leader, until <paramref name="cancel"/>; releases the lease on the way out.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            if (!await TryAcquireOrRenewAsync(cancel))
            {
                await Delay(timing.RetryPeriod, cancel);
                continue;
            }

            logger.LogInformation("Became leader ({Identity}) through Lease {Namespace}/{Lease}", identity, ns, leaseName);
            isLeader = true;
            using var leadership = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var work = Task.Run(() => lead(leadership.Token), CancellationToken.None);
            await RenewWhileLeadingAsync(leadership, work, cancel);
            isLeader = false;
            await leadership.CancelAsync();
            await work.ContinueWith(_ => { }, TaskScheduler.Default);
            if (cancel.IsCancellationRequested)
            {
                await ReleaseAsync();
            }
            else
            {
                logger.LogWarning("Lost leadership of Lease {Namespace}/{Lease}; stopped all work", ns, leaseName);
            }
        }
    }

    private async Task RenewWhileLeadingAsync(CancellationTokenSource leadership, Task work, CancellationToken cancel)
    {
        var lastRenewal = time.GetUtcNow();
        while (!cancel.IsCancellationRequested && !work.IsCompleted)
        {
            await Delay(timing.RetryPeriod, cancel);
            if (cancel.IsCancellationRequested)
            {
                return;
            }

            if (await TryAcquireOrRenewAsync(cancel))
            {
                lastRenewal = time.GetUtcNow();
            }
            else if (time.GetUtcNow() - lastRenewal >= timing.RenewDeadline)
            {
                return;
            }
        }
    }

    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancel)
    {
        try
        {
            var now = time.GetUtcNow().UtcDateTime;
            var lease = await api.GetAsync<V1Lease>(ns, leaseName, cancel);
            if (lease is null)
            {
                await api.CreateAsync(new V1Lease
                {
                    ApiVersion = "coordination.k8s.io/v1",
                    Kind = "Lease",
                    Metadata = new V1ObjectMeta { Name = leaseName, NamespaceProperty = ns },
                    Spec = new V1LeaseSpec { HolderIdentity = identity, LeaseDurationSeconds = (int)timing.LeaseDuration.TotalSeconds, AcquireTime = now, RenewTime = now, LeaseTransitions = 0 },
                }, cancel);
                return true;
            }

            var spec = lease.Spec ??= new V1LeaseSpec();
            var held = spec.HolderIdentity == identity;
            var expired = spec.RenewTime is null || string.IsNullOrEmpty(spec.HolderIdentity)
                || spec.RenewTime.Value.AddSeconds(spec.LeaseDurationSeconds ?? (int)timing.LeaseDuration.TotalSeconds) < now;
            if (!held && !expired)
            {
                return false;
            }

            if (!held)
            {
                spec.HolderIdentity = identity;
                spec.AcquireTime = now;
                spec.LeaseTransitions = (spec.LeaseTransitions ?? 0) + 1;
            }

            spec.RenewTime = now;
            spec.LeaseDurationSeconds = (int)timing.LeaseDuration.TotalSeconds;
            await api.ReplaceAsync(lease, cancel);
            return true;
        }
        catch (Exception e) when (!cancel.IsCancellationRequested && e is KubeApiException or HttpRequestException or IOException)
        {
            logger.LogDebug("Lease {Namespace}/{Lease} not acquired or renewed: {Message}", ns, leaseName, e.Message);
            return false;
        }
    }

    // Handing the lease back on shutdown lets another replica take over at once instead of after the lease expires.
    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var lease = await api.GetAsync<V1Lease>(ns, leaseName, timeout.Token);
            if (lease?.Spec?.HolderIdentity == identity)
            {
                lease.Spec.HolderIdentity = null;
                lease.Spec.RenewTime = null;
                await api.ReplaceAsync(lease, timeout.Token);
                logger.LogInformation("Released Lease {Namespace}/{Lease}", ns, leaseName);
            }
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            logger.LogWarning("Could not release Lease {Namespace}/{Lease}: {Message}", ns, leaseName, e.Message);
        }
    }

    private Task Delay(TimeSpan delay, CancellationToken cancel) =>
        Task.Delay(delay, time, cancel).ContinueWith(_ => { }, TaskScheduler.Default);
}
