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
                foreach (var leg in link.Side(side))
                {
                    var node = plan.Cluster(leg.Cluster)!.Node(leg.Node)!;
                    using var nodeNs = NetNs.OpenNamed(node.Netns);
                    netlink.LinkAddVeth(leg.Port, leg.Interface, peerNamespace: nodeNs, masterIndex: bridge.Index, up: true);
                    using var inNode = RtNetlink.OpenIn(nodeNs);
                    var legLink = inNode.LinkByName(leg.Interface) ?? throw new LabException($"interface {leg.Interface} was not created in {node.Netns}");
                    inNode.AddrAdd(legLink.Index, new IpPrefix(leg.Address, link.Subnet.PrefixLength));
                    inNode.LinkSetUp(legLink.Index);
                }
            }
        }
        ns.Run(() =>
        {
            for (var side = 0; side < 2; side++)
                TransmitChecksum.Disable(LabNames.WanBridgeRelayPort(side));
        });

        journal.AddProcess(new ProcessRecord(Role, null, link.Id, 0, 0, link.PidFile, link.Log));
        var pid = Daemon.Start(ns, binaries.Cli,
        [
            "lab", "relay",
            "--side-a", LabNames.WanRelayPort(0),
            "--side-b", LabNames.WanRelayPort(1),
            "--settings", link.SettingsFile,
            "--applied", link.AppliedFile,
        ], link.Log);
        File.WriteAllText(link.PidFile, $"{pid}\n");
        journal.AddProcess(ProcessTable.Describe(Role, null, link.Id, pid, link.PidFile, link.Log));
    }

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
