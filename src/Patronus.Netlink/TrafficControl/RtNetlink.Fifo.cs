using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>
    /// Puts a byte-limited FIFO (handle <paramref name="handle"/>) under class <paramref name="parent"/>, or changes
    /// the limit of the one there. An HTB leaf's own queue otherwise holds txqueuelen packets (1000 on a veth, up to
    /// 64 KiB each with GSO): seconds of delay behind a saturating sender at a small class rate.
    /// </summary>
    public void QdiscReplaceBfifo(int linkIndex, uint parent, uint handle, uint limitBytes)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        if (limitBytes == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limitBytes), limitBytes, "a bfifo limit must be positive");
        }

        if (TcHandle.Minor(handle) != 0 || TcHandle.Major(handle) == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(handle), TcHandle.Format(handle), "a qdisc handle is a non-zero major with minor 0 (like 10:0)");
        }

        var writer = _socket.Writer();
        FifoMessages.ReplaceBfifo(ref writer, _socket.NextSequence(), linkIndex, handle, parent, limitBytes);
        _socket.Execute(ref writer, $"replace bfifo {TcHandle.Format(handle)} under {TcHandle.Format(parent)} on", Describe(linkIndex));
    }

    /// <summary>Lists the pfifo and bfifo qdiscs of a link with their limits.</summary>
    public IReadOnlyList<FifoQdiscInfo> QdiscListFifo(int linkIndex)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.DumpQdiscs(ref writer, _socket.NextSequence(), linkIndex);
        var all = new List<FifoQdiscInfo>();
        _socket.Dump(ref writer, "list qdiscs on", Describe(linkIndex), all, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewQdisc && FifoMessages.Parse(message) is { } fifo)
            {
                list.Add(fifo);
            }
        });
        return all.Where(q => q.LinkIndex == linkIndex).ToList();
    }
}
