using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>
    /// Adds a root tbf qdisc (handle 1:) shaping <paramref name="linkIndex"/>'s egress to
    /// <paramref name="rateBytesPerSec"/> with a bucket of <paramref name="burstBytes"/> and a queue of
    /// <paramref name="limitBytes"/>. <see cref="TokenBucket.LimitBytes"/> gives the reference plugin's limit.
    /// </summary>
    public void QdiscAddTbf(int linkIndex, ulong rateBytesPerSec, uint burstBytes, uint limitBytes)
    {
        if (rateBytesPerSec == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rateBytesPerSec), rateBytesPerSec, "rate must be positive");
        }

        if (burstBytes == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(burstBytes), burstBytes, "burst must be positive");
        }

        QdiscAddTbf(linkIndex, new TokenBucketParameters(rateBytesPerSec, TokenBucket.BufferTicks(rateBytesPerSec, burstBytes), limitBytes));
    }

    /// <summary>Adds a root tbf qdisc (handle 1:) with parameters from <see cref="TokenBucket.FromBits"/>.</summary>
    public void QdiscAddTbf(int linkIndex, TokenBucketParameters parameters)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        if (parameters.RateBytesPerSec == 0 || parameters.BufferTicks == 0 || parameters.LimitBytes == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(parameters), parameters, "tbf rate, buffer and limit must be positive");
        }

        var writer = _socket.Writer();
        TcMessages.NewTbf(ref writer, _socket.NextSequence(), linkIndex, parameters);
        _socket.Execute(ref writer, "add tbf qdisc on", Describe(linkIndex));
    }

    /// <summary>
    /// Adds an HTB qdisc with handle <paramref name="major"/>:0 at <paramref name="parent"/> (the device's root by
    /// default). Unclassified traffic goes to class major:<paramref name="defaultMinor"/>; with 0 (or a class that
    /// does not exist) it passes unshaped. HTB classifies a packet whose skb->priority names one of its leaf
    /// classes into that class before any filter runs, so setting the priority from the firewall mark
    /// (nftables `meta priority set 1:10`, or SO_PRIORITY on a socket) steers traffic without a classifier.
    /// </summary>
    public void QdiscAddHtb(int linkIndex, ushort major, ushort defaultMinor = 0, uint parent = TcHandle.Root)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        if (major == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(major), major, "an HTB qdisc handle needs a non-zero major");
        }

        var writer = _socket.Writer();
        TcMessages.NewHtbQdisc(ref writer, _socket.NextSequence(), linkIndex, TcHandle.Make(major, 0), parent, defaultMinor);
        _socket.Execute(ref writer, $"add htb qdisc {major:x}: on", Describe(linkIndex));
    }

    /// <summary>Creates an HTB class, or changes its rates in place when it exists (traffic in it keeps flowing).</summary>
    public void ClassReplaceHtb(int linkIndex, HtbClass htbClass)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        ArgumentNullException.ThrowIfNull(htbClass);
        htbClass.Validate();
        var ceil = htbClass.CeilBytesPerSec ?? htbClass.RateBytesPerSec;
        var parameters = new HtbClassParameters(
            htbClass.RateBytesPerSec,
            ceil,
            TokenBucket.BufferTicks(htbClass.RateBytesPerSec, htbClass.BurstBytes ?? HtbClass.DefaultBurst(htbClass.RateBytesPerSec)),
            TokenBucket.BufferTicks(ceil, htbClass.CeilBurstBytes ?? HtbClass.DefaultBurst(ceil)),
            htbClass.Priority);
        var writer = _socket.Writer();
        TcMessages.ReplaceHtbClass(ref writer, _socket.NextSequence(), linkIndex, htbClass.ClassId, htbClass.ParentHandle, parameters);
        _socket.Execute(ref writer, $"replace htb class {TcHandle.Format(htbClass.ClassId)} on", Describe(linkIndex));
    }

    /// <summary>Deletes a class; false when it did not exist.</summary>
    public bool ClassDel(int linkIndex, uint classId)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.DeleteClass(ref writer, _socket.NextSequence(), linkIndex, classId);
        return ExecuteDelete(ref writer, $"delete class {TcHandle.Format(classId)} on", Describe(linkIndex));
    }

    /// <summary>Lists the traffic classes of a link.</summary>
    public IReadOnlyList<TrafficClass> ClassList(int linkIndex)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.DumpClasses(ref writer, _socket.NextSequence(), linkIndex);
        var classes = new List<TrafficClass>();
        _socket.Dump(ref writer, "list classes on", Describe(linkIndex), classes, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewClass)
            {
                list.Add(TcMessages.ParseClass(message));
            }
        });
        return classes;
    }

    /// <summary>Adds the ingress qdisc (ffff:).</summary>
    public void QdiscAddIngress(int linkIndex)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.NewIngress(ref writer, _socket.NextSequence(), linkIndex);
        _socket.Execute(ref writer, "add ingress qdisc on", Describe(linkIndex));
    }

    /// <summary>
    /// On the ingress qdisc of <paramref name="linkIndex"/>, redirects every packet to the egress of
    /// <paramref name="targetIndex"/> (u32 match-all + mirred egress redirect), the way the reference bandwidth
    /// plugin sends a container's egress through an ifb where a tbf shapes it.
    /// </summary>
    public void FilterAddMirredRedirectAll(int linkIndex, int targetIndex)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        CheckIndex(targetIndex, nameof(targetIndex));
        var writer = _socket.Writer();
        TcMessages.NewMirredRedirectAll(ref writer, _socket.NextSequence(), linkIndex, targetIndex);
        _socket.Execute(ref writer, $"add mirred redirect to link #{targetIndex} on", Describe(linkIndex));
    }

    /// <summary>Lists qdiscs, optionally of one link.</summary>
    public IReadOnlyList<QdiscInfo> QdiscList(int? linkIndex = null)
    {
        var writer = _socket.Writer();
        TcMessages.DumpQdiscs(ref writer, _socket.NextSequence(), linkIndex ?? 0);
        var all = new List<QdiscInfo>();
        _socket.Dump(ref writer, "list", "qdiscs", all, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewQdisc)
            {
                list.Add(TcMessages.ParseQdisc(message));
            }
        });
        if (linkIndex is null)
        {
            return all;
        }

        var selected = new List<QdiscInfo>();
        foreach (var qdisc in all)
        {
            if (qdisc.LinkIndex == linkIndex)
            {
                selected.Add(qdisc);
            }
        }

        return selected;
    }

    /// <summary>Lists the filters attached under <paramref name="parent"/> (e.g. <see cref="TcHandle.IngressQdisc"/>).</summary>
    public IReadOnlyList<FilterInfo> FilterList(int linkIndex, uint parent)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.DumpFilters(ref writer, _socket.NextSequence(), linkIndex, parent);
        var filters = new List<FilterInfo>();
        _socket.Dump(ref writer, "list filters on", Describe(linkIndex), filters, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewFilter)
            {
                list.Add(TcMessages.ParseFilter(message));
            }
        });
        return filters;
    }

    /// <summary>Deletes the qdisc at <paramref name="parent"/> (<see cref="TcHandle.Root"/> or <see cref="TcHandle.Ingress"/>).</summary>
    public void QdiscDel(int linkIndex, uint parent, uint handle = 0)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.DeleteQdisc(ref writer, _socket.NextSequence(), linkIndex, parent, handle);
        _socket.Execute(ref writer, $"delete qdisc {TcHandle.Format(parent)} on", Describe(linkIndex));
    }
}
