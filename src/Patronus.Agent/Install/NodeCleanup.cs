using System.Net.Sockets;
using System.Text.Json;
using Patronus.Agent.Datapath.Ebpf;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Routes;
using Patronus.Netlink;

namespace Patronus.Agent.Install;

/// <summary>What the cleanup removes: the files and kernel objects a Patronus agent and its plugin leave on a node.</summary>
public sealed record CleanupTargets
{
    public required string CniConfPath { get; init; }
    public required string CniBinDir { get; init; }
    public required string Socket { get; init; }
    public required string StateDirectory { get; init; }
    public required string Bpffs { get; init; }
    public required string Bridge { get; init; }
    public string WireGuardInterface { get; init; } = "wg-sdwan";
}

/// <summary>
/// Uninstall (<c>patronus-agent --uninstall</c>), run on a node once the DaemonSet is gone, as Cilium's cni.uninstall
/// does: the conflist first (kubelet starts no new pod on a network that is going away), then the plugin, Patronus'
/// nftables tables, the eBPF programs and pins, the routes the agent made (protocols 77 and 78), the VXLAN and
/// WireGuard devices, the pods' bridge when no pod is left on it, and the agent's socket and state. Every step runs even
/// when an earlier one failed, and what cannot be removed is reported. Pods still running keep their addresses, their
/// veths and the bridge, so traffic between pods on the same node goes on (no longer filtered by NetworkPolicy); traffic
/// to other nodes' pods (their routes and the overlay are gone) and pod traffic leaving the cluster (no masquerade)
/// stops until they are rescheduled onto another network.
/// </summary>
internal static class NodeCleanup
{
    public static IReadOnlyList<string> Run(CleanupTargets targets, TextWriter log)
    {
        var failures = new List<string>();
        void Step(string what, Action action)
        {
            try
            {
                action();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NetlinkException or NftablesException or InvalidOperationException or DllNotFoundException)
            {
                failures.Add($"{what}: {e.Message}");
                log.WriteLine($"could not remove {what}: {e.Message}");
            }
        }

        Step("the conflist", () => RemoveFile(targets.CniConfPath, log));
        Step("the plugin", () => RemoveFile(Path.Combine(targets.CniBinDir, CniInstaller.PluginName), log));
        Step("the nftables tables", () => RemoveTables(log));
        using var netlink = RtNetlink.Open();
        Step("the eBPF programs", () => DetachPrograms(netlink, targets.Bridge, log));
        Step("the eBPF pins", () => RemoveDirectory(Path.Combine(targets.Bpffs, "patronus"), log));
        Step("the routes", () => RemoveRoutes(netlink, log));
        Step("the VXLAN device", () => RemoveLink(netlink, RouteProgrammer.VxlanDevice, log));
        Step("the WireGuard device", () => RemoveLink(netlink, targets.WireGuardInterface, log));
        Step("the bridge", () => RemoveBridgeIfUnused(netlink, targets.Bridge, log));
        Step("the agent's socket", () =>
        {
            RemoveFile(targets.Socket, log);
            RemoveFile(targets.Socket + ".lock", log);
        });
        Step("the agent's state", () => RemoveDirectoryContents(targets.StateDirectory, log));
        return failures;
    }

    private static void RemoveFile(string path, TextWriter log)
    {
        // File.Exists is true for anything that is not a directory, the agent's socket too.
        if (!File.Exists(path))
            return;
        File.Delete(path);
        log.WriteLine($"removed {path}");
    }

    private static void RemoveDirectory(string path, TextWriter log)
    {
        if (!Directory.Exists(path))
            return;
        Directory.Delete(path, recursive: true);
        log.WriteLine($"removed {path}");
    }

    /// <summary>Empties the state directory but keeps the directory itself: it is the DaemonSet's hostPath mount point.</summary>
    private static void RemoveDirectoryContents(string path, TextWriter log)
    {
        if (!Directory.Exists(path))
            return;
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo directory)
                directory.Delete(recursive: true);
            else
                entry.Delete();
        }
        log.WriteLine($"emptied {path}");
    }

    private static void RemoveTables(TextWriter log)
    {
        using var session = new NftablesSession();
        using var listing = JsonDocument.Parse(session.RunJson("list tables"));
        var ours = listing.RootElement.GetProperty("nftables").EnumerateArray()
            .Where(item => item.TryGetProperty("table", out _))
            .Select(item => item.GetProperty("table"))
            .Select(table => (Family: table.GetProperty("family").GetString(), Name: table.GetProperty("name").GetString()))
            .Where(table => (table.Family == "inet" && table.Name == RulesetRenderer.Table) || $"{table.Family} {table.Name}" == MasqueradeRenderer.Table)
            .ToList();
        if (ours.Count == 0)
            return;
        // One transaction: both tables go, or neither.
        session.Run(string.Join('\n', ours.Select(t => $"delete table {t.Family} {t.Name}")));
        foreach (var table in ours)
            log.WriteLine($"removed nftables table {table.Family} {table.Name}");
    }

    /// <summary>
    /// The eBPF datapath puts a clsact qdisc with its programs (handle and priority <see cref="LxcObject.FilterHandle"/>)
    /// on every port of the bridge; removing that qdisc takes the programs with it.
    /// </summary>
    private static void DetachPrograms(RtNetlink netlink, string bridgeName, TextWriter log)
    {
        var links = netlink.LinkList();
        if (links.FirstOrDefault(l => l.Name == bridgeName) is not { } bridge)
            return;
        var withClsact = netlink.QdiscList().Where(q => q.Kind == "clsact").Select(q => q.LinkIndex).ToHashSet();
        foreach (var port in links.Where(l => l.MasterIndex == bridge.Index && withClsact.Contains(l.Index)))
        {
            var ours = netlink.FilterList(port.Index, TcHandle.Ingress)
                .Any(f => f.Kind == "bpf" && f.Priority == LxcObject.FilterPriority);
            if (!ours)
                continue;
            netlink.QdiscDel(port.Index, TcHandle.Ingress);
            log.WriteLine($"removed the eBPF programs on {port.Name}");
        }
    }

    private static void RemoveRoutes(RtNetlink netlink, TextWriter log)
    {
        foreach (var protocol in (RouteProtocol[])[RouteProtocol.Patronus, RouteProtocol.PatronusMesh])
            foreach (var family in (AddressFamily[])[AddressFamily.InterNetwork, AddressFamily.InterNetworkV6])
                foreach (var route in netlink.RouteList(family, protocol: protocol))
                {
                    netlink.RouteDel(route);
                    log.WriteLine($"removed route {route.Destination} (protocol {(byte)protocol})");
                }
    }

    private static void RemoveLink(RtNetlink netlink, string name, TextWriter log)
    {
        if (netlink.LinkByName(name) is not { } link)
            return;
        netlink.LinkDel(link.Index);
        log.WriteLine($"removed device {name}");
    }

    private static void RemoveBridgeIfUnused(RtNetlink netlink, string name, TextWriter log)
    {
        var links = netlink.LinkList();
        if (links.FirstOrDefault(l => l.Name == name) is not { } bridge)
            return;
        var pods = links.Count(l => l.MasterIndex == bridge.Index);
        if (pods > 0)
        {
            log.WriteLine($"kept {name}: {pods} pod(s) still attached (same-node traffic goes on until they are deleted)");
            return;
        }
        netlink.LinkDel(bridge.Index);
        log.WriteLine($"removed device {name}");
    }
}
