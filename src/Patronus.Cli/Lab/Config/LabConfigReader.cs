using System.Net;
using System.Net.Sockets;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Patronus.Cli.Lab.Config;

/// <summary>
/// Reads LAB.yaml. Every mistake is reported with the file, the line and the field's path
/// (<c>LAB.yaml:7: clusters[0].nodes[1].podCIDRs[0]: "10.244.9.0/33" is not a CIDR</c>), all at once,
/// so a user fixes the file in one go. Unknown keys are errors: a misspelt key must not be silently ignored.
/// </summary>
public static class LabConfigReader
{
    public const string ApiVersion = "patronus.io/v1alpha1";
    public const string Kind = "Lab";

    private static readonly string[] RootKeys = ["apiVersion", "kind", "name", "datapath", "clusters", "wan"];
    private static readonly string[] ClusterKeys = ["id", "podCIDR", "podCIDRv6", "serviceCIDR", "nodes", "manifests", "clusterSetPreferLocal"];
    private static readonly string[] NodeKeys = ["name", "subnet", "podCIDRs", "gateway", "datapath"];

    /// <exception cref="LabConfigException">The file is missing, unreadable or invalid; the message lists every problem.</exception>
    public static LabConfig ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabConfigException($"{path}: cannot read: {e.Message}");
        }
        return Read(text, path, Path.GetDirectoryName(Path.GetFullPath(path))!, checkFiles: true);
    }

    /// <param name="directory">The folder manifests paths are relative to.</param>
    /// <param name="checkFiles">Whether manifests must exist (off for pure tests of the format).</param>
    public static LabConfig Read(string text, string source, string directory, bool checkFiles)
    {
        var errors = new Errors(source);
        YamlStream yaml = new();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new LabConfigException($"{source}:{e.Start.Line}: not valid YAML: {e.InnerException?.Message ?? e.Message}");
        }
        if (yaml.Documents.Count != 1 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new LabConfigException($"{source}: expected one YAML document, a mapping with a 'clusters' list");

        CheckKeys(root, "", RootKeys, errors);
        if (Scalar(root, "apiVersion", "apiVersion", errors) is { } apiVersion && apiVersion != ApiVersion)
            errors.Add(root, "apiVersion", $"\"{apiVersion}\" is not supported (expected {ApiVersion})");
        if (Scalar(root, "kind", "kind", errors) is { } kind && kind != Kind)
            errors.Add(root, "kind", $"\"{kind}\" is not supported (expected {Kind})");
        var name = Scalar(root, "name", "name", errors);
        if (name is not null && LabNames.CheckLabName(name) is { } nameError)
            errors.Add(root, "name", nameError);
        var datapath = Datapath(root, "datapath", errors);

        var clusters = new List<ClusterConfig>();
        var clusterNodes = Sequence(root, "clusters", "clusters", errors, required: true);
        if (clusterNodes is { Children.Count: 0 })
            errors.Add(clusterNodes, "clusters", "needs at least one cluster");
        for (var i = 0; i < (clusterNodes?.Children.Count ?? 0); i++)
        {
            var path = $"clusters[{i}]";
            if (clusterNodes!.Children[i] is not YamlMappingNode cluster)
            {
                errors.Add(clusterNodes.Children[i], path, "expected a mapping (id, podCIDR, serviceCIDR, nodes, manifests)");
                continue;
            }
            if (ReadCluster(cluster, path, directory, checkFiles, errors) is { } read)
                clusters.Add(read);
        }
        foreach (var duplicate in clusters.GroupBy(c => c.Id).Where(g => g.Count() > 1))
            errors.Add(root, "clusters", $"cluster id \"{duplicate.Key}\" is used {duplicate.Count()} times; ids must be unique");

        var wan = new List<WanLinkConfig>();
        var wanList = Sequence(root, "wan", "wan", errors, required: false);
        for (var i = 0; i < (wanList?.Children.Count ?? 0); i++)
        {
            var path = $"wan[{i}]";
            if (wanList!.Children[i] is not YamlMappingNode link)
            {
                errors.Add(wanList.Children[i], path, "expected a mapping such as {id: fiber, between: [cluster-a, cluster-b], delay: 5ms}");
                continue;
            }
            if (ReadWanLink(link, path, clusters, errors) is { } read)
                wan.Add(read);
        }
        foreach (var duplicate in wan.GroupBy(l => l.Id).Where(g => g.Count() > 1))
            errors.Add(wanList!, "wan", $"link id \"{duplicate.Key}\" is used {duplicate.Count()} times; ids must be unique");
        // In a lab with WAN links clusters meet only over their links, so each has a fabric of its own; labs without
        // links keep the older rule (subnet names are lab-wide and may be shared).
        if (wanList is not null)
            foreach (var shared in clusters.SelectMany(c => c.Nodes.Select(n => (n.Subnet, c.Id))).Distinct().GroupBy(s => s.Subnet).Where(g => g.Count() > 1))
                errors.Add(wanList, "wan", $"subnet \"{shared.Key}\" has nodes of clusters {string.Join(" and ", shared.Select(s => s.Id))}; in a lab with wan links each cluster has a fabric of its own: give them different subnets");

        errors.ThrowIfAny();
        return new LabConfig(name, clusters, source, directory, datapath, wan);
    }

    private static ClusterConfig? ReadCluster(YamlMappingNode cluster, string path, string directory, bool checkFiles, Errors errors)
    {
        var before = errors.Count;
        CheckKeys(cluster, path + ".", ClusterKeys, errors);
        var id = Scalar(cluster, "id", $"{path}.id", errors, required: true);
        if (id is not null && LabNames.CheckClusterId(id) is { } idError)
            errors.Add(cluster, $"{path}.id", idError);
        var podCIDR = Cidr(cluster, "podCIDR", $"{path}.podCIDR", AddressFamily.InterNetwork, ClusterConfig.DefaultPodCIDR, errors);
        if (podCIDR is { PrefixLength: > 24 } narrow)
            errors.Add(cluster, $"{path}.podCIDR", $"{narrow} is too narrow: each node gets a /24 of it, so the prefix must be /24 or shorter");
        var podCIDRv6 = Cidr(cluster, "podCIDRv6", $"{path}.podCIDRv6", AddressFamily.InterNetworkV6, null, errors);
        if (podCIDRv6 is { PrefixLength: > 64 } narrowV6)
            errors.Add(cluster, $"{path}.podCIDRv6", $"{narrowV6} is too narrow: each node gets a /64 of it, so the prefix must be /64 or shorter");
        var serviceCIDR = Cidr(cluster, "serviceCIDR", $"{path}.serviceCIDR", null, ClusterConfig.DefaultServiceCIDR, errors);

        var nodes = new List<NodeConfig>();
        var nodeList = Sequence(cluster, "nodes", $"{path}.nodes", errors, required: true);
        if (nodeList is { Children.Count: 0 })
            errors.Add(nodeList, $"{path}.nodes", "needs at least one node");
        for (var i = 0; i < (nodeList?.Children.Count ?? 0); i++)
        {
            var nodePath = $"{path}.nodes[{i}]";
            if (nodeList!.Children[i] is not YamlMappingNode node)
            {
                errors.Add(nodeList.Children[i], nodePath, "expected a mapping such as {name: node-1, subnet: s1}");
                continue;
            }
            if (ReadNode(node, nodePath, id, errors) is { } read)
                nodes.Add(read);
        }
        foreach (var duplicate in nodes.GroupBy(n => n.Name).Where(g => g.Count() > 1))
            errors.Add(nodeList!, $"{path}.nodes", $"node name \"{duplicate.Key}\" is used {duplicate.Count()} times; names must be unique in a cluster");

        var manifests = new List<string>();
        var manifestList = Sequence(cluster, "manifests", $"{path}.manifests", errors, required: false);
        for (var i = 0; i < (manifestList?.Children.Count ?? 0); i++)
        {
            var item = manifestList!.Children[i];
            if (item is not YamlScalarNode { Value: { Length: > 0 } file })
            {
                errors.Add(item, $"{path}.manifests[{i}]", "expected a file or folder path");
                continue;
            }
            var full = Path.GetFullPath(file, directory);
            if (checkFiles && !File.Exists(full) && !Directory.Exists(full))
                errors.Add(item, $"{path}.manifests[{i}]", $"{file} does not exist (paths are relative to the folder of the lab file, {directory})");
            manifests.Add(full);
        }

        var preferLocal = false;
        if (Scalar(cluster, "clusterSetPreferLocal", $"{path}.clusterSetPreferLocal", errors) is { } preferText && !bool.TryParse(preferText, out preferLocal))
            errors.Add(cluster, $"{path}.clusterSetPreferLocal", $"\"{preferText}\" is not true or false");

        if (errors.Count > before || id is null || podCIDR is null || serviceCIDR is null)
            return null;
        return new ClusterConfig(id, podCIDR.Value, podCIDRv6, serviceCIDR.Value, nodes, manifests, preferLocal);
    }

    private static NodeConfig? ReadNode(YamlMappingNode node, string path, string? clusterId, Errors errors)
    {
        var before = errors.Count;
        CheckKeys(node, path + ".", NodeKeys, errors);
        var name = Scalar(node, "name", $"{path}.name", errors, required: true);
        if (name is not null && LabNames.CheckNodeName(name) is { } nameError)
            errors.Add(node, $"{path}.name", nameError);
        var subnet = Scalar(node, "subnet", $"{path}.subnet", errors) ?? clusterId ?? "";
        if (LabNames.CheckSubnetName(subnet) is { } subnetError)
            errors.Add(node, $"{path}.subnet", subnetError);
        var gateway = false;
        if (Scalar(node, "gateway", $"{path}.gateway", errors) is { } gatewayText && !bool.TryParse(gatewayText, out gateway))
            errors.Add(node, $"{path}.gateway", $"\"{gatewayText}\" is not true or false");
        var datapath = Datapath(node, $"{path}.datapath", errors);

        var podCIDRs = new List<IPNetwork>();
        var list = Sequence(node, "podCIDRs", $"{path}.podCIDRs", errors, required: false);
        for (var i = 0; i < (list?.Children.Count ?? 0); i++)
        {
            var item = list!.Children[i];
            if (item is not YamlScalarNode { Value: { } text } || !TryParseCidr(text, out var network))
            {
                errors.Add(item, $"{path}.podCIDRs[{i}]", $"{Describe(item)} is not a network in CIDR form (such as 10.244.9.0/24, no host bits set)");
                continue;
            }
            if (podCIDRs.Any(c => c.BaseAddress.AddressFamily == network.BaseAddress.AddressFamily))
            {
                errors.Add(item, $"{path}.podCIDRs[{i}]", "a node has at most one pod range per address family (IPv4, IPv6)");
                continue;
            }
            podCIDRs.Add(network);
        }
        if (list is not null && podCIDRs.Count > 0 && podCIDRs.All(c => c.BaseAddress.AddressFamily != AddressFamily.InterNetwork))
            errors.Add(list, $"{path}.podCIDRs", "needs an IPv4 range (the IPv6 one is optional)");

        return errors.Count > before || name is null ? null : new NodeConfig(name, subnet, podCIDRs, gateway, datapath);
    }

    private static WanLinkConfig? ReadWanLink(YamlMappingNode link, string path, List<ClusterConfig> clusters, Errors errors)
    {
        var before = errors.Count;
        CheckKeys(link, path + ".", WanLinkConfig.Keys, errors);
        var id = Scalar(link, "id", $"{path}.id", errors, required: true);
        if (id is not null && LabNames.CheckLinkId(id) is { } idError)
            errors.Add(link, $"{path}.id", idError);

        var between = new List<string>();
        var ends = Sequence(link, "between", $"{path}.between", errors, required: true);
        if (ends is not null && ends.Children.Count != 2)
            errors.Add(ends, $"{path}.between", $"needs exactly two cluster ids, not {ends.Children.Count}");
        for (var i = 0; i < (ends?.Children.Count ?? 0); i++)
        {
            var item = ends!.Children[i];
            if (item is not YamlScalarNode { Value: { Length: > 0 } clusterId })
            {
                errors.Add(item, $"{path}.between[{i}]", "expected a cluster id");
                continue;
            }
            if (clusters.FirstOrDefault(c => c.Id == clusterId) is not { } cluster)
                errors.Add(item, $"{path}.between[{i}]", $"\"{clusterId}\" is not a cluster of this lab (clusters: {string.Join(", ", clusters.Select(c => c.Id))})");
            else if (!cluster.Nodes.Any(n => n.Gateway))
                errors.Add(item, $"{path}.between[{i}]", $"cluster {clusterId} has no gateway node; mark one with `gateway: true`");
            between.Add(clusterId);
        }
        if (between.Count == 2 && between[0] == between[1])
            errors.Add(ends!, $"{path}.between", $"joins cluster {between[0]} to itself; a link joins two different clusters");

        double delay = 0, jitter = 0, loss = 0;
        double? rate = null;
        if (Scalar(link, "delay", $"{path}.delay", errors) is { } delayText && !WanUnits.TryParseDuration(delayText, out delay))
            errors.Add(link, $"{path}.delay", $"\"{delayText}\" is not a duration (such as 5ms, 1.5s or 250us; at most 60s)");
        if (Scalar(link, "jitter", $"{path}.jitter", errors) is { } jitterText && !WanUnits.TryParseDuration(jitterText, out jitter))
            errors.Add(link, $"{path}.jitter", $"\"{jitterText}\" is not a duration (such as 2ms; at most 60s)");
        if (Scalar(link, "loss", $"{path}.loss", errors) is { } lossText && !WanUnits.TryParsePercent(lossText, out loss))
            errors.Add(link, $"{path}.loss", $"\"{lossText}\" is not a percentage from 0% to 100% (such as 0.5%)");
        if (Scalar(link, "rate", $"{path}.rate", errors) is { } rateText)
        {
            if (WanUnits.TryParseRate(rateText, out var mbit))
                rate = mbit;
            else
                errors.Add(link, $"{path}.rate", $"\"{rateText}\" is not a rate (such as 1000mbit, 1gbit or 500kbit; at least 8kbit)");
        }
        return errors.Count > before || id is null ? null : new WanLinkConfig(id, between, delay, jitter, loss, rate);
    }

    private static string? Datapath(YamlMappingNode mapping, string path, Errors errors)
    {
        var text = Scalar(mapping, "datapath", path, errors);
        if (text is not null && !LabConfig.Datapaths.Contains(text, StringComparer.Ordinal))
        {
            errors.Add(mapping.Children[new YamlScalarNode("datapath")], path, $"\"{text}\" is not a datapath (expected {string.Join(" or ", LabConfig.Datapaths)})");
            return null;
        }
        return text;
    }

    private static void CheckKeys(YamlMappingNode mapping, string prefix, string[] known, Errors errors)
    {
        foreach (var key in mapping.Children.Keys)
        {
            var text = (key as YamlScalarNode)?.Value ?? "";
            if (!known.Contains(text, StringComparer.Ordinal))
                errors.Add(key, prefix + text, $"unknown key (known here: {string.Join(", ", known)})");
        }
    }

    private static string? Scalar(YamlMappingNode mapping, string key, string path, Errors errors, bool required = false)
    {
        if (!mapping.Children.TryGetValue(new YamlScalarNode(key), out var value))
        {
            if (required)
                errors.Add(mapping, path, "is required");
            return null;
        }
        if (value is not YamlScalarNode scalar || string.IsNullOrWhiteSpace(scalar.Value))
        {
            errors.Add(value, path, "expected a non-empty value");
            return null;
        }
        return scalar.Value.Trim();
    }

    private static YamlSequenceNode? Sequence(YamlMappingNode mapping, string key, string path, Errors errors, bool required)
    {
        if (!mapping.Children.TryGetValue(new YamlScalarNode(key), out var value))
        {
            if (required)
                errors.Add(mapping, path, "is required");
            return null;
        }
        if (value is not YamlSequenceNode sequence)
        {
            errors.Add(value, path, "expected a list");
            return null;
        }
        return sequence;
    }

    private static IPNetwork? Cidr(YamlMappingNode mapping, string key, string path, AddressFamily? family, string? fallback, Errors errors)
    {
        var text = Scalar(mapping, key, path, errors) ?? fallback;
        if (text is null)
            return null;
        if (!TryParseCidr(text, out var network))
        {
            errors.Add(mapping.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : mapping, path,
                $"\"{text}\" is not a network in CIDR form (address/prefix with no host bits set, such as {fallback ?? "fd00:10:244::/56"})");
            return null;
        }
        if (family is { } expected && network.BaseAddress.AddressFamily != expected)
        {
            errors.Add(mapping.Children[new YamlScalarNode(key)], path, $"{network} is not an {(expected == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} range");
            return null;
        }
        return network;
    }

    /// <summary>A network with no host bits set: "10.244.1.0/16" is refused rather than silently widened.</summary>
    public static bool TryParseCidr(string text, out IPNetwork network)
    {
        network = default;
        var slash = text.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var address) || !int.TryParse(text.AsSpan(slash + 1), out var prefix))
            return false;
        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefix < 0 || prefix > bits || !IPNetwork.TryParse(text, out network))
            return false;
        return network.BaseAddress.Equals(address);
    }

    private static string Describe(YamlNode node) => node is YamlScalarNode { Value: { } value } ? $"\"{value}\"" : "this value";

    /// <summary>Problems found so far, each with its line; thrown together at the end.</summary>
    private sealed class Errors(string source)
    {
        private readonly List<string> _messages = [];

        public int Count => _messages.Count;

        public void Add(YamlNode node, string path, string message) =>
            _messages.Add($"{source}:{node.Start.Line}: {path}: {message}");

        public void ThrowIfAny()
        {
            if (_messages.Count > 0)
                throw new LabConfigException(string.Join('\n', _messages));
        }
    }
}

/// <summary>LAB.yaml cannot be used; the message names the file, line and field of every problem.</summary>
public sealed class LabConfigException(string message) : Exception(message);
