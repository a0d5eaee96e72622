using System.Net;
using k8s;
using k8s.Models;

namespace Patronus.Kubernetes.Informers;

/// <summary>
/// Raw GETs through the KubernetesClient's HttpClient (TLS and credentials as configured by its kubeconfig
/// or in-cluster setup). The informer reads the wire format itself rather than through the client's typed
/// watch helpers: those report a watch ERROR event as an exception without its code and buffer the first
/// line before returning, and the informer needs the 410 and every resourceVersion.
/// </summary>
public sealed class ApiConnection(k8s.Kubernetes client)
{
    public Uri BaseUri => client.BaseUri;

    public async Task<HttpResponseMessage> GetAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(client.BaseUri, pathAndQuery));
        request.Headers.Accept.ParseAdd("application/json");
        if (client.Credentials is not null)
            await client.Credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        return await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Turns a non-success response into an exception that keeps the status code and the server's Status message.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
            return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string? message = null;
        try
        {
            message = KubernetesJson.Deserialize<V1Status>(body)?.Message;
        }
        catch (System.Text.Json.JsonException)
        {
        }
        throw new ApiStatusException(response.StatusCode, $"{what}: HTTP {(int)response.StatusCode} {message ?? body}".Trim());
    }
}

/// <summary>The API server answered with an error status (HTTP or a watch ERROR event).</summary>
public sealed class ApiStatusException(HttpStatusCode statusCode, string message) : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    public bool IsGone => StatusCode == HttpStatusCode.Gone;
}
