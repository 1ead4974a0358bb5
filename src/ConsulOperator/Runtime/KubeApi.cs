using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace ConsulOperator.Runtime;

/// <summary>One event of a watch: ADDED, MODIFIED, DELETED or BOOKMARK.</summary>
public sealed record WatchEvent<T>(string Type, T Item);

/// <summary>A page of a list, with the resourceVersion to watch from.</summary>
public sealed record ListResult<T>(IReadOnlyList<T> Items, string ResourceVersion);

/// <summary>
/// A small typed client for the verbs the operator uses, on KubernetesClient's configured HttpClient (TLS, client
/// certificates) and credentials (tokens). Owning the requests keeps list/watch semantics (bookmarks, 410 Gone,
/// resourceVersion) explicit and lets every call be counted.
/// </summary>
public sealed class KubeApi(Kubernetes client, OperatorMetrics metrics, string userAgent)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    public async Task<T?> GetAsync<T>(string ns, string name, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        try
        {
            return await SendAsync<T>(Kinds.Of<T>(), HttpMethod.Get, "get", Kinds.Of<T>().ItemPath(ns, name), null, cancel);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public async Task<ListResult<T>> ListAsync<T>(string? ns, string? labelSelector, CancellationToken cancel)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var kind = Kinds.Of<T>();
        var list = await SendAsync<JsonObject>(kind, HttpMethod.Get, "list", kind.CollectionPath(ns) + Query(("labelSelector", labelSelector)), null, cancel);
        var items = list["items"]?.AsArray().Select(i => Typed<T>(i!.AsObject(), kind)).ToList() ?? [];
        return new ListResult<T>(items, (string?)list["metadata"]?["resourceVersion"] ?? "");
    }

    /// <summary>Streams watch events until the server ends the watch; an ERROR event (such as 410 Gone) is thrown as <see cref="KubeApiException"/>.</summary>
    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync<T>(string? ns, string? labelSelector, string resourceVersion, int timeoutSeconds, [EnumeratorCancellation] CancellationToken cancel)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var kind = Kinds.Of<T>();
        var path = kind.CollectionPath(ns) + Query(
            ("watch", "true"), ("allowWatchBookmarks", "true"), ("resourceVersion", resourceVersion),
            ("timeoutSeconds", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("labelSelector", labelSelector));
        using var request = await RequestAsync(HttpMethod.Get, path, null, cancel);
        metrics.ApiRequest("watch", kind.Plural);
        using var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        await EnsureSuccessAsync(response, cancel);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var change = JsonNode.Parse(line)!.AsObject();
            var type = (string)change["type"]!;
            var item = change["object"]!.AsObject();
            if (type == "ERROR")
            {
                throw new KubeApiException((HttpStatusCode)((int?)item["code"] ?? 500), (string?)item["reason"], (string?)item["message"] ?? "watch error");
            }

            yield return new WatchEvent<T>(type, Typed<T>(item, kind));
        }
    }

    public Task<T> CreateAsync<T>(T item, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        SendAsync<T>(Kinds.Of<T>(), HttpMethod.Post, "create", Kinds.Of<T>().CollectionPath(item.Metadata.NamespaceProperty), Body(item), cancel);

    /// <summary>PUT with the item's resourceVersion: a concurrent change answers 409.</summary>
    public Task<T> ReplaceAsync<T>(T item, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        SendAsync<T>(Kinds.Of<T>(), HttpMethod.Put, "update", Kinds.Of<T>().ItemPath(item.Metadata.NamespaceProperty, item.Metadata.Name), Body(item), cancel);

    public Task<T> ReplaceStatusAsync<T>(T item, CancellationToken cancel)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        SendAsync<T>(Kinds.Of<T>(), HttpMethod.Put, "update", Kinds.Of<T>().ItemPath(item.Metadata.NamespaceProperty, item.Metadata.Name) + "/status", Body(item), cancel);

    public async Task DeleteAsync<T>(string ns, string name, CancellationToken cancel)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        try
        {
            await SendAsync<JsonObject>(Kinds.Of<T>(), HttpMethod.Delete, "delete", Kinds.Of<T>().ItemPath(ns, name), null, cancel);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            // Already gone is what we wanted.
        }
    }

    private async Task<TResult> SendAsync<TResult>(ResourceKind kind, HttpMethod method, string verb, string path, string? body, CancellationToken cancel)
    {
        using var request = await RequestAsync(method, path, body, cancel);
        metrics.ApiRequest(verb, kind.Plural);
        using var response = await client.HttpClient.SendAsync(request, cancel);
        await EnsureSuccessAsync(response, cancel);
        var text = await response.Content.ReadAsStringAsync(cancel);
        if (typeof(TResult) == typeof(JsonObject))
        {
            return (TResult)(object)JsonNode.Parse(text)!.AsObject();
        }

        return KubernetesJson.Deserialize<TResult>(text);
    }

    private async Task<HttpRequestMessage> RequestAsync(HttpMethod method, string path, string? body, CancellationToken cancel)
    {
        var request = new HttpRequestMessage(method, new Uri(client.BaseUri, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = Json;
        }

        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        if (client.Credentials is not null)
        {
            await client.Credentials.ProcessHttpRequestAsync(request, cancel);
        }

        return request;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancel);
        string? reason = null;
        var message = text;
        try
        {
            var status = JsonNode.Parse(text);
            reason = (string?)status?["reason"];
            message = (string?)status?["message"] ?? text;
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a Status object (a proxy's error page, say): keep the raw text.
        }

        throw new KubeApiException(response.StatusCode, reason, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: {(int)response.StatusCode} {reason}: {message}");
    }

    // Built-in lists leave apiVersion and kind off their items; put them back so that every object knows what it is.
    private static T Typed<T>(JsonObject item, ResourceKind kind)
    {
        item["apiVersion"] ??= kind.ApiVersion;
        item["kind"] ??= kind.Kind;
        return KubernetesJson.Deserialize<T>(item);
    }

    private static string Body<T>(T item) => KubernetesJson.Serialize(item);

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? "" : "?" + string.Join('&', present);
    }
}
