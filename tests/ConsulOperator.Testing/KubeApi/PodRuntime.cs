using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>
/// The nodes' disks and the part of the kubelet that runs init containers. Each volume a pod mounts is a real directory:
/// a PersistentVolumeClaim's by claim UID (it outlives the pod), an emptyDir's by pod UID, a ConfigMap's filled with its
/// keys when the container starts (an optional ConfigMap that does not exist is an empty directory). An init container's
/// <c>/bin/sh -ec</c> script runs in a real shell, once per pod, with its environment (values and the downward API) and
/// its mount paths pointing at those directories, so what the operator renders is what runs.
/// <b>Simplification:</b> there are no mount namespaces: the script's mount paths are rewritten to the directories, so a
/// script that reached outside its mounts would touch this machine (ours do not), and a read-only mount is not enforced.
/// </summary>
public sealed class PodRuntime : IDisposable
{
    private static readonly ResourceInfo Claims = ResourceCatalog.ForKind("v1", "PersistentVolumeClaim");
    private static readonly ResourceInfo ConfigMaps = ResourceCatalog.ForKind("v1", "ConfigMap");
    private static readonly ResourceInfo Secrets = ResourceCatalog.ForKind("v1", "Secret");
    private readonly string root = Directory.CreateTempSubdirectory("consul-operator-volumes-").FullName;
    private readonly ConcurrentDictionary<string, string?> initialized = new();

    /// <summary>
    /// Which disk a volume of the pod is: a claim by its UID (<c>pvc:&lt;uid&gt;</c>, null while the claim does not exist),
    /// an emptyDir by its pod's UID and name (<c>pod:&lt;uid&gt;:&lt;volume&gt;</c>); null for other kinds, which hold no
    /// state of their own. The agent's data directory and the init containers find the same directory through it.
    /// </summary>
    public static string? VolumeIdentity(JsonObject pod, JsonObject volume, ObjectStore store) =>
        volume["persistentVolumeClaim"]?["claimName"] is { } claim
            ? store.Get(Claims, (string)pod["metadata"]!["namespace"]!, (string)claim!)?["metadata"]?["uid"] is { } uid ? $"pvc:{(string)uid!}" : null
            : volume["emptyDir"] is not null ? $"pod:{(string)pod["metadata"]!["uid"]!}:{(string)volume["name"]!}"
            : null;

