using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Patronus.Netlink;

namespace Patronus.Agent.Paths.Bandwidth;

/// <summary>
/// Makes a device's egress match a <see cref="ShaperPlan"/>, level-triggered: each <see cref="Apply"/> reads the
/// device's root qdisc, classes, leaf queues and filters and changes only what differs, so calling it again with the same input
/// changes nothing, a pod leaving removes its class and filters, and a new capacity rewrites the rates in place
/// (HTB changes a class's rates without dropping its queue). Works on any device with a root qdisc: a veth, or the
/// TUN device wireguard-go serves (HTB sees the inner packets there, which is why the plan leaves headroom).
/// One instance per namespace; not thread-safe (the caller's reconcile loop is one thread).
/// </summary>
public sealed partial class TunnelShaper : IDisposable
{
    private static readonly uint QdiscHandle = TcHandle.Make(ShaperPlan.QdiscMajor, 0);

    private readonly RtNetlink _netlink;
    private readonly bool _ownsNetlink;
    private readonly ILogger _logger;
    private readonly Dictionary<string, string?> _lastWarning = new(StringComparer.Ordinal);

    /// <summary>Shapes devices through <paramref name="netlink"/> (not disposed with this).</summary>
    public TunnelShaper(RtNetlink netlink, ILogger<TunnelShaper>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        _netlink = netlink;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    private TunnelShaper(RtNetlink netlink, bool ownsNetlink, ILogger<TunnelShaper>? logger)
        : this(netlink, logger)
    {
        _ownsNetlink = ownsNetlink;
    }

    /// <summary>Shapes devices in <paramref name="ns"/> (the agent's tunnel namespace) through its own netlink socket.</summary>
    public static TunnelShaper OpenIn(NetNs ns, ILogger<TunnelShaper>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return new TunnelShaper(RtNetlink.OpenIn(ns), ownsNetlink: true, logger);
    }

    /// <summary>
    /// The one-address-per-pod form of <see cref="Apply(string, double, IReadOnlyList{BandwidthGuarantee})"/>:
    /// each entry is its own guarantee (pass a dual-stack pod as one <see cref="BandwidthGuarantee"/> instead).
    /// </summary>
    public int Apply(string device, double capacityMbps, IReadOnlyList<(IPAddress Pod, double MinMbps)> guarantees)
    {
        ArgumentNullException.ThrowIfNull(guarantees);
        return Apply(device, capacityMbps, guarantees.Select(g => new BandwidthGuarantee(g.Pod, g.MinMbps)).ToArray());
    }

    /// <summary>
    /// Shapes <paramref name="device"/>'s egress for <paramref name="guarantees"/> on a link of
    /// <paramref name="capacityMbps"/> (none: the tree is removed). Returns the number of changes made (qdiscs,
    /// classes, leaf queues and filters added, changed or deleted): 0 when the device already matched. When the guarantees do not
    /// fit the capacity they are scaled down and a warning is logged (once, until it changes).
    /// </summary>
    public int Apply(string device, double capacityMbps, IReadOnlyList<BandwidthGuarantee> guarantees)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        ArgumentNullException.ThrowIfNull(guarantees);
        var link = _netlink.LinkByName(device) ?? throw new ArgumentException($"device \"{device}\" does not exist in the shaper's namespace", nameof(device));
        var current = CurrentMinors(link.Index);
        var plan = ShaperPlan.Compute(capacityMbps, guarantees, current);
        ReportWarning(device, plan?.Warning);
        if (plan is null)
        {
            return RemoveTree(link.Index) ? 1 : 0;
        }

        var changes = EnsureQdisc(link.Index);
        changes += EnsureClasses(link.Index, plan, out var unwanted);
        changes += EnsureLeaves(link.Index, plan);
        changes += EnsureFilters(link.Index, plan);
        changes += DeleteClasses(link.Index, unwanted);
        if (changes > 0)
        {
            Log.Applied(_logger, device, capacityMbps, plan.Pods.Count, changes);
        }

        return changes;
    }

