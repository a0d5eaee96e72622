using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Patronus.Cli.Install;

/// <summary>A cluster's own values for the manifests in deploy/.</summary>
internal sealed record InstallValues
{
    public string ClusterId { get; init; } = "cluster-1";
    public IReadOnlyList<string> ClusterCidrs { get; init; } = ["10.244.0.0/16"];
    public IReadOnlyList<string> ServiceCidrs { get; init; } = ["10.96.0.0/12"];
    /// <summary>The patronus-config ConfigMap's remote-clusters: a JSON array.</summary>
    public string RemoteClusters { get; init; } = "[]";
    /// <summary>The patronus-config ConfigMap's cluster-set-key (base64 Ed25519 public key); null leaves it out (no mesh).</summary>
    public string? ClusterSetKey { get; init; }
    public string Image { get; init; } = DefaultImage;

    /// <summary>What scripts/build-image.sh builds and deploy/ names.</summary>
    public const string DefaultImage = "localhost/patronus:dev";
}

/// <summary>An install value that cannot be used, naming its option.</summary>
internal sealed class InstallValueException(string message) : Exception(message);

/// <summary>
/// The manifests of deploy/ (built into the CLI) with a cluster's own values filled in: the patronus-config ConfigMap's
/// cluster-id, cluster-cidr, service-cidr, remote-clusters and cluster-set-key, the conflist template's cluster id, and every
/// container's image. Everything else is printed as deploy/ has it.
/// </summary>
internal static partial class InstallManifests
{
    private const string ResourcePrefix = "deploy/";

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    /// <summary>The deploy/ files, by name, in the order kubectl would apply a folder (by file name).</summary>
    public static IReadOnlyList<(string Name, string Yaml)> Embedded()
    {
        var assembly = Assembly.GetExecutingAssembly();
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return (n[ResourcePrefix.Length..], reader.ReadToEnd());
            })
            .ToList();
    }

    /// <summary>Checks every value; the first problem is thrown, naming its option, before anything is rendered.</summary>
    public static void Validate(InstallValues values)
    {
        if (!DnsLabel().IsMatch(values.ClusterId))
            throw new InstallValueException($"--cluster-id: '{values.ClusterId}' is not a DNS label (lower-case letters, digits and '-', at most 63)");
        CheckCidrs("--cluster-cidr", values.ClusterCidrs);
        CheckCidrs("--service-cidr", values.ServiceCidrs);
        JsonNode? remote;
        try
        {
            remote = JsonNode.Parse(values.RemoteClusters);
        }
        catch (JsonException e)
        {
            throw new InstallValueException($"--remote-clusters: not JSON: {e.Message}");
        }
        if (remote is not JsonArray remotes)
            throw new InstallValueException("--remote-clusters: must be a JSON array (of the remote clusters)");
        CheckRemoteClusters(remotes);
        if (values.ClusterSetKey is { } key && !IsEd25519PublicKey(key))
            throw new InstallValueException($"--cluster-set-key: '{key}' is not a base64 Ed25519 public key (32 bytes), as patronus mesh new-set prints it");
        if (string.IsNullOrWhiteSpace(values.Image) || values.Image.Any(char.IsWhiteSpace))
            throw new InstallValueException($"--image: '{values.Image}' is not an image reference");
    }

    /// <summary>The shape the agent reads (id, endpoint, cidr): a bad entry would stop every agent at start, so it is refused here.</summary>
    private static void CheckRemoteClusters(JsonArray remotes)
    {
        for (var i = 0; i < remotes.Count; i++)
        {
            var where = $"--remote-clusters: entry {i}";
            if (remotes[i] is not JsonObject entry)
                throw new InstallValueException($"{where} is not an object of id, endpoint and cidr");
            string Field(string name) =>
                entry[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0
                    ? text
                    : throw new InstallValueException($"{where} has no '{name}' (a string)");
            if (!DnsLabel().IsMatch(Field("id")))
                throw new InstallValueException($"{where}: id '{Field("id")}' is not a DNS label");
            if (!IPEndPoint.TryParse(Field("endpoint"), out var endpoint) || endpoint.Port == 0)
                throw new InstallValueException($"{where}: endpoint '{Field("endpoint")}' is not ADDRESS:PORT such as 203.0.113.10:51820");
            foreach (var cidr in Field("cidr").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!IPNetwork.TryParse(cidr, out var network) || network.ToString() != cidr)
                    throw new InstallValueException($"{where}: cidr '{cidr}' is not a network range such as 10.248.0.0/16");
            }
        }
    }

    private static bool IsEd25519PublicKey(string text)
    {
        var bytes = new byte[33];
        return Convert.TryFromBase64String(text, bytes, out var length) && length == 32;
    }

    private static void CheckCidrs(string option, IReadOnlyList<string> cidrs)
    {
        if (cidrs.Count is 0 or > 2)
            throw new InstallValueException($"{option}: give one range, or one IPv4 and one IPv6 range");
        foreach (var cidr in cidrs)
        {
            if (!IPNetwork.TryParse(cidr, out var network) || network.ToString() != cidr)
                throw new InstallValueException($"{option}: '{cidr}' is not a network range such as 10.244.0.0/16 (address bits past the prefix must be 0)");
        }
        if (cidrs.Count == 2 && IPNetwork.Parse(cidrs[0]).BaseAddress.AddressFamily == IPNetwork.Parse(cidrs[1]).BaseAddress.AddressFamily)
            throw new InstallValueException($"{option}: two ranges must be one IPv4 and one IPv6");
    }

    /// <summary>Every object of deploy/ with the values filled in, as one YAML stream for kubectl apply -f -.</summary>
    public static string Render(InstallValues values)
    {
        Validate(values);
        var output = new StringBuilder();
        output.Append($"# patronus install --dry-run: cluster {values.ClusterId}, pods {string.Join(",", values.ClusterCidrs)}, services {string.Join(",", values.ServiceCidrs)}, image {values.Image}\n");
        foreach (var (name, yaml) in Embedded())
        {
            foreach (var item in KubernetesYaml.LoadAllFromString(yaml))
            {
                Fill(item, values);
                output.Append($"---\n# {name}\n");
                output.Append(KubernetesYaml.Serialize(item).TrimEnd('\n')).Append('\n');
            }
        }
        return output.ToString();
    }

    private static void Fill(object item, InstallValues values)
    {
        switch (item)
        {
            case V1ConfigMap { Metadata.Name: "patronus-config" } config:
                config.Data["cluster-id"] = values.ClusterId;
                config.Data["cluster-cidr"] = string.Join(",", values.ClusterCidrs);
                config.Data["service-cidr"] = string.Join(",", values.ServiceCidrs);
                config.Data["remote-clusters"] = JsonNode.Parse(values.RemoteClusters)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
                if (values.ClusterSetKey is not null)
                    config.Data["cluster-set-key"] = values.ClusterSetKey;
                break;
            case V1ConfigMap { Metadata.Name: "patronus-cni-config" } config when config.Data.TryGetValue("10-patronus.conflist", out var conflist):
                var list = JsonNode.Parse(conflist)!;
                foreach (var plugin in list["plugins"]!.AsArray())
                    if (plugin?["sdwan"] is JsonObject sdwan)
                        sdwan["cluster_id"] = values.ClusterId;
                config.Data["10-patronus.conflist"] = list.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
                break;
            case V1DaemonSet daemonSet:
                foreach (var container in daemonSet.Spec.Template.Spec.Containers.Concat(daemonSet.Spec.Template.Spec.InitContainers ?? []))
                    container.Image = values.Image;
                break;
        }
    }
}
