using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace ConsulOperator.Testing.KubeApi;

/// <summary>The REST surface of the test API server: the paths, verbs and query parameters a client-go style client uses.</summary>
public sealed class ApiHandler(ObjectStore store, Faults faults, RequestLog log, string bearerToken, TimeSpan bookmarkInterval)
{
    private readonly HashSet<ResourceInfo> installed = [.. ResourceCatalog.All];

    /// <summary>Serves kinds whose CRDs were not installed before, as applying their CRDs does.</summary>
    public void Install(IEnumerable<ResourceInfo> crds)
    {
        lock (installed)
        {
            installed.UnionWith(crds);
        }
    }

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var route = Route.Parse(request.Path.Value ?? "", request.Method, request.Query);
        var statusCode = 200;
        try
        {
            if (request.Headers.Authorization != $"Bearer {bearerToken}")
            {
                throw new ApiException(401, "Unauthorized", "Unauthorized");
            }

            // A kind whose CRD is not installed is a path kube-apiserver does not know: 404 "the server could not find the
            // requested resource". Its filter chain authorizes first, on the group and resource parsed from the path
            // (k8s.io/apiserver WithAuthorization, RequestInfoFactory), so the request log keeps them.
            if (route is null || !Serves(route.Resource))
            {
                throw new ApiException(404, "NotFound", $"the server could not find the requested resource ({request.Method} {request.Path})");
            }

            if (faults.Latency > TimeSpan.Zero)
            {
                await Task.Delay(faults.Latency, context.RequestAborted);
            }

            if (faults.Take(route.Verb, route.Resource.Plural) is { } injected)
            {
                throw new ApiException(injected, injected == 429 ? "TooManyRequests" : injected == 409 ? "Conflict" : "InternalError", $"injected fault {injected} for {route.Verb} {route.Resource.Plural}");
            }

            if (route.Verb == "watch")
            {
                await WatchAsync(context, route);
                return;
            }

            var result = await ExecuteAsync(route, request);
            statusCode = route.Verb == "create" ? 201 : 200;
            await WriteAsync(context.Response, statusCode, result);
        }
        catch (ApiException e)
        {
            statusCode = e.Code;
            await WriteAsync(context.Response, e.Code, e.ToStatus());
        }
        catch (JsonException e)
        {
            statusCode = 400;
            await WriteAsync(context.Response, 400, new ApiException(400, "BadRequest", e.Message).ToStatus());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug in the test server must show up in the client's error, not as a bare 500.
            statusCode = 500;
            await WriteAsync(context.Response, 500, new ApiException(500, "InternalError", $"test API server failed: {e}").ToStatus());
        }
        finally
        {
            log.Add(new LoggedRequest(route?.Verb ?? request.Method, route?.Resource.Plural ?? request.Path, route?.Namespace, route?.Name, statusCode, request.Headers.UserAgent.ToString()));
        }
    }

    private async Task<JsonNode> ExecuteAsync(Route route, HttpRequest request)
    {
        var ns = route.Namespace ?? "";
        switch (route.Verb)
        {
            case "get":
                return store.Get(route.Resource, ns, route.Name!) ?? throw ApiException.NotFound(route.Resource, route.Name!);
            case "list":
                var (items, version) = store.List(route.Resource, route.Namespace, route.Selector);
                if (route.Resource.BuiltIn)
                {
                    items.ForEach(i => { i.Remove("apiVersion"); i.Remove("kind"); });
                }

                return new JsonObject
                {
                    ["apiVersion"] = route.Resource.ApiVersion,
                    ["kind"] = route.Resource.Kind + "List",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray([.. items]),
                };
            case "create":
                return store.Create(route.Resource, ns, await BodyAsync(request));
            case "update":
                return store.Update(route.Resource, ns, route.Name!, await BodyAsync(request), route.Subresource == "status");
            case "patch":
                var current = store.Get(route.Resource, ns, route.Name!) ?? throw ApiException.NotFound(route.Resource, route.Name!);
                var patch = await JsonNode.ParseAsync(request.Body) ?? throw new ApiException(400, "BadRequest", "empty patch");
                var patched = request.ContentType?.Split(';')[0] switch
                {
                    "application/merge-patch+json" or "application/strategic-merge-patch+json" => Patches.MergePatch(current, patch),
                    "application/json-patch+json" => Patches.JsonPatch(current, patch.AsArray()),
                    var other => throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format: {other}"),
                };
                var body = patched!.AsObject();
                if ((string?)patch["metadata"]?["resourceVersion"] is null)
                {
                    // A patch without a resourceVersion is unconditional.
                    body["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]?.DeepClone();
                }

                return store.Update(route.Resource, ns, route.Name!, body, route.Subresource == "status");
            case "delete":
                return store.Delete(route.Resource, ns, route.Name!);
            default:
                throw new ApiException(405, "MethodNotAllowed", $"{route.Verb} is not supported");
        }
    }

    private async Task WatchAsync(HttpContext context, Route route)
    {
        Watcher watcher;
        try
        {
            watcher = store.Watch(route.Resource, route.Namespace, route.Selector, route.ResourceVersion);
        }
        catch (ApiException e) when (e.Code == 410)
        {
            // The real API server answers 200 and then sends the 410 as an ERROR event.
            context.Response.StatusCode = 200;
            await WriteEventAsync(context.Response, "ERROR", e.ToStatus(), context.RequestAborted);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.Body.FlushAsync(context.RequestAborted);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (route.TimeoutSeconds is { } seconds)
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        try
        {
            Task<bool>? waiting = null;
            while (!timeout.IsCancellationRequested)
            {
                waiting ??= watcher.Events.Reader.WaitToReadAsync(timeout.Token).AsTask();
                if (await Task.WhenAny(waiting, Task.Delay(bookmarkInterval, timeout.Token)) != waiting)
                {
                    if (route.AllowBookmarks)
                    {
                        await WriteEventAsync(context.Response, "BOOKMARK", Bookmark(route.Resource, store.CurrentResourceVersion), timeout.Token);
                    }

                    continue;
                }

                if (!await waiting)
                {
                    return;
                }

                waiting = null;
                while (watcher.Events.Reader.TryRead(out var change))
                {
                    await WriteEventAsync(context.Response, change.Type, (JsonObject)change.Item.DeepClone(), timeout.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away or timeoutSeconds passed: the watch just ends.
        }
        finally
        {
            store.StopWatching(watcher);
        }
    }

    private static JsonObject Bookmark(ResourceInfo resource, long version) => new()
    {
        ["apiVersion"] = resource.ApiVersion,
        ["kind"] = resource.Kind,
        ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) },
    };

    private static async Task WriteEventAsync(HttpResponse response, string type, JsonObject item, CancellationToken cancel)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = item }.ToJsonString(Compact) + "\n";
        await response.WriteAsync(line, cancel);
        await response.Body.FlushAsync(cancel);
    }

    private static async Task WriteAsync(HttpResponse response, int statusCode, JsonNode body)
    {
        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        await response.WriteAsync(body.ToJsonString(Compact));
    }

    private static async Task<JsonObject> BodyAsync(HttpRequest request) =>
        (await JsonNode.ParseAsync(request.Body))?.AsObject() ?? throw new ApiException(400, "BadRequest", "empty body");

    private bool Serves(ResourceInfo resource)
    {
        lock (installed)
        {
            return installed.Contains(resource);
        }
    }

    private sealed record Route(string Verb, ResourceInfo Resource, string? Namespace, string? Name, string? Subresource, Selector Selector, string? ResourceVersion, bool AllowBookmarks, int? TimeoutSeconds)
    {
        public static Route? Parse(string path, string method, IQueryCollection query)
        {
            var parts = path.Trim('/').Split('/');
            int rest;
            string group, version;
            if (parts is ["api", var v, ..])
            {
                (group, version, rest) = ("", v, 2);
            }
            else if (parts is ["apis", var g, var v2, ..])
            {
                (group, version, rest) = (g, v2, 3);
            }
            else
            {
                return null;
            }

            var tail = parts[rest..];
            string? ns = null;
            if (tail is ["namespaces", var n, _, ..])
            {
                ns = n;
                tail = tail[2..];
            }

            if (tail.Length == 0 || tail.Length > 3 || ResourceCatalog.Find(group, version, tail[0]) is not { } resource)
            {
                return null;
            }

            var name = tail.Length > 1 ? tail[1] : null;
            var subresource = tail.Length > 2 ? tail[2] : null;
            if (subresource is not null && (subresource != "status" || !resource.HasStatus))
            {
                return null;
            }

            var watch = query["watch"] is { Count: > 0 } w && (w[0] == "true" || w[0] == "1");
            var verb = (method, name, watch) switch
            {
                ("GET", null, true) => "watch",
                ("GET", null, false) => "list",
                ("GET", _, _) => "get",
                ("POST", null, _) => "create",
                ("PUT", not null, _) => "update",
                ("PATCH", not null, _) => "patch",
                ("DELETE", not null, _) => "delete",
                _ => null,
            };
            if (verb is null)
            {
                return null;
            }

            return new Route(
                verb, resource, ns, name, subresource,
                Selector.Parse(query["labelSelector"], query["fieldSelector"]),
                query["resourceVersion"],
                query["allowWatchBookmarks"] == "true",
                int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : null);
        }
    }
}
