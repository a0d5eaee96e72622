using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Patronus.Agent.Routes;

/// <summary>
/// The node's CNI network configuration: the operator's template (the <c>10-patronus.conflist</c> key of the
/// ConfigMap) with this node's pod ranges and MTU filled in. Pure; the writer puts it on disk.
/// </summary>
public static class ConflistRenderer
{
    /// <summary>The IPAM keys that name a single range: replaced by <c>ranges</c>, which holds the node's.</summary>
    private static readonly string[] SingleRangeKeys = ["subnet", "rangeStart", "rangeEnd", "gateway"];

    /// <param name="mtu">The pods' MTU (the uplink's less the overlay's overhead), or null to keep the template's.</param>
    /// <exception cref="InvalidDataException">The template is not a conflist with a patronus-cni plugin; the message says what is wrong.</exception>
    public static string Render(string template, IReadOnlyList<IPNetwork> podCidrs, int? mtu)
    {
        if (podCidrs.Count == 0)
            throw new ArgumentException("a node without pod ranges gets no network configuration", nameof(podCidrs));
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(template, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"CNI configuration template is not JSON: {e.Message}");
        }
        if (root is not JsonObject conflist || conflist["plugins"] is not JsonArray plugins)
            throw new InvalidDataException("CNI configuration template has no 'plugins' list (a conflist is expected)");
        var ours = plugins.OfType<JsonObject>().Where(p => p["type"]?.GetValueKind() == JsonValueKind.String && (string?)p["type"] == "patronus-cni").ToList();
        if (ours.Count == 0)
            throw new InvalidDataException("CNI configuration template has no plugin of type 'patronus-cni'");

        foreach (var plugin in ours)
        {
            if (plugin["ipam"] is not JsonObject ipam)
            {
                if (plugin["ipam"] is not null)
                    throw new InvalidDataException("CNI configuration template: 'ipam' of the patronus-cni plugin is not an object");
                plugin["ipam"] = ipam = new JsonObject { ["type"] = "patronus-ipam" };
            }
            foreach (var key in SingleRangeKeys)
                ipam.Remove(key);
            // One range set per family, as host-local and patronus-ipam read them: one address of each per pod.
            ipam["ranges"] = new JsonArray(podCidrs
                .Select(c => (JsonNode)new JsonArray(new JsonObject { ["subnet"] = c.ToString() }))
                .ToArray());
            if (mtu is { } value && (plugin["mtu"]?.GetValueKind() != JsonValueKind.Number || (int)plugin["mtu"]! > value))
                plugin["mtu"] = value;
        }
        return conflist.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
