using System.Net;
using System.Net.Sockets;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Install;
using Patronus.Agent.Mesh.Tunnel;
using Patronus.Agent.Paths.Steering;
using Patronus.Agent.Services.Datapath;
using Patronus.Agent.Tests.Paths.Bandwidth;
using Patronus.Netlink;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Install;

/// <summary>
/// `patronus-agent --uninstall` in a throwaway namespace set up as a node the agent ran on, beside things that are not
/// Patronus': everything of Patronus goes, nothing else does, and a second run finds nothing to do. These machines have
/// no dummy links: veth pairs stand in for the uplink and the WireGuard device (removed by name, whatever their kind).
/// </summary>
public sealed class NodeCleanupTests : IDisposable
{
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _node;
    private readonly string _root = Directory.CreateTempSubdirectory("patronus-cleanup-").FullName;
    private readonly List<string> _machineFiles = [];

    public NodeCleanupTests() => _node = _namespaces.Add($"pclean-{Guid.NewGuid().ToString("N")[..8]}");

    private CleanupTargets Targets => new()
    {
        CniConfPath = Path.Combine(_root, "net.d", "10-patronus.conflist"),
        CniBinDir = Path.Combine(_root, "bin"),
        Socket = Path.Combine(_root, "run", "agent.sock"),
        StateDirectory = Path.Combine(_root, "state"),
        Bpffs = Path.Combine(_root, "bpffs"),
        Bridge = "cni-bridge0",
    };