    /// <summary>Removes the shaper's tree from <paramref name="device"/>; false when there was none (or no such device).</summary>
    public bool Remove(string device)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        _lastWarning.Remove(device);
        return _netlink.LinkByName(device) is { } link && RemoveTree(link.Index);
    }

    /// <summary>The class minor each pod address has on the device now, read from our filters (empty without our tree).</summary>
    private Dictionary<IPAddress, ushort> CurrentMinors(int linkIndex)
    {
        var minors = new Dictionary<IPAddress, ushort>();
        if (FindRoot(linkIndex) is not { Kind: "htb" } root || root.Handle != QdiscHandle)
        {
            return minors;
        }

        foreach (var filter in _netlink.FilterListU32Sources(linkIndex, QdiscHandle))
        {
            if (filter is { ClassId: { } classId, Source: { } source } && source.PrefixLength == source.MaxPrefixLength
                && TcHandle.Major(classId) == ShaperPlan.QdiscMajor && (TcHandle.Minor(classId) | (source.IsIPv4 ? 0 : ShaperPlan.IPv6PriorityBit)) == filter.Priority)
            {
                minors.TryAdd(source.Address, TcHandle.Minor(classId));
            }
        }

        return minors;
    }

    private QdiscInfo? FindRoot(int linkIndex) => _netlink.QdiscList(linkIndex).FirstOrDefault(q => q.Parent == TcHandle.Root);

    private bool RemoveTree(int linkIndex)
    {
        if (FindRoot(linkIndex) is not { Kind: "htb" } root || root.Handle != QdiscHandle)
        {
            return false;
        }

        _netlink.QdiscDel(linkIndex, TcHandle.Root);
        return true;
    }

    /// <summary>
    /// Our HTB at the root (handle 1:, default class 1:2), replacing any other root qdisc that has a handle. The device's built-in default (noqueue,
    /// pfifo_fast: handle 0) cannot be deleted and need not be: adding a root qdisc grafts over it.
    /// </summary>
    private int EnsureQdisc(int linkIndex)
    {
        var root = FindRoot(linkIndex);
        if (root is { Kind: "htb" } && root.Handle == QdiscHandle)
        {
            // An HTB 1: sending unclassified traffic elsewhere (or out unshaped) is not ours: rebuilt whole.
            if (_netlink.QdiscListHtb(linkIndex).Any(q => q.Parent == TcHandle.Root && q.DefaultMinor == ShaperPlan.DefaultMinor))
            {
                return 0;
            }
        }

        var changes = 0;
        if (root is not null && root.Handle != 0)
        {
            _netlink.QdiscDel(linkIndex, TcHandle.Root);
            changes++;
        }

        _netlink.QdiscAddHtb(linkIndex, ShaperPlan.QdiscMajor, ShaperPlan.DefaultMinor);
        return changes + 1;
    }

    /// <summary>Creates or corrects the parent, default and pod classes; returns the ones under our qdisc not in the plan.</summary>
    private int EnsureClasses(int linkIndex, ShaperPlan plan, out List<TrafficClass> unwanted)
    {
        var existing = new Dictionary<uint, TrafficClass>();
        foreach (var trafficClass in _netlink.ClassList(linkIndex))
        {
            if (TcHandle.Major(trafficClass.Handle) == ShaperPlan.QdiscMajor)
            {
                existing[trafficClass.Handle] = trafficClass;
            }
        }

        var parentId = TcHandle.Make(ShaperPlan.QdiscMajor, ShaperPlan.ParentMinor);
        var changes = 0;
        var wanted = new HashSet<uint>();
        foreach (var (planned, parent) in plan.Pods.Select(p => (p, parentId)).Prepend((plan.Default, parentId)).Prepend((plan.Parent, 0u)))
        {
            var classId = TcHandle.Make(ShaperPlan.QdiscMajor, planned.Minor);
            wanted.Add(classId);
            var reportedParent = parent == 0 ? TcHandle.Root : parent;
            if (existing.TryGetValue(classId, out var have) && have.Kind == "htb" && have.Parent == reportedParent
                && have.Htb is { } htb && htb.RateBytesPerSec == planned.RateBytesPerSec && htb.CeilBytesPerSec == planned.CeilBytesPerSec && htb.Priority == 0)
            {
                continue;
            }

            if (have is not null && have.Parent != reportedParent)
            {
                // HTB cannot move a class to another parent; a stray class of ours under the wrong parent goes first.
                _netlink.ClassDel(linkIndex, classId);
                changes++;
            }

            _netlink.ClassReplaceHtb(linkIndex, new HtbClass
            {
                ClassId = classId,
                Parent = parent,
                RateBytesPerSec = planned.RateBytesPerSec,
                CeilBytesPerSec = planned.CeilBytesPerSec,
            });
            changes++;
        }

        unwanted = existing.Values.Where(c => !wanted.Contains(c.Handle)).ToList();
        return changes;
    }

    /// <summary>A bfifo of the planned limit under each leaf class, handle minor:0; anything else there is replaced.</summary>
    private int EnsureLeaves(int linkIndex, ShaperPlan plan)
    {
        var fifos = _netlink.QdiscListFifo(linkIndex);
        var qdiscs = _netlink.QdiscList(linkIndex);
        var changes = 0;
        foreach (var leaf in plan.Pods.Prepend(plan.Default))
        {
            var classId = TcHandle.Make(ShaperPlan.QdiscMajor, leaf.Minor);
            var handle = TcHandle.Make(leaf.Minor, 0);
            if (fifos.Any(f => f.Parent == classId && f.Handle == handle && f.Kind == "bfifo" && f.Limit == leaf.LeafQueueBytes))
            {
                continue;
            }

            // A queue of another kind under our handle cannot be changed into a bfifo (the kernel refuses a kind
            // change in place): it goes first.
            if (qdiscs.FirstOrDefault(q => q.Parent == classId && q.Handle == handle) is { Kind: not "bfifo" })
            {
                _netlink.QdiscDel(linkIndex, classId, handle);
                changes++;
            }

            _netlink.QdiscReplaceBfifo(linkIndex, classId, handle, leaf.LeafQueueBytes);
            changes++;
        }

        return changes;
    }

    /// <summary>
    /// One u32 filter per pod address, at the pod class's priority for the address's family. A (priority,
    /// protocol) pair holding anything but exactly the wanted rule is deleted whole and written again; pairs the plan
    /// does not name are deleted.
    /// </summary>
    private int EnsureFilters(int linkIndex, ShaperPlan plan)
    {
        var wanted = new Dictionary<(ushort Priority, ushort Protocol), (IpPrefix Source, uint ClassId)>();
        foreach (var pod in plan.Pods)
        {
            foreach (var address in pod.Sources)
            {
                var source = new IpPrefix(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
                wanted[(pod.FilterPriority(address.AddressFamily), Protocol(address.AddressFamily))] = (source, TcHandle.Make(ShaperPlan.QdiscMajor, pod.Minor));
            }
        }

        var existing = _netlink.FilterListU32Sources(linkIndex, QdiscHandle)
            .Where(f => f.Protocol is IPv4Protocol or IPv6Protocol)
            .GroupBy(f => (f.Priority, f.Protocol))
            .ToDictionary(g => g.Key, g => g.ToList());
        var changes = 0;
        foreach (var (key, entries) in existing)
        {
            var rules = entries.Where(f => f.ClassId is not null || f.Source is not null).ToList();
            if (wanted.TryGetValue(key, out var rule) && rules.Count == 1 && rules[0].ClassId == rule.ClassId && rules[0].Source == rule.Source)
            {
                wanted.Remove(key);
                continue;
            }

            _netlink.FilterDelU32(linkIndex, QdiscHandle, key.Priority, key.Protocol == IPv4Protocol ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6);
            changes++;
        }

        foreach (var ((priority, _), (source, classId)) in wanted)
        {
            _netlink.FilterAddU32Source(linkIndex, QdiscHandle, priority, source, classId);
            changes++;
        }

        return changes;
    }

    /// <summary>Deletes classes the plan no longer has, children before their parents (their filters are gone by now).</summary>
    private int DeleteClasses(int linkIndex, List<TrafficClass> unwanted)
    {
        var changes = 0;
        var left = new List<TrafficClass>(unwanted);
        while (left.Count > 0)
        {
            var leaves = left.Where(c => !left.Any(other => other.Parent == c.Handle)).ToList();
            foreach (var leaf in leaves)
            {
                if (_netlink.ClassDel(linkIndex, leaf.Handle))
                {
                    changes++;
                }

                left.Remove(leaf);
            }
        }

        return changes;
    }

    private const ushort IPv4Protocol = 0x0800;
    private const ushort IPv6Protocol = 0x86DD;

    private static ushort Protocol(AddressFamily family) => family == AddressFamily.InterNetwork ? IPv4Protocol : IPv6Protocol;

    private void ReportWarning(string device, string? warning)
    {
        _lastWarning.TryGetValue(device, out var last);
        if (warning == last)
        {
            return;
        }

        _lastWarning[device] = warning;
        if (warning is not null)
        {
            Log.GuaranteesScaled(_logger, device, warning);
        }
    }

    public void Dispose()
    {
        if (_ownsNetlink)
        {
            _netlink.Dispose();
        }
    }
}
