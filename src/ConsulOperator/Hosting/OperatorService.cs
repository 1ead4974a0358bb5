using ConsulOperator.Controllers;
using ConsulOperator.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Hosting;

/// <summary>
/// Starts the informers on every replica (a standby keeps its cache warm for a fast takeover) and runs the
/// controllers only while this replica leads.
/// </summary>
public sealed class OperatorService(OperatorCaches caches, OperatorControllers controllers, LeaderElector? elector, ILogger<OperatorService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        caches.Subscribe(new ControllerQueues(controllers.Clusters.Queue.Add, controllers.Services.Queue.Add, controllers.AclPolicies.Queue.Add, controllers.AclTokens.Queue.Add, controllers.Restores.Queue.Add, controllers.ExternalAgents.Queue.Add));
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
        Enqueue(controllers.Clusters, caches.Clusters.List().Select(o => o.Metadata));
        Enqueue(controllers.Services, caches.ConsulServices.List().Select(o => o.Metadata));
        Enqueue(controllers.AclPolicies, caches.AclPolicies.List().Select(o => o.Metadata));
        Enqueue(controllers.AclTokens, caches.AclTokens.List().Select(o => o.Metadata));
        return Task.WhenAll(controllers.All.Select(c => c.RunAsync(cancel)));
    }

    private static void Enqueue(Controller controller, IEnumerable<k8s.Models.V1ObjectMeta> objects)
    {
        foreach (var metadata in objects)
        {
            controller.Queue.Add(Controller.Key(metadata.NamespaceProperty, metadata.Name));
        }
    }
}

/// <summary>The operator's controllers, one per kind.</summary>
public sealed record OperatorControllers(Controller Clusters, Controller Services, Controller AclPolicies, Controller AclTokens, Controller Restores, Controller ExternalAgents)
{
    public IReadOnlyList<Controller> All => [Clusters, Services, AclPolicies, AclTokens, Restores, ExternalAgents];
}
