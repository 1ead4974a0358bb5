using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ConsulOperator.Runtime;

/// <summary>
/// Events on our resources: what was created, changed or refused, and why. The same event for the same object is
/// written once per hour at most, so that a cluster stuck on one problem does not flood the API with writes.
/// </summary>
public sealed class EventRecorder(KubeApi api, string component, TimeProvider time, ILogger logger)
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";

    private static readonly TimeSpan Repeat = TimeSpan.FromHours(1);
    private readonly ConcurrentDictionary<(string Uid, string Reason, string Message), DateTimeOffset> recent = new();

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, CancellationToken cancel)
    {
        var now = time.GetUtcNow();
        var key = (regarding.Metadata.Uid ?? regarding.Metadata.Name, reason, message);
        if (recent.TryGetValue(key, out var last) && now - last < Repeat)
        {
            return;
        }

        recent[key] = now;
        try
        {
            await api.CreateAsync(new Corev1Event
            {
                ApiVersion = "v1",
                Kind = "Event",
                Metadata = new V1ObjectMeta { Name = $"{regarding.Metadata.Name}.{now.ToUnixTimeMilliseconds():x}{Random.Shared.Next(0x1000):x3}", NamespaceProperty = regarding.Metadata.NamespaceProperty },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = regarding.ApiVersion,
                    Kind = regarding.Kind,
                    Name = regarding.Metadata.Name,
                    NamespaceProperty = regarding.Metadata.NamespaceProperty,
                    Uid = regarding.Metadata.Uid,
                    ResourceVersion = regarding.Metadata.ResourceVersion,
                },
                Type = type,
                Reason = reason,
                Message = message,
                Source = new V1EventSource { Component = component },
                ReportingComponent = component,
                FirstTimestamp = now.UtcDateTime,
                LastTimestamp = now.UtcDateTime,
                Count = 1,
            }, cancel);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException)
        {
            // An event is worth a log line, never a failed reconcile.
            recent.TryRemove(key, out _);
            logger.LogWarning("Could not record event {Reason} on {Name}: {Error}", reason, regarding.Metadata.Name, e.Message);
        }
    }
}