    /// <summary>The directory behind a volume (<see cref="VolumeIdentity"/>), made on first use.</summary>
    public string VolumeDirectory(string identity)
    {
        var path = Path.Combine(root, identity.Replace(':', '-'));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Runs the pod's init containers in order, once per pod UID; null when all exited 0, else why the pod stays in Init.</summary>
    public string? RunInitContainers(JsonObject pod, ObjectStore store, string podIp) =>
        initialized.GetOrAdd((string)pod["metadata"]!["uid"]!, _ => RunAll(pod, store, podIp, "initContainers", new Dictionary<string, string>(), [], null));

    /// <summary>
    /// Runs a pod to the end, as the kubelet does with restartPolicy Never: its init containers, then its containers,
    /// each in a real shell. <paramref name="node"/> is what the node adds (how names reach the network), and
    /// <paramref name="path"/> the image's tools, never what the pod spec says. The output is every container's, in order.
    /// </summary>
    public (string? Failure, string Output) RunToCompletion(JsonObject pod, ObjectStore store, IReadOnlyDictionary<string, string> node, IReadOnlyList<string> path)
    {
        var output = new StringBuilder();
        var failure = RunAll(pod, store, JobPodIp, "initContainers", node, path, output) ?? RunAll(pod, store, JobPodIp, "containers", node, path, output);
        return (failure, output.ToString());
    }

    /// <summary>The address a pod that runs to the end is given; nothing dials it.</summary>
    public const string JobPodIp = "10.0.9.1";

    /// <summary>How one container ended: its exit code, what it wrote, and its termination message as the kubelet reads it.</summary>
    public sealed record ContainerExit(int ExitCode, string Output, string Message, string? Problem);

    /// <summary>
    /// Runs one container of the pod in a real shell. Its termination message is what it wrote to its
    /// <c>terminationMessagePath</c> (/dev/termination-log unless set), at most 4096 bytes; with
    /// <c>terminationMessagePolicy: FallbackToLogsOnError</c>, a container that failed and wrote none gets the end of its
    /// output, at most 2048 bytes or 80 lines (docs: kubernetes.io "Determine the Reason for Pod Failure", recalled).
    /// </summary>
    public ContainerExit RunContainer(JsonObject pod, ObjectStore store, JsonObject container, string podIp, IReadOnlyDictionary<string, string> node, IReadOnlyList<string> path)
    {
        var name = (string)container["name"]!;
        var command = (container["command"] as JsonArray ?? []).Select(c => (string)c!).Concat((container["args"] as JsonArray ?? []).Select(c => (string)c!)).ToList();
        if (command is not ["/bin/sh", "-ec" or "-c", var script])
        {
            throw new NotSupportedException($"container {name}: only a '/bin/sh -ec <script>' command is run here, not {string.Join(" ", command)}");
        }

        var messageFile = Path.Combine(root, $"termination-{Guid.NewGuid():N}");
        File.WriteAllText(messageFile, "");
        var mounts = new List<(string MountPath, string Directory)> { ((string?)container["terminationMessagePath"] ?? "/dev/termination-log", messageFile) };
        foreach (var mount in (container["volumeMounts"] as JsonArray ?? []).OfType<JsonObject>().OrderByDescending(m => ((string)m["mountPath"]!).Length))
        {
            var (directory, problem) = Mount(pod, store, (string)mount["name"]!);
            if (directory is null)
            {
                return new ContainerExit(-1, "", "", problem);
            }

            mounts.Add((((string)mount["mountPath"]!).TrimEnd('/'), directory));
        }

        // No mount namespaces: mount paths in the script and in the environment's values point at the directories. A
        // path is rewritten where it starts (after a blank, a quote, '=' or ':') and ends ('/', a blank, a quote, the end).
        string Mounted(string text) => mounts.Aggregate(text, (t, m) =>
            System.Text.RegularExpressions.Regex.Replace(t, $@"(?<=^|[\s""'=:<>]){System.Text.RegularExpressions.Regex.Escape(m.MountPath)}(?=/|$|[\s""';])", m.Directory.Replace("$", "$$", StringComparison.Ordinal), System.Text.RegularExpressions.RegexOptions.Multiline));
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(command[1]);
        start.ArgumentList.Add(Mounted(script));
        start.Environment.Clear();
        start.Environment["PATH"] = string.Join(':', [.. path, "/usr/bin", "/bin"]);
        foreach (var (key, value) in node)
        {
            start.Environment[key] = value;
        }

        foreach (var variable in (container["env"] as JsonArray ?? []).OfType<JsonObject>())
        {
            start.Environment[(string)variable["name"]!] = Mounted((string?)variable["value"] ?? (variable["valueFrom"]?["secretKeyRef"] is JsonObject reference
                ? SecretValue(store, (string)pod["metadata"]!["namespace"]!, (string)reference["name"]!, (string)reference["key"]!)
                    ?? throw new NotSupportedException($"container {name}: secret {(string)reference["name"]!} has no key {(string)reference["key"]!} (the pod would not start)")
                : (string?)variable["valueFrom"]?["fieldRef"]?["fieldPath"] switch
                {
                    "metadata.name" => (string)pod["metadata"]!["name"]!,
                    "metadata.namespace" => (string)pod["metadata"]!["namespace"]!,
                    "status.podIP" => podIp,
                    var other => throw new NotSupportedException($"container {name}: fieldRef {other}"),
                }));
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        var all = output.Result + errors;
        var message = File.ReadAllText(messageFile);
        File.Delete(messageFile);
        if (message.Length == 0 && process.ExitCode != 0 && (string?)container["terminationMessagePolicy"] == "FallbackToLogsOnError")
        {
            var lines = all.TrimEnd('\n').Split('\n');
            message = string.Join('\n', lines.TakeLast(80));
            message = message.Length > 2048 ? message[^2048..] : message;
        }

        return new ContainerExit(process.ExitCode, all, message.Length > 4096 ? message[..4096] : message, null);
    }

    private string? RunAll(JsonObject pod, ObjectStore store, string podIp, string kind, IReadOnlyDictionary<string, string> node, IReadOnlyList<string> path, StringBuilder? log)
    {
        foreach (var container in (pod["spec"]?[kind] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = (string)container["name"]!;
            var exit = RunContainer(pod, store, container, podIp, node, path);
            log?.Append(exit.Output);
            if (exit.Problem is not null)
            {
                return $"{Describe(kind)} {name}: {exit.Problem}";
            }

            if (exit.ExitCode != 0)
            {
                return $"{Describe(kind)} {name} exited with {exit.ExitCode}: {exit.Output.Trim()}".Trim();
            }
        }

        return null;
    }

    private static string Describe(string kind) => kind == "initContainers" ? "init container" : "container";

    private static string? SecretValue(ObjectStore store, string ns, string name, string key) =>
        store.Get(Secrets, ns, name)?["data"]?[key] is { } value ? Encoding.UTF8.GetString(Convert.FromBase64String((string)value!)) : null;

    // The directory a mount shows, or why the kubelet cannot mount it (the pod then stays in ContainerCreating).
    private (string? Directory, string? Problem) Mount(JsonObject pod, ObjectStore store, string volumeName)
    {
        var volume = (pod["spec"]?["volumes"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(v => (string?)v["name"] == volumeName)
            ?? throw new InvalidOperationException($"volume {volumeName} is mounted but not declared");
        if (volume["persistentVolumeClaim"]?["claimName"] is { } claimName)
        {
            return VolumeIdentity(pod, volume, store) is { } claim ? (VolumeDirectory(claim), null) : (null, $"persistentvolumeclaim \"{(string)claimName!}\" not found");
        }

        if (volume["emptyDir"] is not null)
        {
            return (VolumeDirectory(VolumeIdentity(pod, volume, store)!), null);
        }

        if (volume["configMap"] is JsonObject source)
        {
            var configMap = store.Get(ConfigMaps, (string)pod["metadata"]!["namespace"]!, (string)source["name"]!);
            if (configMap is null && (bool?)source["optional"] != true)
            {
                return (null, $"configmap \"{(string)source["name"]!}\" not found");
            }

            var directory = Path.Combine(root, $"{volumeName}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(directory);
            foreach (var (key, value) in configMap?["data"] as JsonObject ?? [])
            {
                File.WriteAllText(Path.Combine(directory, key), (string?)value ?? "", Encoding.UTF8);
            }

            return (directory, null);
        }

        if (volume["secret"] is JsonObject secretSource)
        {
            var secret = store.Get(Secrets, (string)pod["metadata"]!["namespace"]!, (string)secretSource["secretName"]!);
            if (secret is null)
            {
                return (null, $"secret \"{(string)secretSource["secretName"]!}\" not found");
            }

            var directory = Path.Combine(root, $"{volumeName}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(directory);
            foreach (var (key, value) in secret["data"] as JsonObject ?? [])
            {
                File.WriteAllBytes(Path.Combine(directory, key), Convert.FromBase64String((string?)value ?? ""));
            }

            return (directory, null);
        }

        throw new NotSupportedException($"volume {volumeName}: only claims, emptyDirs, ConfigMaps and Secrets are mounted here");
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
