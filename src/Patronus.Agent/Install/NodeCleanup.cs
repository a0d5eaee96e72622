using System.Net.Sockets;
using System.Text.Json;
using Patronus.Agent.Datapath.Ebpf;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Agent.Paths.Steering;
using Patronus.Agent.Routes;
using Patronus.Agent.Services.Datapath;
using Patronus.Mesh.Tunnels;
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
    /// <summary>The mesh's configured device name (<c>meshInterface</c>): a gateway's path devices are it and <c>NAME-k</c> (<see cref="DeviceNames"/>).</summary>
    public string WireGuardInterface { get; init; } = "wg-sdwan";

    /// <summary>Where wireguard-go keeps its UAPI sockets (<c>NAME.sock</c>), shared by every namespace on the machine.</summary>
    public string WireGuardSocketDirectory { get; init; } = "/var/run/wireguard";
}

/// <summary>
/// Uninstall (<c>patronus-agent --uninstall</c>), run on a node once the DaemonSet is gone, as Cilium's cni.uninstall
/// does: the conflist first (kubelet starts no new pod on a network that is going away), then the plugin, Patronus'
/// nftables tables (policy, masquerade, the mesh's MSS clamp, path steering, ClusterSetIPs), the eBPF programs and pins,
/// the policy routing rules and the routes the agent made (protocols 77 and 78, in every table: the steered paths' own
/// tables 7700+k too), the VXLAN device, every WireGuard path device (<c>NAME</c>, <c>NAME-1</c>, ...; their HTB shapers
/// go with them, and a wireguard-go exits when its device is deleted) and wireguard-go's stale UAPI sockets, the pods'
/// bridge when no pod is left on it, and the agent's socket and state. Every step runs even
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
        Step("the routing rules", () => RemoveRules(netlink, log));
        Step("the routes", () => RemoveRoutes(netlink, log));
        Step("the VXLAN device", () => RemoveLink(netlink, RouteProgrammer.VxlanDevice, log));
        Step("the WireGuard devices", () => RemoveWireGuardDevices(netlink, targets, log));
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

    /// <summary>Every nftables table the agent creates, as "family name".</summary>
    internal static readonly IReadOnlySet<string> Tables = new HashSet<string>(StringComparer.Ordinal)
    {
        $"{RulesetRenderer.Family} {RulesetRenderer.Table}",
        MasqueradeRenderer.Table,
        MeshClampRenderer.Table,
        SteeringRenderer.Table,
        $"{ClusterSetRenderer.Family} {ClusterSetRenderer.Table}",
    };

    private static void RemoveTables(TextWriter log)
    {
        using var session = new NftablesSession();
        using var listing = JsonDocument.Parse(session.RunJson("list tables"));
        var ours = listing.RootElement.GetProperty("nftables").EnumerateArray()
            .Where(item => item.TryGetProperty("table", out _))
            .Select(item => item.GetProperty("table"))
            .Select(table => (Family: table.GetProperty("family").GetString(), Name: table.GetProperty("name").GetString()))
            .Where(table => Tables.Contains($"{table.Family} {table.Name}"))
            .ToList();
        if (ours.Count == 0)
            return;
        // One transaction: every table goes, or none.
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

    private static readonly RouteProtocol[] OurProtocols = [RouteProtocol.Patronus, RouteProtocol.PatronusMesh];
    private static readonly AddressFamily[] Families = [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6];

    /// <summary>The steering rules (<see cref="SteeringRules"/>: fwmark to a path's table), found by their protocol.</summary>
    private static void RemoveRules(RtNetlink netlink, TextWriter log)
    {
        foreach (var protocol in OurProtocols)
            foreach (var family in Families)
                foreach (var rule in netlink.RuleList(family, protocol))
                    if (netlink.RuleDel(rule))
                        log.WriteLine($"removed rule {rule} (protocol {(byte)protocol})");
    }

    /// <summary>Every table (0), not only main: a gateway's steered paths have their routes in tables 7700+k.</summary>
    private static void RemoveRoutes(RtNetlink netlink, TextWriter log)
    {
        foreach (var protocol in OurProtocols)
            foreach (var family in Families)
                foreach (var route in netlink.RouteList(family, table: 0, protocol: protocol))
                {
                    netlink.RouteDel(route);
                    log.WriteLine($"removed route {route.Destination} table {route.Table} (protocol {(byte)protocol})");
                }
    }

    private static void RemoveLink(RtNetlink netlink, string name, TextWriter log)
    {
        if (netlink.LinkByName(name) is not { } link)
            return;
        netlink.LinkDel(link.Index);
        log.WriteLine($"removed device {name}");
    }

    /// <summary>
    /// A gateway runs one device per WAN path, named as <see cref="TunnelDevices.Plan"/> names them (at most
    /// <see cref="TunnelDevices.MaxDevices"/>). Deleting a wireguard-go device's tun link makes wireguard-go exit; its UAPI socket
    /// is removed once nobody answers on it (a socket that still answers belongs to a device of that name in another
    /// namespace: /var/run/wireguard is the machine's).
    /// </summary>
    private static void RemoveWireGuardDevices(RtNetlink netlink, CleanupTargets targets, TextWriter log)
    {
        var names = Enumerable.Range(0, TunnelDevices.MaxDevices).Select(k => DeviceNames.Of(targets.WireGuardInterface, k)).ToHashSet(StringComparer.Ordinal);
        var removed = new List<string>();
        foreach (var link in netlink.LinkList().Where(l => names.Contains(l.Name)))
        {
            netlink.LinkDel(link.Index);
            removed.Add(link.Name);
            log.WriteLine($"removed device {link.Name}");
        }
        foreach (var name in names)
        {
            var socket = Path.Combine(targets.WireGuardSocketDirectory, name + ".sock");
            if (!File.Exists(socket))
                continue;
            // The daemon of a device just deleted needs a moment to notice and close its socket.
            if (removed.Contains(name))
                WaitUntilSilent(socket);
            if (!Answers(socket))
                RemoveFile(socket, log);
            else
                log.WriteLine($"kept {socket}: a wireguard-go still answers on it");
        }
    }

    private static void WaitUntilSilent(string socket)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (Answers(socket) && DateTime.UtcNow < deadline)
            Thread.Sleep(20);
    }

    private static bool Answers(string socketPath)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
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
