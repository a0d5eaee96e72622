namespace Patronus.Netlink;

/// <summary>An HTB qdisc as RTM_NEWQDISC describes it: where it sits and which class gets unclassified traffic.</summary>
/// <param name="DefaultMinor">The default class's minor (tc's <c>default N</c>); 0 sends unclassified traffic out unshaped.</param>
public sealed record HtbQdiscInfo(int LinkIndex, uint Handle, uint Parent, ushort DefaultMinor);
