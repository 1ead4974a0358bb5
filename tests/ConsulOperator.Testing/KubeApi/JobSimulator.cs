using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>
/// The Job controller and the kubelet for Jobs, as far as the operator's Jobs need them (restartPolicy Never, backoffLimit
/// 0): a new Job gets one pod from its template (labels <c>batch.kubernetes.io/job-name</c> and <c>controller-uid</c>,
/// owned by the Job), whose init containers and then containers run to the end in a real shell
/// (<see cref="PodRuntime.RunContainer"/>). The pod's status shows each container running, then terminated with its exit
/// code and termination message; the pod ends Succeeded or Failed, and the Job with condition Complete or Failed
/// (reason BackoffLimitExceeded), with succeeded or failed 1 (kubernetes pkg/controller/job; docs: kubernetes.io Jobs,
/// "Job termination and cleanup"; recalled). A test may hold Jobs before their containers start (after the init
/// containers), to see what the operator does meanwhile. <b>Simplifications</b>: no retries, no parallelism, no
/// <c>SuccessCriteriaMet</c>/<c>FailureTarget</c> conditions of newer releases.
/// </summary>
public sealed class JobSimulator
{
    private static readonly ResourceInfo Jobs = ResourceCatalog.ForKind("batch/v1", "Job");
    private static readonly ResourceInfo Pods = ResourceCatalog.ForKind("v1", "Pod");
    private readonly ObjectStore store;
    private readonly PodRuntime runtime;
    private readonly IReadOnlyDictionary<string, string> node;
    private readonly IReadOnlyList<string> path;
    private readonly Lock gate = new();
    private TaskCompletionSource released = CompletedSource();

    public JobSimulator(ObjectStore store, PodRuntime runtime, IReadOnlyDictionary<string, string> node, IReadOnlyList<string> path)
    {
        (this.store, this.runtime, this.node, this.path) = (store, runtime, node, path);
        store.Changed += change =>
        {
            if (change.Resource == Jobs && change.Type == "ADDED")
            {
                _ = Task.Run(() => Run(change.Namespace, change.Item));
            }
        };
    }

    /// <summary>How many Jobs have started a pod; a test checks that a Job was not run twice.</summary>
    public int PodsStarted { get; private set; }

    /// <summary>Holds every Job after its init containers, until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (gate)
        {
            if (released.Task.IsCompleted)
            {
                released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Release()
    {
        lock (gate)
        {
            released.TrySetResult();
        }
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }

    private async Task Run(string ns, JsonObject job)
    {
        var jobName = (string)job["metadata"]!["name"]!;
        var template = job["spec"]!["template"]!;
        var labels = template["metadata"]?["labels"]?.DeepClone() as JsonObject ?? [];
        labels["batch.kubernetes.io/job-name"] = jobName;
        labels["job-name"] = jobName;
        labels["controller-uid"] = job["metadata"]!["uid"]!.DeepClone();
        var pod = store.Create(Pods, ns, new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["generateName"] = $"{jobName}-",
                ["labels"] = labels,
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "batch/v1",
                    ["kind"] = "Job",
                    ["name"] = jobName,
                    ["uid"] = job["metadata"]!["uid"]!.DeepClone(),
                    ["controller"] = true,
                }),
            },
            ["spec"] = template["spec"]!.DeepClone(),
        });
        lock (gate)
        {
            PodsStarted++;
        }

        var podName = (string)pod["metadata"]!["name"]!;
        var init = (pod["spec"]!["initContainers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var main = (pod["spec"]!["containers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var initStates = init.Select(_ => (JsonNode)Waiting()).ToList();
        var mainStates = main.Select(_ => (JsonNode)Waiting()).ToList();
        UpdateJob(ns, jobName, j => j["status"] = new JsonObject { ["active"] = 1, ["startTime"] = Now() });

        bool Stage(List<JsonObject> containers, List<JsonNode> states, bool isInit)
        {
            for (var i = 0; i < containers.Count; i++)
            {
                states[i] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Now() } };
                WritePod(ns, podName, isInit ? "Pending" : "Running", init, initStates, main, mainStates);
                var exit = runtime.RunContainer(pod, store, containers[i], PodRuntime.JobPodIp, node, path);
                states[i] = new JsonObject
                {
                    ["terminated"] = new JsonObject
                    {
                        ["exitCode"] = exit.ExitCode,
                        ["reason"] = exit.ExitCode == 0 ? "Completed" : "Error",
                        ["message"] = exit.Problem ?? exit.Message,
                        ["finishedAt"] = Now(),
                    },
                };
                if (exit.ExitCode != 0)
                {
                    return false;
                }
            }

            return true;
        }

        var succeeded = Stage(init, initStates, isInit: true);
        if (succeeded)
        {
            WritePod(ns, podName, "Running", init, initStates, main, mainStates);
            Task wait;
            lock (gate)
            {
                wait = released.Task;
            }

            await wait;
            succeeded = Stage(main, mainStates, isInit: false);
        }

        WritePod(ns, podName, succeeded ? "Succeeded" : "Failed", init, initStates, main, mainStates);
        UpdateJob(ns, jobName, j =>
        {
            var status = j["status"] as JsonObject ?? [];
            status.Remove("active");
            status[succeeded ? "succeeded" : "failed"] = 1;
            status["completionTime"] = succeeded ? Now() : null;
            status["conditions"] = new JsonArray(new JsonObject
            {
                ["type"] = succeeded ? "Complete" : "Failed",
                ["status"] = "True",
                ["reason"] = succeeded ? "Completed" : "BackoffLimitExceeded",
                ["lastTransitionTime"] = Now(),
            });
            j["status"] = status;
        });
    }

    private static JsonObject Waiting() => new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "PodInitializing" } };

    private void WritePod(string ns, string name, string phase, List<JsonObject> init, List<JsonNode> initStates, List<JsonObject> main, List<JsonNode> mainStates)
    {
        if (store.Get(Pods, ns, name) is not { } current)
        {
            return;
        }

        JsonArray Statuses(List<JsonObject> containers, List<JsonNode> states) =>
            new([.. containers.Select((c, i) => (JsonNode)new JsonObject { ["name"] = (string)c["name"]!, ["state"] = states[i].DeepClone(), ["ready"] = false })]);
        current["status"] = new JsonObject
        {
            ["phase"] = phase,
            ["podIP"] = PodRuntime.JobPodIp,
            ["initContainerStatuses"] = Statuses(init, initStates),
            ["containerStatuses"] = Statuses(main, mainStates),
        };
        store.Update(Pods, ns, name, current, statusOnly: true);
    }

    private void UpdateJob(string ns, string name, Action<JsonObject> change)
    {
        if (store.Get(Jobs, ns, name) is { } current)
        {
            change(current);
            store.Update(Jobs, ns, name, current, statusOnly: true);
        }
    }

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
}
