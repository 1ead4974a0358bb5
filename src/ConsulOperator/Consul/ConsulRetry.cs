using System.Net;

namespace ConsulOperator.Consul;

/// <summary>
/// How often and how patiently one Consul call is tried: each attempt has its own timeout; transient failures
/// (unreachable, timeout, 429, 5xx) are tried again with doubling backoff, the last one is thrown.
/// </summary>
public sealed record ConsulRetry(int Attempts, TimeSpan FirstBackoff, TimeSpan AttemptTimeout)
{
    public static readonly ConsulRetry Default = new(3, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));

    public async Task<HttpResponseMessage> RunAsync(
        HttpMethod method, Uri endpoint, Func<CancellationToken, Task<HttpResponseMessage>> send, TimeProvider time, CancellationToken cancel, HttpStatusCode? alsoSuccess = null)
    {
        var backoff = FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            ConsulApiException failure;
            using var attemptTimeout = new CancellationTokenSource(AttemptTimeout, time);
            using var attemptCancel = CancellationTokenSource.CreateLinkedTokenSource(cancel, attemptTimeout.Token);
            try
            {
                var response = await send(attemptCancel.Token);
                if (response.IsSuccessStatusCode || response.StatusCode == alsoSuccess)
                {
                    return response;
                }

                using (response)
                {
                    var detail = (await response.Content.ReadAsStringAsync(cancel)).Trim();
                    failure = new ConsulApiException(method.Method, endpoint, response.StatusCode, detail.Length > 0 ? detail : response.ReasonPhrase ?? "");
                }
            }
            catch (HttpRequestException e)
            {
                failure = new ConsulApiException(method.Method, endpoint, null, $"unreachable: {e.Message}", e);
            }
            catch (OperationCanceledException e) when (!cancel.IsCancellationRequested)
            {
                failure = new ConsulApiException(method.Method, endpoint, null, $"no answer within {AttemptTimeout.TotalSeconds:0.#} s", e);
            }

            if (!failure.IsTransient || attempt >= Attempts)
            {
                throw failure;
            }

            await Task.Delay(backoff, time, cancel);
            backoff *= 2;
        }
    }
}
