using System.Text.Json;
using System.Text.Json.Nodes;
using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>
/// A "node": a namespace holding the bridge, where the plugin runs as a runtime would run it, plus a private
/// IPAM data folder. Pods are further namespaces.
/// </summary>
public sealed class Node : IDisposable
{
    private readonly List<TestNetns> pods = [];

    public Node(string subnet4 = "10.231.0.0/24", string? subnet6 = "fd00:231::/64", string cniVersion = "1.1.0", string? extra = null)
    {
        Ns = new TestNetns("node");
        DataDir = Path.Combine(Path.GetTempPath(), "pcni-ipam-" + Guid.NewGuid().ToString("N")[..8]);
        Bridge = "pcnibr" + Guid.NewGuid().ToString("N")[..4];
        var ranges = subnet6 is null
            ? $"[[{{\"subnet\":\"{subnet4}\"}}]]"
            : $"[[{{\"subnet\":\"{subnet4}\"}}],[{{\"subnet\":\"{subnet6}\"}}]]";
        Conf = $$"""
            {"cniVersion":"{{cniVersion}}","name":"pcni-net","type":"patronus-cni","bridge":"{{Bridge}}","isGateway":true,"isDefaultGateway":true,
             "ipam":{"type":"patronus-ipam","dataDir":"{{DataDir}}","ranges":{{ranges}}}{{(extra is null ? "" : "," + extra)}}}
            """;
    }

    public TestNetns Ns { get; }

    public string DataDir { get; }

    public string Bridge { get; }

    public string Conf { get; set; }

    public TestNetns NewPod()
    {
        var pod = new TestNetns("pod");
        pods.Add(pod);
        return pod;
    }

    public Plugin.Outcome Invoke(string command, string containerId, string? netns, string ifName = "eth0", string? conf = null, string? args = null,
        string cniPath = "/usr/lib/cni", TimeSpan? timeout = null, PidsCage? cage = null)
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_IFNAME"] = ifName,
            ["CNI_PATH"] = cniPath,
        };
        if (netns is not null)
        {
            env["CNI_NETNS"] = netns;
        }

        if (args is not null)
        {
            env["CNI_ARGS"] = args;
        }

        return Plugin.Run(env, conf ?? Conf, Ns.Name, timeout: timeout, cage: cage);
    }

    public JsonElement Add(string containerId, TestNetns pod, string ifName = "eth0")
    {
        var outcome = Invoke("ADD", containerId, pod.Path, ifName);
        Assert.True(outcome.ExitCode == 0, $"ADD {containerId} failed: {outcome}");
        return outcome.Json;
    }

    public void Del(string containerId, string? netns, string ifName = "eth0")
    {
        var outcome = Invoke("DEL", containerId, netns, ifName);
        Assert.True(outcome.ExitCode == 0, $"DEL {containerId} failed: {outcome}");
        Assert.Equal("", outcome.Stdout);
    }

    /// <summary>The config with <paramref name="result"/> as prevResult, as a runtime sends CHECK.</summary>
    public string WithPrevResult(JsonElement result)
    {
        var conf = JsonNode.Parse(Conf)!.AsObject();
        conf["prevResult"] = JsonNode.Parse(result.GetRawText());
        return conf.ToJsonString();
    }

    public string WithMember(string name, string json)
    {
        var conf = JsonNode.Parse(Conf)!.AsObject();
        conf[name] = JsonNode.Parse(json);
        return conf.ToJsonString();
    }

    public string HostLinks() => Ns.Links();

    /// <summary>
    /// The node's links, IPv4 addresses and routes of both families: what "nothing changed in the node" compares.
    /// Without what the kernel changes by itself meanwhile: link states, IPv6 duplicate address detection, carrier.
    /// </summary>
    public string State() =>
        string.Join(",", LinkNames()) + "\n" + Shell.Ip("-n", Ns.Name, "-4", "-o", "addr", "show")
        + (Shell.Ip("-n", Ns.Name, "route", "show") + Shell.Ip("-n", Ns.Name, "-6", "route", "show")).Replace(" linkdown", "");

    /// <summary>Names of every link in the node's namespace.</summary>
    public IReadOnlyList<string> LinkNames() => LinkNamesOf(Ns);

    public static IReadOnlyList<string> LinkNamesOf(TestNetns ns) =>
        ns.Links().Split('\n').Select(l => l.Split(':', 3)).Where(p => p.Length > 1)
            .Select(p => p[1].Trim().Split('@')[0]).ToList();

    /// <summary>Host veths the plugin made (pat + 12 hex digits).</summary>
    public IReadOnlyList<string> OurVeths() => LinkNames().Where(n => n.StartsWith("pat", StringComparison.Ordinal)).ToList();

    /// <summary>Ifbs the plugin made for egress shaping (pib + 12 hex digits).</summary>
    public IReadOnlyList<string> OurIfbs() => LinkNames().Where(n => n.StartsWith("pib", StringComparison.Ordinal)).ToList();

    /// <summary>Addresses the IPAM store holds as claimed (one file per address).</summary>
    public IReadOnlyList<string> ClaimedAddresses()
    {
        var dir = Path.Combine(DataDir, "pcni-net", "addresses");
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).ToList() : [];
    }

    public void Dispose()
    {
        foreach (var pod in pods)
        {
            pod.Dispose();
        }

        Ns.Dispose();
        if (Directory.Exists(DataDir))
        {
            Directory.Delete(DataDir, recursive: true);
        }
    }
}
