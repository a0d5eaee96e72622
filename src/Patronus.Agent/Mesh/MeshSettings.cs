using System.Net;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;
using Patronus.Mesh.Identity;
using Patronus.Netlink;
using YamlDotNet.RepresentationModel;

namespace Patronus.Agent.Mesh;

/// <summary>Reads the mesh's settings (patronus-config's keys, or the site's command line) with errors that name the field.</summary>
public static class MeshSettings
{
    public static void Read(AgentOptions options, IConfiguration configuration)
    {
        var mesh = options.Mesh;
        mesh.ClusterId = Text("clusterId");
        mesh.SiteName = Text("siteName");
        if (mesh.ClusterId is not null && mesh.SiteName is not null)
            throw new AgentOptionsException("options 'cluster-id' and 'site-name' exclude each other: an agent serves a cluster's node or a site");
        foreach (var (key, id) in new[] { ("clusterId", mesh.ClusterId), ("siteName", mesh.SiteName) })
        {
            if (id is not null && !MemberIds.Valid(id))
                throw new AgentOptionsException($"option '{key}' is '{id}'; expected 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit");
        }
        foreach (var text in Split("clusterSetKey"))
        {
            byte[] key;
            try
            {
                key = Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                throw new AgentOptionsException($"option 'cluster-set-key': '{text}' is not base64");
            }
            if (key.Length != 32)
                throw new AgentOptionsException($"option 'cluster-set-key': a key is 32 bytes (an Ed25519 public key), not {key.Length}");
            mesh.SetKeys.Add(key);
        }
        // A cluster id alone names the cluster (every cluster has one); a site, or remote clusters, mean a mesh, and a
        // mesh without a trusted key could verify nobody.
        if (mesh.SiteName is not null && mesh.SetKeys.Count == 0)
            throw new AgentOptionsException("option 'site-name' needs 'cluster-set-key': without a trusted cluster-set key no member could be verified");
        mesh.KeysDirectory = Text("meshKeys") ?? mesh.KeysDirectory;
        mesh.GatewayLabel = Text("gatewayLabel") ?? mesh.GatewayLabel;
        mesh.Interface = Text("meshInterface") ?? mesh.Interface;
        if (mesh.Interface.Length > 15 || mesh.Interface.Any(c => c is '/' or ' ' or ':') || mesh.Interface is "." or "..")
            throw new AgentOptionsException($"option 'mesh-interface' is '{mesh.Interface}'; an interface name has at most 15 characters and no '/', ':' or space");
        mesh.ListenPort = Port("listenPort", mesh.ListenPort);
        mesh.ExternalWireGuardGo = Text("meshWireGuardGo") switch
        {
            null or "spawn" => false,
            "external" => true,
            var other => throw new AgentOptionsException($"option 'mesh-wireguard-go' is '{other}'; expected spawn (the agent starts wireguard-go) or external (it runs in a container of its own: the agent waits for it)"),
        };
        mesh.DiscoveryPort = Port("meshDiscoveryPort", mesh.DiscoveryPort);
        mesh.ProbePort = Text("meshProbePort") == "0" ? 0 : Port("meshProbePort", mesh.ProbePort);
        if (Text("multicastGroup") is { } group)
        {
            if (group == "none")
                mesh.MulticastGroup = null;
            else if (!IPEndPoint.TryParse(group, out var endpoint) || endpoint.Port == 0 || !IsMulticast(endpoint.Address))
                throw new AgentOptionsException($"option 'multicast-group' is '{group}'; expected a multicast GROUP:PORT such as 239.255.77.77:51821, or none");
            else
                mesh.MulticastGroup = endpoint;
        }
        foreach (var text in Split("meshEndpoints"))
        {
            // NAME=ADDRESS:PORT names the WAN path the endpoint is on (the path_id of metrics and `patronus paths`).
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? null : text[..equals].Trim();
            var address = equals < 0 ? text : text[(equals + 1)..].Trim();
            if (!IPEndPoint.TryParse(address, out var endpoint) || endpoint.Port == 0)
                throw new AgentOptionsException($"option 'mesh-endpoints': '{text}' is not ADDRESS:PORT or NAME=ADDRESS:PORT");
            if (name is not null && !IsPathName(name))
                throw new AgentOptionsException($"option 'mesh-endpoints': the path name '{name}' in '{text}' must be a DNS label (lower case letters, digits and '-', at most 63)");
            mesh.Endpoints.Add(endpoint);
            if (name is not null)
                mesh.PathNames[endpoint] = name;
        }
        mesh.KeyRotation = Seconds("keyRotationSeconds", mesh.KeyRotation, allowZero: true);
        mesh.AnnounceInterval = Seconds("announceIntervalSeconds", mesh.AnnounceInterval, allowZero: false);
        if (Text("remoteClusters") is { } remotes)
            mesh.RemoteClusters = ParseRemoteClusters(remotes);
        if (mesh.RemoteClusters.Count > 0 && (mesh.ClusterId is null || mesh.SetKeys.Count == 0))
            throw new AgentOptionsException("option 'remote-clusters' needs 'cluster-id' and 'cluster-set-key': the mesh cannot verify or be verified without them");

        foreach (var remote in mesh.RemoteClusters)
        {
            if (remote.Id == mesh.MemberId)
                throw new AgentOptionsException($"option 'remote-clusters' lists this cluster itself ('{remote.Id}')");
            foreach (var mine in options.Routes.ClusterCidrs.Concat(options.Routes.ServiceCidrs))
            {
                foreach (var theirs in remote.Cidrs.Where(t => NetworkRanges.Overlaps(mine, t)))
                    throw new AgentOptionsException($"option 'remote-clusters': {theirs} of '{remote.Id}' overlaps this cluster's {mine}: ranges in the mesh are never translated, so they must not overlap");
            }
        }

        // Remote ranges keep the pods' addresses: a remote NetworkPolicy ipBlock sees who really sent.
        options.Routes.NonMasqueradeCidrs.AddRange(mesh.RemoteCidrs);
        if (mesh.Enabled)
        {
            options.Routes.RemoteCidrs = mesh.RemoteCidrs.ToList();
            options.Routes.GatewayLabel = mesh.GatewayLabel;
            options.Routes.GatewayProbePort = mesh.ProbePort;
        }

        string? Text(string key) => configuration[key] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        IEnumerable<string> Split(string key) =>
            (configuration[key] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        int Port(string key, int fallback)
        {
            if (Text(key) is not { } text)
                return fallback;
            return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
                ? port
                : throw new AgentOptionsException($"option '{key}' is '{text}'; expected a UDP port from 1 to 65535");
        }

        TimeSpan Seconds(string key, TimeSpan fallback, bool allowZero)
        {
            if (Text(key) is not { } text)
                return fallback;
            if (!double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || (!allowZero && seconds == 0) || double.IsInfinity(seconds))
                throw new AgentOptionsException($"option '{key}' is '{text}'; expected a number of seconds{(allowZero ? "" : " above 0")}");
            return TimeSpan.FromSeconds(seconds);
        }
    }

    /// <summary>
    /// patronus-config's <c>remote-clusters</c>: a YAML list (JSON is YAML too) of <c>id</c>, <c>endpoint</c> and
    /// <c>cidr</c> (one range or several, comma-separated). Every entry is checked whole: a list with one bad entry
    /// is refused rather than half used.
    /// </summary>
    public static List<RemoteCluster> ParseRemoteClusters(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new AgentOptionsException($"option 'remote-clusters' is not valid YAML or JSON: {e.Message}");
        }
        if (stream.Documents.Count == 0)
            return [];
        if (stream.Documents[0].RootNode is not YamlSequenceNode list)
            throw new AgentOptionsException("option 'remote-clusters' must be a list of {id, endpoint, cidr}");
        var remotes = new List<RemoteCluster>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var where = $"remote-clusters[{i}]";
            if (list.Children[i] is not YamlMappingNode entry)
                throw new AgentOptionsException($"option '{where}' must be a mapping of id, endpoint and cidr");
            string Field(string name) =>
                entry.Children.TryGetValue(new YamlScalarNode(name), out var node) && node is YamlScalarNode { Value: { Length: > 0 } value }
                    ? value.Trim()
                    : throw new AgentOptionsException($"option '{where}.{name}' is missing");
            var id = Field("id");
            if (!MemberIds.Valid(id))
                throw new AgentOptionsException($"option '{where}.id' is '{id}'; expected 1 to 63 lower-case letters, digits or '-'");
            var endpointText = Field("endpoint");
            if (!IPEndPoint.TryParse(endpointText, out var endpoint) || endpoint.Port == 0)
                throw new AgentOptionsException($"option '{where}.endpoint' is '{endpointText}'; expected ADDRESS:PORT such as 203.0.113.10:51820");
            var cidrs = new List<IPNetwork>();
            foreach (var cidr in Field("cidr").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!NetworkRanges.TryParseNetwork(cidr, out var network))
                    throw new AgentOptionsException($"option '{where}.cidr': '{cidr}' is not a network in CIDR notation (host bits zero)");
                cidrs.Add(network);
            }
            if (remotes.Any(r => r.Id == id))
                throw new AgentOptionsException($"option '{where}.id': '{id}' is listed twice");
            foreach (var other in remotes)
            {
                foreach (var mine in cidrs)
                {
                    foreach (var theirs in other.Cidrs.Where(t => NetworkRanges.Overlaps(mine, t)))
                        throw new AgentOptionsException($"option '{where}.cidr': {mine} of '{id}' overlaps {theirs} of '{other.Id}': ranges in the mesh are never translated, so they must not overlap");
                }
            }
            remotes.Add(new RemoteCluster(id, endpoint, cidrs));
        }
        return remotes;
    }

    private static bool IsMulticast(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? (address.GetAddressBytes()[0] & 0xF0) == 0xE0 : address.IsIPv6Multicast;

    private static bool IsPathName(string name) =>
        name.Length is > 0 and <= 63 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && name[0] != '-' && name[^1] != '-';
}
