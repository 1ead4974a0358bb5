using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Hosting;

/// <summary>
/// Starts the informers on every replica (a standby keeps its cache warm for a fast takeover) and runs the
/// controllers only while this replica leads.
/// </summary>
public sealed class OperatorService(OperatorCaches caches, Controller clusters, Controller services, LeaderElector? elector, ILogger<OperatorService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        caches.Subscribe(clusters.Queue.Add, services.Queue.Add);
        var informers = caches.RunAsync(stoppingToken);
        try
        {
            await caches.WaitForSyncAsync(stoppingToken);
            logger.LogInformation("Caches synced");
            if (elector is null)
            {
                await LeadAsync(stoppingToken);
            }
            else
            {
                await elector.RunAsync(LeadAsync, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }

        await informers.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    // A new leader looks at every object once, whatever it missed while it was not leading.
    private Task LeadAsync(CancellationToken cancel)
    {
        foreach (var cluster in caches.Clusters.List())
        {
            clusters.Queue.Add(Controller.Key(cluster.Metadata.NamespaceProperty, cluster.Metadata.Name));
        }

        foreach (var service in caches.ConsulServices.List())
        {
            services.Queue.Add(Controller.Key(service.Metadata.NamespaceProperty, service.Metadata.Name));
        }

        return Task.WhenAll(clusters.RunAsync(cancel), services.RunAsync(cancel));
    }
}
