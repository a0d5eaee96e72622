using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.Processes;
using Patronus.Cli.Lab.State;
using Patronus.Cli.Lab.Wan.Interop;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Wan;

/// <summary>
/// A WAN link in the lab: a namespace of its own (<c>LAB.wan-ID</c>) holding a bridge per side, a port on each for the
/// relay and one for each gateway of that side's cluster (a veth whose other end, <c>wanN</c>, is in the gateway with
/// its address on the link); and the relay, a lab daemon like the agents, moving frames between the two sides.
/// </summary>
internal static class WanFabric
{
    public const string Role = "relay";

    public static void Build(LabJournal journal, WanLinkPlan link, LabBinaries binaries)
    {
        var plan = journal.Record.Plan;
        Directory.CreateDirectory(link.Directory);
        link.Initial.Write(link.SettingsFile);
        using var ns = journal.CreateNamespace(link.Netns);
        BuildSides(ns);
        foreach (var leg in link.Gateways)
        {
            using var nodeNs = NetNs.OpenNamed(plan.Cluster(leg.Cluster)!.Node(leg.Node)!.Netns);
            Attach(ns, leg.Side, leg.Port, nodeNs, leg.Interface, new IpPrefix(leg.Address, link.Subnet.PrefixLength));
        }

        journal.AddProcess(new ProcessRecord(Role, null, link.Id, 0, 0, link.PidFile, link.Log));
        var pid = Daemon.Start(ns, binaries.Cli, RelayArguments(link.SettingsFile, link.AppliedFile), link.Log);
        File.WriteAllText(link.PidFile, $"{pid}\n");
        journal.AddProcess(ProcessTable.Describe(Role, null, link.Id, pid, link.PidFile, link.Log));
    }

    /// <summary>
    /// The link's two L2 segments in its namespace: per side a bridge and the relay's port on it (a veth pair whose
    /// bridge end has transmit offloads off, so the relay gets real, checksummed, wire-sized frames).
    /// </summary>
    public static void BuildSides(NetNs ns)
    {
        using (var netlink = RtNetlink.OpenIn(ns))
        {
            netlink.LinkSetUp(netlink.LinkByName("lo")!.Index);
            for (var side = 0; side < 2; side++)
            {
                netlink.LinkAddBridge(LabNames.WanSideBridge(side));
                var bridge = netlink.LinkByName(LabNames.WanSideBridge(side))!;
                netlink.LinkSetUp(bridge.Index);
                netlink.LinkAddVeth(LabNames.WanBridgeRelayPort(side), LabNames.WanRelayPort(side), masterIndex: bridge.Index, up: true);
                netlink.LinkSetUp(netlink.LinkByName(LabNames.WanRelayPort(side))!.Index);
            }
        }
        ns.Run(() =>
        {
            for (var side = 0; side < 2; side++)
                TransmitChecksum.Disable(LabNames.WanBridgeRelayPort(side));
        });
    }

    /// <summary>A gateway on one side: a port on that side's bridge, its other end <paramref name="name"/> in the gateway with <paramref name="address"/>.</summary>
    public static void Attach(NetNs link, int side, string port, NetNs gateway, string name, IpPrefix address)
    {
        using (var netlink = RtNetlink.OpenIn(link))
        {
            var bridge = netlink.LinkByName(LabNames.WanSideBridge(side)) ?? throw new LabException($"no bridge {LabNames.WanSideBridge(side)} in the link's namespace");
            netlink.LinkAddVeth(port, name, peerNamespace: gateway, masterIndex: bridge.Index, up: true);
        }
        using var inGateway = RtNetlink.OpenIn(gateway);
        var leg = inGateway.LinkByName(name) ?? throw new LabException($"interface {name} was not created");
        inGateway.AddrAdd(leg.Index, address);
        inGateway.LinkSetUp(leg.Index);
    }

    /// <summary>The relay's arguments after the CLI's path.</summary>
    public static IReadOnlyList<string> RelayArguments(string settingsFile, string appliedFile) =>
    [
        "lab", "relay",
        "--side-a", LabNames.WanRelayPort(0),
        "--side-b", LabNames.WanRelayPort(1),
        "--settings", settingsFile,
        "--applied", appliedFile,
    ];

    /// <summary>The settings the link runs with now (its settings file), or what LAB.yaml said when the file is gone.</summary>
    public static WanLinkSettings Current(WanLinkPlan link)
    {
        try
        {
            return WanLinkSettings.Read(link.SettingsFile);
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            return link.Initial;
        }
    }

    /// <summary>How long a relay may take to apply new settings: it rereads its file every 200 ms; generous for a busy machine.</summary>
    public static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Writes new settings and waits until the running relay has applied them.</summary>
    public static async Task ChangeAsync(LabRecord record, WanLinkPlan link, WanLinkSettings settings, CancellationToken cancellation)
    {
        var next = settings with { Generation = Current(link).Generation + 1 };
        next.Write(link.SettingsFile);
        var deadline = DateTime.UtcNow + ApplyTimeout;
        while (true)
        {
            if (File.Exists(link.AppliedFile) && long.TryParse(File.ReadAllText(link.AppliedFile), out var applied) && applied >= next.Generation)
                return;
            var process = record.Processes.FirstOrDefault(p => p.Role == Role && p.Node == link.Id);
            if (process is null || !ProcessTable.IsAlive(process))
                throw new LabException($"the relay of wan link {link.Id} is not running (its log: {link.Log}); the new settings are written and apply when it runs again");
            if (DateTime.UtcNow > deadline)
                throw new LabException($"the relay of wan link {link.Id} did not apply the new settings within {ApplyTimeout.TotalSeconds:0} s (its log: {link.Log})");
            await Task.Delay(50, cancellation);
        }
    }

    /// <summary>Waits until every relay has applied its first settings: then its ports are open and frames pass.</summary>
    public static async Task WaitStartedAsync(LabRecord record, IEnumerable<WanLinkPlan> links, CancellationToken cancellation)
    {
        foreach (var link in links)
        {
            var deadline = DateTime.UtcNow + ApplyTimeout;
            while (!File.Exists(link.AppliedFile))
            {
                var process = record.Processes.FirstOrDefault(p => p.Role == Role && p.Node == link.Id);
                if (process is null || !ProcessTable.IsAlive(process))
                    throw new LabException($"the relay of wan link {link.Id} exited: {Nodes.AgentDaemon.Tail(link.Log)}");
                if (DateTime.UtcNow > deadline)
                    throw new LabException($"the relay of wan link {link.Id} did not start within {ApplyTimeout.TotalSeconds:0} s: {Nodes.AgentDaemon.Tail(link.Log)}");
                await Task.Delay(50, cancellation);
            }
        }
    }
}