    [Fact]
    public void Uninstall_RemovesEveryPatronusTableRouteDeviceAndFile_AndNothingElse()
    {
        NetworkNamespace.Ip(_node,
            "link set lo up",
            "link add uplink0 type veth peer name uplink0-peer", "addr add 172.31.0.10/24 dev uplink0", "link set uplink0 up",
            "link add patronus-vxlan type vxlan id 4242 dstport 8472 local 172.31.0.10 dev uplink0", "link set patronus-vxlan up",
            "link add wg-sdwan type veth peer name wg-peer", "link set wg-sdwan up",
            "link add cni-bridge0 type bridge", "link set cni-bridge0 up",
            "route add 10.244.1.0/24 via 172.31.0.11 proto 77",
            "route add 10.50.0.0/16 dev wg-sdwan proto 78",
            "route add 192.0.2.0/24 via 172.31.0.1 proto static");
        Nft("add table inet patronus; add chain inet patronus forward { type filter hook forward priority 0; }; " +
            "add table inet patronus_nat; add table inet someone_else; add table ip patronus_lookalike");
        foreach (var file in new[] { Targets.CniConfPath, Path.Combine(Targets.CniBinDir, "patronus-cni"), Path.Combine(Targets.CniBinDir, "bridge"), Targets.Socket,
                     Path.Combine(Targets.StateDirectory, "k8s-sdwan.db"), Path.Combine(Targets.StateDirectory, "ipam", "patronus-k8s", "10.244.0.2"),
                     Path.Combine(Targets.Bpffs, "patronus", "v1", "endpoints") })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, "x");
        }
        var log = new StringWriter();

        var failures = NetNs.OpenNamed(_node).Run(() => NodeCleanup.Run(Targets, log));

        Assert.Empty(failures);
        var links = NetworkNamespace.Ip(_node, "-o link show");
        Assert.DoesNotContain("patronus-vxlan", links);
        Assert.DoesNotContain("wg-sdwan", links);
        Assert.DoesNotContain("cni-bridge0", links);
        Assert.Contains("uplink0", links);
        Assert.Equal("", NetworkNamespace.Ip(_node, "route show proto 77", "route show proto 78").Trim());
        Assert.Contains("192.0.2.0/24", NetworkNamespace.Ip(_node, "route show"));
        var tables = Nft("list tables");
        Assert.DoesNotContain("table inet patronus\n", tables + "\n");
        Assert.DoesNotContain("patronus_nat", tables);
        Assert.Contains("someone_else", tables);
        Assert.Contains("patronus_lookalike", tables);
        Assert.False(File.Exists(Targets.CniConfPath));
        Assert.Equal(["bridge"], Directory.GetFiles(Targets.CniBinDir).Select(Path.GetFileName));
        Assert.False(File.Exists(Targets.Socket));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Targets.StateDirectory));
        Assert.False(Directory.Exists(Path.Combine(Targets.Bpffs, "patronus")));
        Assert.Contains("removed nftables table inet patronus_nat", log.ToString());

        // Run again (a cleanup DaemonSet's pod restarted): nothing left to do, no failure.
        var again = new StringWriter();
        Assert.Empty(NetNs.OpenNamed(_node).Run(() => NodeCleanup.Run(Targets, again)));
        Assert.DoesNotContain("removed", again.ToString());
    }

    [Fact]
    public void Uninstall_OnAGatewayWithTwoPaths_RemovesItsTablesRulesPathRoutesDevicesAndSockets_AndNothingElse()
    {
        // wireguard-go's sockets are the machine's: a name of this test's own (9 characters, so NAME-1 is not cut).
        var name = $"wgc{Guid.NewGuid().ToString("N")[..6]}";
        var secondPath = name + "-1";
        NetworkNamespace.Ip(_node,
            "link set lo up",
            "link add uplink0 type veth peer name uplink0-peer", "addr add 172.31.0.10/24 dev uplink0", "link set uplink0 up",
            // The second path's device: a veth stands in (removed by name, whatever its kind); a look-alike stays.
            $"link add {secondPath} type veth peer name path1-peer", $"link set {secondPath} up",
            $"link add {name}a type veth peer name lookalike-peer",
            // Not ours, in a path's table and beside the steering rules: they stay.
            "route add 198.51.100.0/24 dev uplink0 table 7700 proto static",
            "rule add priority 7750 fwmark 0x30000/0xff0000 lookup 7700 proto static");
        using var first = WireGuardGoDaemon.Start(_node, name);
        NetworkNamespace.Ip(_node, $"link set {name} up");
        // The second path's wireguard-go died earlier: its socket file is left, nobody listening.
        var staleSocket = Path.Combine(WireGuardGoDaemon.SocketDirectory, secondPath + ".sock");
        _machineFiles.Add(staleSocket);
        using (var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // .NET unlinks the file it bound when the socket is closed: moved away first, the file outlives it.
            bound.Bind(new UnixDomainSocketEndPoint(staleSocket + ".tmp"));
            File.Move(staleSocket + ".tmp", staleSocket);
        }
        Assert.True(File.Exists(staleSocket));
        using var ns = NetNs.OpenNamed(_node);
        var devices = TunnelDevices.Plan(name, [IPEndPoint.Parse("172.31.0.10:51820"), IPEndPoint.Parse("172.31.0.10:51830")]);
        Assert.Equal([name, secondPath], devices.Select(d => d.Interface));
        Assert.Equal(4, SteeringRules.Apply(ns, devices));
        ns.Run(() =>
        {
            using var netlink = RtNetlink.Open();
            foreach (var device in devices)
            {
                var link = netlink.LinkByName(device.Interface)!;
                foreach (var destination in new[] { "10.60.0.0/16", "fd00:60::/48" })
                    netlink.RouteReplace(new Route { Destination = IpPrefix.Parse(destination), LinkIndex = link.Index, Scope = RouteScope.Link, Protocol = RouteProtocol.PatronusMesh, Table = device.RouteTable!.Value });
            }
            using var nft = new NftablesSession();
            nft.Run(MeshClampRenderer.Render([name, secondPath]));
            nft.Run(SteeringRenderer.Render([], _ => null));
            nft.Run(ClusterSetRenderer.Render([], previous: null));
        });
        Nft("add table inet other");
        Assert.Equal(4, MeshRoutesIn(ns));
        var log = new StringWriter();

        var failures = ns.Run(() => NodeCleanup.Run(Targets with { WireGuardInterface = name }, log));

        Assert.Empty(failures);
        var links = NetworkNamespace.Ip(_node, "-o link show");
        Assert.DoesNotContain($" {name}:", links);
        Assert.DoesNotContain($" {secondPath}@", links);
        Assert.Contains($" {name}a@", links);
        Assert.True(Poll.Until(() => first.HasExited, TimeSpan.FromSeconds(10)), "wireguard-go still runs without its device");
        Assert.False(File.Exists(Path.Combine(WireGuardGoDaemon.SocketDirectory, name + ".sock")));
        Assert.False(File.Exists(staleSocket));
        Assert.Equal(0, MeshRoutesIn(ns));
        Assert.Contains("198.51.100.0/24", NetworkNamespace.Ip(_node, "route show table 7700"));
        var (ours, theirs) = ns.Run(() =>
        {
            using var netlink = RtNetlink.Open();
            var rules = new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 }.SelectMany(f => netlink.RuleList(f)).ToList();
            return (rules.Count(r => r.Protocol == RouteProtocol.PatronusMesh), rules.Count(r => r.Priority == 7750));
        });
        Assert.Equal(0, ours);
        Assert.Equal(1, theirs);
        var tables = Nft("list tables");
        Assert.DoesNotContain("patronus_mesh", tables);
        Assert.DoesNotContain("patronus_paths", tables);
        Assert.DoesNotContain("patronus-clusterset", tables);
        Assert.Contains("table inet other", tables);
        Assert.Contains($"removed device {secondPath}", log.ToString());

        var again = new StringWriter();
        Assert.Empty(ns.Run(() => NodeCleanup.Run(Targets with { WireGuardInterface = name }, again)));
        Assert.DoesNotContain("removed", again.ToString());
    }

    [Fact]
    public void Uninstall_KeepsTheBridgeWhilePodsAreOnIt_AndSaysSo()
    {
        NetworkNamespace.Ip(_node, "link add cni-bridge0 type bridge", "link add veth-pod type veth peer name eth0-pod", "link set veth-pod master cni-bridge0");
        var log = new StringWriter();

        var failures = NetNs.OpenNamed(_node).Run(() => NodeCleanup.Run(Targets, log));

        Assert.Empty(failures);
        Assert.Contains("cni-bridge0", NetworkNamespace.Ip(_node, "-o link show"));
        Assert.Contains("kept cni-bridge0: 1 pod(s) still attached", log.ToString());
    }

    /// <summary>Routes of protocol 78 in any table, both families.</summary>
    private static int MeshRoutesIn(NetNs ns) => ns.Run(() =>
    {
        using var netlink = RtNetlink.Open();
        return new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 }.Sum(f => netlink.RouteList(f, table: 0, protocol: RouteProtocol.PatronusMesh).Count);
    });

    private string Nft(string script)
    {
        var result = Command.Run("ip", ["netns", "exec", _node, "nft", script]);
        Assert.True(result.ExitCode == 0, $"nft {script}: {result.Stderr}");
        return result.Stdout;
    }

    public void Dispose()
    {
        _namespaces.Dispose();
        Directory.Delete(_root, recursive: true);
        foreach (var file in _machineFiles)
            File.Delete(file);
    }
}
