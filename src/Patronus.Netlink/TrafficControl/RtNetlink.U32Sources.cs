using Patronus.Netlink.Protocol;
using Patronus.Netlink.TrafficControl;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>
    /// Lists the filters under <paramref name="parent"/> (e.g. an HTB qdisc's major:0) with the class and source
    /// network of u32 rules decoded: what a level-triggered shaper compares against the filters it wants.
    /// </summary>
    public IReadOnlyList<U32SourceFilter> FilterListU32Sources(int linkIndex, uint parent)
    {
        CheckIndex(linkIndex, nameof(linkIndex));
        var writer = _socket.Writer();
        TcMessages.DumpFilters(ref writer, _socket.NextSequence(), linkIndex, parent);
        var filters = new List<U32SourceFilter>();
        _socket.Dump(ref writer, "list filters on", Describe(linkIndex), filters, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewFilter)
            {
                list.Add(U32SourceParser.Parse(message));
            }
        });
        return filters;
    }
}
