using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>Lists the HTB qdiscs of a link with their default classes.</summary>
    public IReadOnlyList<HtbQdiscInfo> QdiscListHtb(int linkIndex)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.DumpQdiscs(ref writer, _socket.NextSequence(), linkIndex);
        var all = new List<HtbQdiscInfo>();
        _socket.Dump(ref writer, "list qdiscs on", Describe(linkIndex), all, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewQdisc && HtbQdiscParser.Parse(message) is { } htb)
            {
                list.Add(htb);
            }
        });
        // The kernel may ignore the index filter of a qdisc dump (QdiscList filters too).
        return all.Where(q => q.LinkIndex == linkIndex).ToList();
    }
}
